//! What SQLite does differently, for the bodies both backends share (see
//! the `store` module header). The PostgreSQL module of the same name has
//! the same functions.

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};

pub(super) use super::people::{load_batch, write_events, write_people};

use super::messages::{Change, record_all};
use crate::domain::{MessageId, MessageState, OrgId};
use crate::store::StoreError;
use crate::store::rows::optional;

/// An instant as it reads back: SQLite keeps chrono's nanoseconds.
pub(super) fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

/// Whether sqlx's migration table exists yet: not before the first
/// migration of a new file.
pub(super) async fn has_migrations_table(pool: &sqlx::SqlitePool) -> Result<bool, sqlx::Error> {
    let table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    Ok(table.is_some())
}

/// The key id of a sealed value `hw1:<key>:...` in `column`.
pub(super) fn sealing_key_id(column: &str) -> String {
    format!("substr({column}, 5, instr(substr({column}, 5), ':') - 1)")
}

/// The UTC calendar day of an instant column, as a day column holds it:
/// instants are stored as text in UTC, date first.
pub(super) fn utc_day(column: &str) -> String {
    format!("substr({column}, 1, 10)")
}

/// No row locks: `BEGIN IMMEDIATE` and the writer turn already let one
/// writer in at a time.
pub(super) fn lock_for_update() -> &'static str {
    ""
}

/// Nothing to take: `BEGIN IMMEDIATE` and the writer turn already keep
/// a concurrent upsert of the same person out until this one commits.
pub(super) async fn lock_org_ingest(
    _conn: &mut SqliteConnection,
    _org: OrgId,
) -> Result<(), StoreError> {
    Ok(())
}

/// A day column as the instant it sorts as against instant columns: both
/// are text, date first, so the day's text already sorts as its UTC
/// midnight.
pub(super) fn day_start(column: &str) -> String {
    column.to_owned()
}

/// No row locks, as for [`lock_for_update`].
pub(super) fn lock_for_delete() -> &'static str {
    ""
}

/// How many values one [`push_in`] list may hold: each is a bound
/// parameter, and SQLite caps how many a statement takes.
pub(super) const IN_LIST_MAX: usize = 500;

/// ` IN ($n, …)`: whether the column before it is one of `values` (at most
/// [`IN_LIST_MAX`]). SQLite has no arrays to bind.
pub(super) fn push_in<'a>(q: &mut QueryBuilder<'a, Sqlite>, values: &[&'a str]) {
    q.push(" IN (");
    let mut list = q.separated(", ");
    for value in values {
        list.push_bind(*value);
    }
    list.push_unseparated(")");
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

/// Record the same change for many messages, in order: PostgreSQL's
/// `messages::record_many`, through SQLite's multi-row insert.
pub(super) async fn record_many(
    conn: &mut SqliteConnection,
    moves: &[(MessageId, MessageState, &str)],
    to: MessageState,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changes: Vec<Change<'_>> = moves
        .iter()
        .map(|&(id, from, reason)| (id, Some(from), to, reason))
        .collect();
    record_all(conn, &changes, at).await
}

/// A count (a message's attempts), which SQLite keeps as a 64-bit integer.
pub(super) fn count(row: &SqliteRow, column: &str) -> Result<u32, StoreError> {
    let n: i64 = row.try_get(column)?;
    Ok(n as u32)
}

/// ` INDEXED BY index`: SQLite's planner, without statistics, may judge a
/// long `IN` list dearer than a walk that grows with the history, so a
/// body names the index it means.
pub(super) fn indexed_by(index: &str) -> String {
    format!(" INDEXED BY {index}")
}

/// `column` in a filter that must not choose the index: SQLite's planner,
/// without statistics, takes an equality on an indexed column over a walk
/// in primary-key order, then sorts every match for each page of a walk
/// (`+column` keeps the filter and drops the index).
pub(super) fn unindexed(column: &str) -> String {
    format!("+{column}")
}

/// A message's `state` in a filter that must never choose a state index
/// (PostgreSQL's dialect says why it needs the same).
pub(super) fn unindexed_state() -> String {
    unindexed("state")
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

    /// The shared suppression listing joins a number's people with
    /// PostgreSQL's `string_agg(.. ORDER BY ..)`, which SQLite understands
    /// only since 3.44: the SQLite bundled with sqlx must be that new.
    #[tokio::test]
    async fn ordered_string_agg_joins_in_the_order_asked_on_sqlite() {
        let pool = SqlitePoolOptions::new()
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let joined: String = sqlx::query_scalar(
            "SELECT string_agg(v, ',' ORDER BY v) FROM (SELECT 'b' AS v UNION ALL SELECT 'a')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(joined, "a,b");
    }
}
