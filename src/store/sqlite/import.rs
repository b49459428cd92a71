//! CSV imports in SQLite, a batch at a time, inside the caller's write
//! transaction.
//!
//! The batch's people and their events are read with two queries up front;
//! each row is then decided in memory (created, updated or unchanged) in
//! file order, and what changed is written with one multi-row upsert per
//! table. A statement per row would cost a round trip to the connection's
//! thread each, which is most of an import's time.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Sqlite};

use super::{
    EVENT_COLUMNS, PERSON_COLUMNS, event_change, event_from_row, person_change, person_from_row,
    write_events, write_people,
};
use crate::domain::{OrgId, Person};
use crate::store::import_batch::{EventChange, Known, PersonChange, decide_all};
use crate::store::{ImportOutcome, ImportRecord, StoreError};
use crate::vault::Vault;

/// Apply validated rows; the outcome of each, in order.
pub(super) async fn import(
    conn: &mut SqliteConnection,
    vault: &Vault,
    org: OrgId,
    records: &[ImportRecord],
    now: DateTime<Utc>,
) -> Result<Vec<ImportOutcome>, StoreError> {
    let known = load(conn, vault, org, records).await?;
    let changes = (person_change as PersonChange, event_change as EventChange);
    let (outcomes, changed) = decide_all(org, records, known, changes, now);
    write_people(conn, vault, &changed.people).await?;
    write_events(conn, &changed.events).await?;
    Ok(outcomes)
}

/// The batch's people and their events, read with two queries up front so
/// that an unchanged row costs no query at all.
async fn load(
    conn: &mut SqliteConnection,
    vault: &Vault,
    org: OrgId,
    records: &[ImportRecord],
) -> Result<Known, StoreError> {
    let refs = records.iter().map(|r| match r {
        ImportRecord::Release { person, .. } => person.external_ref.as_str(),
        ImportRecord::Appointment { person, .. } => person.as_str(),
    });
    let org_key = ("org_id", org);
    let rows = select_in(
        conn,
        PERSON_COLUMNS,
        "people",
        org_key,
        "external_ref",
        refs,
    )
    .await?;
    let people: Vec<Person> = rows
        .iter()
        .map(|row| person_from_row(row, vault))
        .collect::<Result<_, _>>()?;
    let ids: Vec<String> = people.iter().map(|p| p.id.to_string()).collect();
    // `+org_id`: with the organisation's index SQLite would read every
    // event the organisation has, once per batch.
    let rows = select_in(
        conn,
        EVENT_COLUMNS,
        "events",
        ("+org_id", org),
        "person_id",
        ids.iter().map(String::as_str),
    )
    .await?;
    let events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
    Ok(Known::new(people, events))
}

async fn select_in<'v>(
    conn: &mut SqliteConnection,
    columns: &str,
    table: &str,
    (org_column, org): (&str, OrgId),
    key: &str,
    values: impl Iterator<Item = &'v str>,
) -> Result<Vec<SqliteRow>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {columns} FROM {table} WHERE {org_column} = "
    ));
    query.push_bind(org.to_string());
    query.push(format!(" AND {key} IN ("));
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
    Ok(query.build().fetch_all(&mut *conn).await?)
}
