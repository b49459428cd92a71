//! What PostgreSQL does differently, for the bodies both backends share
//! (see the `store` module header). The SQLite module of the same name has
//! the same functions.

pub(super) use super::rows::small;
pub(super) use super::rows::stored;

use chrono::NaiveTime;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::store::StoreError;

/// Values per `IN (...)` list: the list is one bound array, so any number
/// go in one statement.
pub(super) const LIST_CHUNK: usize = usize::MAX;

/// The values of an `IN (` list, as one array, and its closing bracket.
pub(super) fn push_list(q: &mut QueryBuilder<'_, Postgres>, values: Vec<String>) {
    q.push("SELECT unnest(")
        .push_bind(values)
        .push("::text[]))");
}

/// What a row read before a write adds to lock the row until the
/// transaction ends, so the state read is the state the write changes.
/// `NO KEY` leaves rows that only reference this one (transitions) free.
pub(super) fn lock_for_update() -> &'static str {
    " FOR NO KEY UPDATE"
}

/// A time of day, which PostgreSQL keeps as `time`.
pub(super) fn time_of_day(row: &PgRow, column: &str) -> Result<Option<NaiveTime>, StoreError> {
    Ok(row.try_get(column)?)
}
