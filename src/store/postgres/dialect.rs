//! What PostgreSQL does differently, for the bodies both backends share
//! (see the `store` module header). The SQLite module of the same name has
//! the same functions.

use chrono::NaiveTime;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};

use crate::domain::OrgId;
use crate::store::StoreError;

pub(super) use super::messages::record_many;
pub(super) use super::people::{load_batch, write_events, write_people};
pub(super) use super::rows::{small, stored};

/// Whether sqlx's migration table exists yet: not before the first
/// migration of a new database.
pub(super) async fn has_migrations_table(pool: &sqlx::PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
}

/// The key id of a sealed value `hw1:<key>:...` in `column`.
pub(super) fn sealing_key_id(column: &str) -> String {
    format!("split_part({column}, ':', 2)")
}

/// The UTC calendar day of a `timestamptz` column, as a `date`.
pub(super) fn utc_day(column: &str) -> String {
    format!("({column} AT TIME ZONE 'UTC')::date")
}

/// Values per `IN (...)` list: the list is one bound array, so any number
/// go in one statement.
pub(super) const LIST_CHUNK: usize = usize::MAX;

/// The values of an `IN (` list, as one array, and its closing bracket.
pub(super) fn push_list(q: &mut QueryBuilder<'_, Postgres>, values: Vec<String>) {
    q.push("SELECT unnest(")
        .push_bind(values)
        .push("::text[]))");
}

/// Serialise upserts by external reference within one organisation until
/// the transaction ends: two writers creating the same new person would
/// otherwise both see nothing, and one would fail on the unique key.
pub(super) async fn lock_org_ingest(conn: &mut PgConnection, org: OrgId) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(super::lock_key("ingest", &org.to_string()))
        .execute(conn)
        .await?;
    Ok(())
}

/// A `date` column as the instant it sorts as against `timestamptz`
/// columns: its UTC midnight, as its text does on SQLite.
pub(super) fn day_start(column: &str) -> String {
    format!("{column}::timestamp AT TIME ZONE 'UTC'")
}

/// Rows read to be changed are locked so a concurrent change waits and is
/// then seen rather than overwritten; `NO KEY` lets inserts that merely
/// reference the row (a message's transitions) go on.
pub(super) fn lock_for_update() -> &'static str {
    " FOR NO KEY UPDATE"
}

/// A row read to be deleted takes the full row lock, which also holds off
/// inserts that would reference it.
pub(super) fn lock_for_delete() -> &'static str {
    " FOR UPDATE"
}

/// How many values one [`push_in`] list may hold: all of them, as one
/// bound array.
pub(super) const IN_LIST_MAX: usize = usize::MAX;

/// ` = ANY($n::text[])`: whether the column before it is one of `values`,
/// bound as one array. This is the form the inbound bodies have always
/// used; for a batch's keys against a table that may lack statistics, see
/// the module header on `IN (SELECT unnest(..))`.
pub(super) fn push_in<'a>(q: &mut QueryBuilder<'a, Postgres>, values: &[&'a str]) {
    q.push(" = ANY(")
        .push_bind(values.to_vec())
        .push("::text[])");
}

/// A count (a message's attempts), which PostgreSQL keeps as `int4`.
pub(super) fn count(row: &PgRow, column: &str) -> Result<u32, StoreError> {
    let n: i32 = row.try_get(column)?;
    u32::try_from(n).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// No index hints: PostgreSQL's planner chooses for itself.
pub(super) fn indexed_by(_index: &str) -> String {
    String::new()
}

/// `column` as it is: PostgreSQL's planner weighs the index by its statistics.
pub(super) fn unindexed(column: &str) -> String {
    column.to_owned()
}

/// A message's `state` in a filter that must never choose a state index,
/// whatever the statistics say: a drain moves a whole backlog from state to
/// state within seconds, faster than statistics follow. Told by statistics
/// taken before a drain that no text had been sent, PostgreSQL walked every
/// sent text for each round's daily caps, and every waiting text for each
/// claim (`|| ''` keeps the value and hides the column from the indexes).
pub(super) fn unindexed_state() -> String {
    "(state || '')".to_owned()
}

/// A time of day, which PostgreSQL keeps as `time`.
pub(super) fn time_of_day(row: &PgRow, column: &str) -> Result<Option<NaiveTime>, StoreError> {
    Ok(row.try_get(column)?)
}
