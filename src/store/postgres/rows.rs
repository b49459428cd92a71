//! How PostgreSQL keeps some values (see `store::rows` for reading what
//! both backends share).

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::store::StoreError;

/// A `smallint` column holding a `u8`.
pub(super) fn small(row: &PgRow, column: &str) -> Result<u8, StoreError> {
    let raw: i16 = row.try_get(column)?;
    u8::try_from(raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// An instant as `timestamptz` keeps it: to the microsecond. Values handed
/// back without a read are cut the same way, so they equal a later read.
pub(super) fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}
