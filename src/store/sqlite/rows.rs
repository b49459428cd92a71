//! Reading typed values back out of SQLite rows (see `store::rows` for
//! what both backends share).

pub(super) use crate::store::rows::{checked, optional, parsed};

pub(super) use crate::store::{unsealed, unsealed_mobile};
