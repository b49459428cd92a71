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

use super::rows::{checked, optional, parsed, stored};
use crate::domain::{
    AppointmentKind, AppointmentStatus, Establishment, Event, EventDetail, EventId, EventKind,
    EventRef, ExternalRef, FirstName, Language, LiberationStatus, NewEvent, NewPerson, OrgId,
    OrgName, Organisation, Person, PersonId, PhoneNumber, Place, UpsertOutcome,
};
use crate::store::{ImportOutcome, ImportRecord, StoreError};

pub(super) const PERSON_COLUMNS: &str =
    "id, org_id, external_ref, first_name, mobile, language, created_at, updated_at";
pub(super) const EVENT_COLUMNS: &str = "id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
     establishment, place, appointment_type, created_at, updated_at";

/// The batch's people and their events, read (and locked) with two queries
/// up front so that an unchanged row costs no query at all.
pub(super) struct Known {
    people: HashMap<String, Person>,
    events: HashMap<(PersonId, String), Event>,
}

impl Known {
    pub(super) async fn load(
        conn: &mut PgConnection,
        org: OrgId,
        records: &[ImportRecord],
    ) -> Result<Self, StoreError> {
        let refs: Vec<&str> = records
            .iter()
            .map(|r| match r {
                ImportRecord::Release { person, .. } => person.external_ref.as_str(),
                ImportRecord::Appointment { person, .. } => person.as_str(),
            })
            .collect();
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND external_ref = ANY($2) \
             FOR NO KEY UPDATE"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(&refs)
            .fetch_all(&mut *conn)
            .await?;
        let people: Vec<Person> = rows.iter().map(person_from_row).collect::<Result<_, _>>()?;
        let ids: Vec<String> = people.iter().map(|p| p.id.to_string()).collect();
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND person_id = ANY($2) \
             FOR NO KEY UPDATE"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
        let mut events = HashMap::new();
        for row in &rows {
            let event = event_from_row(row)?;
            events.insert(
                (event.person_id, event.event_ref.as_str().to_owned()),
                event,
            );
        }
        let people = people
            .into_iter()
            .map(|p| (p.external_ref.as_str().to_owned(), p))
            .collect();
        Ok(Self { people, events })
    }

    fn event(&self, person: PersonId, event_ref: &EventRef) -> Option<Event> {
        self.events
            .get(&(person, event_ref.as_str().to_owned()))
            .cloned()
    }
}

pub(super) async fn import_one(
    conn: &mut PgConnection,
    org: OrgId,
    record: &ImportRecord,
    known: &mut Known,
    now: DateTime<Utc>,
) -> Result<ImportOutcome, StoreError> {
    let outcome = match record {
        ImportRecord::Release { person, liberation } => {
            let existing = known.people.get(person.external_ref.as_str()).cloned();
            let (stored, person_outcome) = upsert_person(conn, org, person, existing, now).await?;
            let existing = known.event(stored.id, &liberation.event_ref);
            let (_, event_outcome) =
                upsert_event(conn, org, stored.id, liberation, existing, now).await?;
            known
                .people
                .insert(stored.external_ref.as_str().to_owned(), stored);
            combine(person_outcome, event_outcome)
        }
        ImportRecord::Appointment {
            person,
            appointment,
        } => {
            let Some(stored) = known.people.get(person.as_str()) else {
                return Ok(ImportOutcome::UnknownPerson);
            };
            let existing = known.event(stored.id, &appointment.event_ref);
            upsert_event(conn, org, stored.id, appointment, existing, now)
                .await?
                .1
        }
    };
    Ok(ImportOutcome::Done(outcome))
}

/// A release row created something if either half was new.
fn combine(person: UpsertOutcome, event: UpsertOutcome) -> UpsertOutcome {
    use UpsertOutcome::*;
    match (person, event) {
        (Created, _) | (_, Created) => Created,
        (Unchanged, Unchanged) => Unchanged,
        _ => Updated,
    }
}

