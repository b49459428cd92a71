//! Reading typed values back out of PostgreSQL rows. A value that no longer
//! parses is reported as corrupt, naming its column, never silently skipped.

use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::store::StoreError;

pub(super) fn parsed<T>(row: &PgRow, column: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    checked(row, column, |s| s.parse::<T>())
}

pub(super) fn checked<T, E: std::fmt::Display>(
    row: &PgRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw: String = row.try_get(column)?;
    parse(&raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(super) fn optional<T, E: std::fmt::Display>(
    row: &PgRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| parse(&raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}"))))
        .transpose()
}

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

/// An id from a text column.
pub(super) fn id<T>(raw: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.parse()
        .map_err(|e| StoreError::Corrupt(format!("id: {e}")))
}

pub(super) use crate::store::{unsealed, unsealed_mobile};
