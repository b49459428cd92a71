//! People and events in PostgreSQL: upserts by the caller's reference, the
//! batch import, and reading rows back into domain types.
//!
//! Every function here runs inside a transaction that already holds the
//! organisation's ingest lock (see the module header), so "read, compare,
//! write" cannot interleave with another upsert of the same person.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::rows::{checked, optional, parsed, stored, unsealed, unsealed_mobile};
use crate::domain::{
    AppointmentKind, AppointmentStatus, Establishment, Event, EventDetail, EventId, EventKind,
    EventRef, ExternalRef, FirstName, Language, LiberationStatus, NewEvent, NewPerson, OrgId,
    OrgName, Organisation, Person, PersonId, Place, UpsertOutcome,
};
use crate::store::StoreError;
use crate::vault::{Field, Vault};

pub(super) const PERSON_COLUMNS: &str =
    "id, org_id, external_ref, first_name, mobile, language, created_at, updated_at";
pub(super) const EVENT_COLUMNS: &str = "id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
     establishment, place, appointment_type, created_at, updated_at";

/// The person whose `key` column is `value`, locked until the transaction ends.
pub(super) async fn find_person(
    conn: &mut PgConnection,
    vault: &Vault,
    org: OrgId,
    (key, value): (&'static str, &str),
) -> Result<Option<Person>, StoreError> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND {key} = $2 FOR NO KEY UPDATE"
    );
    let row = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| person_from_row(&row, vault)).transpose()
}

/// Write `new` unless it equals `existing`, the row with the same reference.
pub(super) async fn upsert_person(
    conn: &mut PgConnection,
    vault: &Vault,
    org: OrgId,
    new: &NewPerson,
    existing: Option<Person>,
    now: DateTime<Utc>,
) -> Result<(Person, UpsertOutcome), StoreError> {
    let (person, outcome) = person_change(org, new, existing, now);
    if outcome != UpsertOutcome::Unchanged {
        write_people(conn, vault, std::slice::from_ref(&person)).await?;
    }
    Ok((person, outcome))
}

/// What upserting `new` over `existing` makes of the person, decided
/// without touching the database.
pub(super) fn person_change(
    org: OrgId,
    new: &NewPerson,
    existing: Option<Person>,
    now: DateTime<Utc>,
) -> (Person, UpsertOutcome) {
    let now = stored(now);
    let (id, created_at, outcome) = match existing {
        Some(old) if old.as_new() == *new => return (old, UpsertOutcome::Unchanged),
        Some(old) => (old.id, old.created_at, UpsertOutcome::Updated),
        None => (PersonId::new(), now, UpsertOutcome::Created),
    };
    let person = Person {
        id,
        org_id: org,
        external_ref: new.external_ref.clone(),
        first_name: new.first_name.clone(),
        mobile: new.mobile.clone(),
        language: new.language.clone(),
        created_at,
        updated_at: now,
    };
    (person, outcome)
}

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
        "INSERT INTO people (id, org_id, external_ref, first_name, mobile, language, created_at, updated_at, mobile_hash) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::timestamptz[], $8::timestamptz[], $9::text[]) \
         ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, mobile = excluded.mobile, \
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

/// The person's event with this reference, locked until the transaction ends.
pub(super) async fn find_event(
    conn: &mut PgConnection,
    org: OrgId,
    person: PersonId,
    event_ref: &EventRef,
) -> Result<Option<Event>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events \
         WHERE org_id = $1 AND person_id = $2 AND event_ref = $3 FOR NO KEY UPDATE"
    );
    let row = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(person.to_string())
        .bind(event_ref.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(event_from_row).transpose()
}

/// Write `new` unless it equals `existing`, the event with the same reference.
pub(super) async fn upsert_event(
    conn: &mut PgConnection,
    org: OrgId,
    person: PersonId,
    new: &NewEvent,
    existing: Option<Event>,
    now: DateTime<Utc>,
) -> Result<(Event, UpsertOutcome), StoreError> {
    let (event, outcome) = event_change(org, person, new, existing, now);
    if outcome != UpsertOutcome::Unchanged {
        write_events(conn, std::slice::from_ref(&event)).await?;
    }
    Ok((event, outcome))
}

