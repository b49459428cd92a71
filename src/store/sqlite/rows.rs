//! Reading typed values back out of SQLite rows. A value that no longer
//! parses is reported as corrupt, naming its column, never silently skipped.

use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::store::StoreError;

pub(super) fn parsed<T>(row: &SqliteRow, column: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    checked(row, column, |s| s.parse::<T>())
}

pub(super) fn checked<T, E: std::fmt::Display>(
    row: &SqliteRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw: String = row.try_get(column)?;
    parse(&raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(super) fn optional<T, E: std::fmt::Display>(
    row: &SqliteRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| parse(&raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}"))))
        .transpose()
}

pub(super) use crate::store::{unsealed, unsealed_mobile};
