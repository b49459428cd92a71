//! What PostgreSQL does differently, for the bodies both backends share
//! (see the `store` module header). The SQLite module of the same name has
//! the same functions.

pub(super) use super::rows::stored;