/// What upserting `new` over `existing` makes of the event, decided
/// without touching the database.
pub(super) fn event_change(
    org: OrgId,
    person: PersonId,
    new: &NewEvent,
    existing: Option<Event>,
    now: DateTime<Utc>,
) -> (Event, UpsertOutcome) {
    let now = stored(now);
    // Compared as it will read back, or a sub-microsecond start time would
    // count as a change on every re-import.
    let detail = stored_detail(&new.detail);
    let (id, created_at, outcome) = match existing {
        Some(old) if old.detail == detail => return (old, UpsertOutcome::Unchanged),
        Some(old) => (old.id, old.created_at, UpsertOutcome::Updated),
        None => (EventId::new(), now, UpsertOutcome::Created),
    };
    let event = Event {
        id,
        org_id: org,
        person_id: person,
        event_ref: new.event_ref.clone(),
        detail,
        created_at,
        updated_at: now,
    };
    (event, outcome)
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

fn stored_detail(detail: &EventDetail) -> EventDetail {
    let mut detail = detail.clone();
    if let EventDetail::Appointment { starts_at, .. } = &mut detail {
        *starts_at = stored(*starts_at);
    }
    detail
}

/// An event's detail spread over its nullable columns.
pub(super) struct EventColumns<'a> {
    pub kind: &'static str,
    pub status: &'static str,
    pub local_date: Option<NaiveDate>,
    pub starts_at: Option<DateTime<Utc>>,
    pub establishment: Option<&'a str>,
    pub place: Option<&'a str>,
    pub appointment_type: Option<&'static str>,
}

impl<'a> EventColumns<'a> {
    pub(super) fn of(detail: &'a EventDetail) -> Self {
        match detail {
            EventDetail::Liberation {
                date,
                establishment,
                status,
            } => Self {
                kind: EventKind::Liberation.as_str(),
                status: status.as_str(),
                local_date: Some(*date),
                starts_at: None,
                establishment: establishment.as_ref().map(Establishment::as_str),
                place: None,
                appointment_type: None,
            },
            EventDetail::Appointment {
                starts_at,
                place,
                appointment_type,
                status,
            } => Self {
                kind: EventKind::Appointment.as_str(),
                status: status.as_str(),
                local_date: None,
                starts_at: Some(*starts_at),
                establishment: None,
                place: place.as_ref().map(Place::as_str),
                appointment_type: Some(appointment_type.as_str()),
            },
        }
    }
}

pub(super) fn org_from_row(row: &PgRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: parsed(row, "id")?,
        name: checked(row, "name", OrgName::parse)?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn person_from_row(row: &PgRow, vault: &Vault) -> Result<Person, StoreError> {
    person_with_prefix(row, "", vault)
}

/// A person read from columns named with `prefix` (for joined rows).
pub(super) fn person_with_prefix(
    row: &PgRow,
    prefix: &str,
    vault: &Vault,
) -> Result<Person, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    let first_name = unsealed(row, &col("first_name"), vault, Field::FirstName)?;
    Ok(Person {
        id: parsed(row, &col("id"))?,
        org_id: parsed(row, &col("org_id"))?,
        external_ref: checked(row, &col("external_ref"), ExternalRef::parse)?,
        first_name: FirstName::from_stored(first_name),
        mobile: unsealed_mobile(row, &col("mobile"), vault)?,
        language: checked(row, &col("language"), Language::parse)?,
        created_at: row.try_get(col("created_at").as_str())?,
        updated_at: row.try_get(col("updated_at").as_str())?,
    })
}

pub(super) fn event_from_row(row: &PgRow) -> Result<Event, StoreError> {
    let kind: EventKind = parsed(row, "kind")?;
    let detail = match kind {
        EventKind::Liberation => EventDetail::Liberation {
            date: row.try_get("local_date")?,
            establishment: optional(row, "establishment", Establishment::parse)?,
            status: parsed::<LiberationStatus, _>(row, "status")?,
        },
        EventKind::Appointment => EventDetail::Appointment {
            starts_at: row.try_get("starts_at")?,
            place: row
                .try_get::<Option<String>, _>("place")?
                .map(Place::from_stored),
            appointment_type: parsed::<AppointmentKind, _>(row, "appointment_type")?,
            status: parsed::<AppointmentStatus, _>(row, "status")?,
        },
    };
    Ok(Event {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        person_id: parsed(row, "person_id")?,
        event_ref: checked(row, "event_ref", EventRef::parse)?,
        detail,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
