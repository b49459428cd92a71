//! What SQLite does differently, for the bodies both backends share (see
//! the `store` module header). The PostgreSQL module of the same name has
//! the same functions.

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::store::StoreError;
use crate::store::rows::optional;

/// An instant as it reads back: SQLite keeps chrono's nanoseconds.
pub(super) fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

/// Values per `IN (...)` list: each is a bound value, and SQLite allows
/// 32766 a statement, so long lists go a chunk (a statement) at a time.
pub(super) const LIST_CHUNK: usize = 500;

/// The values of an `IN (` list, and its closing bracket.
pub(super) fn push_list(q: &mut QueryBuilder<'_, Sqlite>, values: Vec<String>) {
    let mut list = q.separated(", ");
    let mut any = false;
    for value in values {
        list.push_bind(value);
        any = true;
    }
    if !any {
        // `IN ()` is a syntax error; NULL matches nothing.
        list.push("NULL");
    }
    list.push_unseparated(")");
}

/// What a row read before a write adds to lock the row: nothing, as the
/// write transaction's `BEGIN IMMEDIATE` already keeps other writers out.
pub(super) fn lock_for_update() -> &'static str {
    ""
}

/// A time of day, which SQLite keeps as "HH:MM" text.
pub(super) fn time_of_day(row: &SqliteRow, column: &str) -> Result<Option<NaiveTime>, StoreError> {
    optional(row, column, |t| NaiveTime::parse_from_str(t, "%H:%M"))
}

/// A small count, which SQLite keeps as an integer.
pub(super) fn small(row: &SqliteRow, column: &str) -> Result<u8, StoreError> {
    Ok(row.try_get(column)?)
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePoolOptions;

    /// The shared bodies write PostgreSQL's `$N` placeholders. SQLite reads
    /// `$2` as a parameter named "$2"; sqlx's SQLite driver binds such a
    /// name to the Nth argument, whatever order the names appear in and
    /// however often, exactly as PostgreSQL does.
    #[tokio::test]
    async fn numbered_placeholders_bind_the_numbered_argument_on_sqlite() {
        let pool = SqlitePoolOptions::new()
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let joined: String = sqlx::query_scalar("SELECT $2 || $1 || $2 || $3")
            .bind("a")
            .bind("b")
            .bind("c")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(joined, "babc");
    }
}
