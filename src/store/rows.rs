//! Reading typed values back out of a row of either backend. A value that
//! no longer parses is reported as corrupt, naming its column, never
//! silently skipped.

use std::str::FromStr;

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::StoreError;

pub(crate) fn parsed<T, R>(row: &R, column: &str) -> Result<T, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    checked(row, column, |s| s.parse::<T>())
}

pub(crate) fn checked<R, T, E: std::fmt::Display>(
    row: &R,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let raw: String = row.try_get(column)?;
    parse(&raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn optional<R, T, E: std::fmt::Display>(
    row: &R,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| parse(&raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}"))))
        .transpose()
}
