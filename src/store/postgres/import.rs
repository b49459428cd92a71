//! CSV imports in PostgreSQL, a batch at a time, inside the caller's
//! transaction (which holds the organisation's ingest lock).
//!
//! As in SQLite: the batch's people and their events are read (and locked)
//! with two queries up front, each row is decided in memory in file order,
//! and what changed is written with one statement per table over arrays. A
//! statement per row cost a round trip to the server each, which was most
//! of an import's time.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnection;

use super::people::{
    EVENT_COLUMNS, PERSON_COLUMNS, event_change, event_from_row, person_change, person_from_row,
    write_events, write_people,
};
use crate::domain::{OrgId, Person};
use crate::store::import_batch::{EventChange, Known, PersonChange, decide_all};
use crate::store::{ImportOutcome, ImportRecord, StoreError};
use crate::vault::Vault;

/// Apply validated rows; the outcome of each, in order.
pub(super) async fn import(
    conn: &mut PgConnection,
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

/// The batch's people and their events, read (and locked) with two queries
/// up front so that an unchanged row costs no query at all.
async fn load(
    conn: &mut PgConnection,
    vault: &Vault,
    org: OrgId,
    records: &[ImportRecord],
) -> Result<Known, StoreError> {
    let refs: Vec<&str> = records
        .iter()
        .map(|r| match r {
            ImportRecord::Release { person, .. } => person.external_ref.as_str(),
            ImportRecord::Appointment { person, .. } => person.as_str(),
        })
        .collect();
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND external_ref IN (SELECT unnest($2::text[])) \
             FOR NO KEY UPDATE"
    );
    let rows = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(&refs)
        .fetch_all(&mut *conn)
        .await?;
    let people: Vec<Person> = rows
        .iter()
        .map(|row| person_from_row(row, vault))
        .collect::<Result<_, _>>()?;
    let ids: Vec<String> = people.iter().map(|p| p.id.to_string()).collect();
    // Person by person through the events' (person, reference) key, the
    // organisation tested outside an `OFFSET 0` fence: without
    // statistics PostgreSQL joins the organisation's index in and reads
    // every event the organisation has, once per batch.
    let sql = format!(
        "SELECT e.* FROM (SELECT DISTINCT unnest($2::text[]) AS wanted) k \
             CROSS JOIN LATERAL (SELECT {EVENT_COLUMNS} FROM events WHERE person_id = k.wanted \
             OFFSET 0 FOR NO KEY UPDATE) e WHERE e.org_id = $1"
    );
    let rows = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
    Ok(Known::new(people, events))
}
