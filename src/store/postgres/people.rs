//! What PostgreSQL does differently for people and events (see
//! `store::people`): the bulk writes, one statement over arrays per table,
//! and an import batch's up-front reads.
//!
//! Every function here runs inside a transaction that already holds the
//! organisation's ingest lock (see the module header), so "read, compare,
//! write" cannot interleave with another upsert of the same person.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnection;

use crate::domain::{Event, OrgId, Person};
use crate::store::import_batch::Known;
use crate::store::people::{
    EVENT_COLUMNS, EventColumns, PERSON_COLUMNS, event_from_row, person_from_row,
};
use crate::store::{ImportRecord, StoreError};
use crate::vault::{Field, Vault};

/// Insert or update people by id in one statement over arrays. A person
/// listed twice ends as the later entry says (PostgreSQL will not change
/// one row twice in a statement, so only the last is written).
pub(super) async fn write_people(
    conn: &mut PgConnection,
    vault: &Vault,
    people: &[Person],
) -> Result<(), StoreError> {
    let people = last_of_each(people, |p| p.id);
    if people.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&Person) -> &str| -> Vec<&str> { people.iter().map(|p| f(p)).collect() };
    let ids: Vec<String> = people.iter().map(|p| p.id.to_string()).collect();
    let orgs: Vec<String> = people.iter().map(|p| p.org_id.to_string()).collect();
    let created: Vec<DateTime<Utc>> = people.iter().map(|p| p.created_at).collect();
    let updated: Vec<DateTime<Utc>> = people.iter().map(|p| p.updated_at).collect();
    let sealed = |field, value: fn(&Person) -> &str| -> Vec<String> {
        people.iter().map(|p| vault.seal(field, value(p))).collect()
    };
    let hashes: Vec<String> = people
        .iter()
        .map(|p| vault.index(&p.mobile).as_str().to_owned())
        .collect();
    sqlx::query(
        "INSERT INTO people (id, org_id, external_ref, first_name, mobile, language, created_at, updated_at, mobile_hash, name_hash) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[]) \
         ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, name_hash = excluded.name_hash, mobile = excluded.mobile, \
         mobile_hash = excluded.mobile_hash, language = excluded.language, updated_at = excluded.updated_at, \
         mobile_invalid_since = CASE WHEN people.mobile_hash = excluded.mobile_hash \
         THEN people.mobile_invalid_since ELSE NULL END",
    )
    .bind(&ids)
    .bind(&orgs)
    .bind(text(|p| p.external_ref.as_str()))
    .bind(sealed(Field::FirstName, |p| p.first_name.as_str()))
    .bind(sealed(Field::Mobile, |p| p.mobile.as_e164()))
    .bind(text(|p| p.language.as_str()))
    .bind(&created)
    .bind(&updated)
    .bind(&hashes)
    .bind(people.iter().map(|p| vault.index_name(&p.first_name)).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The last entry for each key, in the order those last entries came.
fn last_of_each<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let last: HashMap<K, usize> = items.iter().enumerate().map(|(i, t)| (key(t), i)).collect();
    items
        .iter()
        .enumerate()
        .filter(|(i, t)| last[&key(t)] == *i)
        .map(|(_, t)| t)
        .collect()
}

/// Insert or update events by id in one statement over arrays; an event
/// listed twice ends as the later entry says.
pub(super) async fn write_events(
    conn: &mut PgConnection,
    events: &[Event],
) -> Result<(), StoreError> {
    let events = last_of_each(events, |e| e.id);
    if events.is_empty() {
        return Ok(());
    }
    let columns: Vec<EventColumns<'_>> =
        events.iter().map(|e| EventColumns::of(&e.detail)).collect();
    let ids = |f: fn(&Event) -> String| -> Vec<String> { events.iter().map(|e| f(e)).collect() };
    let times = |f: fn(&Event) -> DateTime<Utc>| -> Vec<DateTime<Utc>> {
        events.iter().map(|e| f(e)).collect()
    };
    sqlx::query(
        "INSERT INTO events (id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
         establishment, place, appointment_type, created_at, updated_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::date[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], \
         $13::timestamptz[]) \
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, status = excluded.status, \
         local_date = excluded.local_date, starts_at = excluded.starts_at, \
         establishment = excluded.establishment, place = excluded.place, \
         appointment_type = excluded.appointment_type, updated_at = excluded.updated_at",
    )
    .bind(ids(|e| e.id.to_string()))
    .bind(ids(|e| e.org_id.to_string()))
    .bind(ids(|e| e.person_id.to_string()))
    .bind(events.iter().map(|e| e.event_ref.as_str()).collect::<Vec<_>>())
    .bind(columns.iter().map(|c| c.kind).collect::<Vec<_>>())
    .bind(columns.iter().map(|c| c.status).collect::<Vec<_>>())
    .bind(columns.iter().map(|c| c.local_date).collect::<Vec<_>>())
    .bind(columns.iter().map(|c| c.starts_at).collect::<Vec<_>>())
    .bind(columns.iter().map(|c| c.establishment).collect::<Vec<_>>())
    .bind(columns.iter().map(|c| c.place).collect::<Vec<_>>())
    .bind(columns.iter().map(|c| c.appointment_type).collect::<Vec<_>>())
    .bind(times(|e| e.created_at))
    .bind(times(|e| e.updated_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The batch's people and their events, read (and locked) with two queries
/// up front so that an unchanged row costs no query at all.
pub(super) async fn load_batch(
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