/// The person whose `key` column is `value`, locked until the transaction ends.
pub(super) async fn find_person(
    conn: &mut PgConnection,
    org: OrgId,
    key: &'static str,
    value: &str,
) -> Result<Option<Person>, StoreError> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND {key} = $2 FOR NO KEY UPDATE"
    );
    let row = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(person_from_row).transpose()
}

/// Write `new` unless it equals `existing`, the row with the same reference.
pub(super) async fn upsert_person(
    conn: &mut PgConnection,
    org: OrgId,
    new: &NewPerson,
    existing: Option<Person>,
    now: DateTime<Utc>,
) -> Result<(Person, UpsertOutcome), StoreError> {
    let now = stored(now);
    let (id, created_at, outcome) = match existing {
        Some(old) if old.as_new() == *new => return Ok((old, UpsertOutcome::Unchanged)),
        Some(old) => (old.id, old.created_at, UpsertOutcome::Updated),
        None => (PersonId::new(), now, UpsertOutcome::Created),
    };
    sqlx::query(
        "INSERT INTO people (id, org_id, external_ref, first_name, mobile, language, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, mobile = excluded.mobile, \
         language = excluded.language, updated_at = excluded.updated_at, \
         mobile_invalid_since = CASE WHEN people.mobile = excluded.mobile \
         THEN people.mobile_invalid_since ELSE NULL END",
    )
    .bind(id.to_string())
    .bind(org.to_string())
    .bind(new.external_ref.as_str())
    .bind(new.first_name.as_str())
    .bind(new.mobile.as_e164())
    .bind(new.language.as_str())
    .bind(created_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
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
    Ok((person, outcome))
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
    let now = stored(now);
    // Compared as it will read back, or a sub-microsecond start time would
    // count as a change on every re-import.
    let detail = stored_detail(&new.detail);
    let (id, created_at, outcome) = match existing {
        Some(old) if old.detail == detail => return Ok((old, UpsertOutcome::Unchanged)),
        Some(old) => (old.id, old.created_at, UpsertOutcome::Updated),
        None => (EventId::new(), now, UpsertOutcome::Created),
    };
    let c = EventColumns::of(&detail);
    sqlx::query(
        "INSERT INTO events (id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
         establishment, place, appointment_type, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, status = excluded.status, \
         local_date = excluded.local_date, starts_at = excluded.starts_at, \
         establishment = excluded.establishment, place = excluded.place, \
         appointment_type = excluded.appointment_type, updated_at = excluded.updated_at",
    )
    .bind(id.to_string())
    .bind(org.to_string())
    .bind(person.to_string())
    .bind(new.event_ref.as_str())
    .bind(c.kind)
    .bind(c.status)
    .bind(c.local_date)
    .bind(c.starts_at)
    .bind(c.establishment)
    .bind(c.place)
    .bind(c.appointment_type)
    .bind(created_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let event = Event {
        id,
        org_id: org,
        person_id: person,
        event_ref: new.event_ref.clone(),
        detail,
        created_at,
        updated_at: now,
    };
    Ok((event, outcome))
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

pub(super) fn person_from_row(row: &PgRow) -> Result<Person, StoreError> {
    person_with_prefix(row, "")
}

/// A person read from columns named with `prefix` (for joined rows).
pub(super) fn person_with_prefix(row: &PgRow, prefix: &str) -> Result<Person, StoreError> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Person {
        id: parsed(row, &col("id"))?,
        org_id: parsed(row, &col("org_id"))?,
        external_ref: checked(row, &col("external_ref"), ExternalRef::parse)?,
        first_name: checked(row, &col("first_name"), FirstName::parse)?,
        mobile: PhoneNumber::from_trusted_e164(row.try_get(col("mobile").as_str())?),
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
            status: parsed::<LiberationStatus>(row, "status")?,
        },
        EventKind::Appointment => EventDetail::Appointment {
            starts_at: row.try_get("starts_at")?,
            place: optional(row, "place", Place::parse)?,
            appointment_type: parsed::<AppointmentKind>(row, "appointment_type")?,
            status: parsed::<AppointmentStatus>(row, "status")?,
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
