//! CSV imports in SQLite, a batch at a time, inside the caller's write
//! transaction.
//!
//! The batch's people and their events are read with two queries up front;
//! each row is then decided in memory (created, updated or unchanged) in
//! file order, and what changed is written with one multi-row upsert per
//! table. A statement per row would cost a round trip to the connection's
//! thread each, which is most of an import's time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Sqlite};

use super::{
    EVENT_COLUMNS, PERSON_COLUMNS, event_change, event_from_row, person_change, person_from_row,
    write_events, write_people,
};
use crate::domain::{Event, EventRef, OrgId, Person, PersonId, UpsertOutcome};
use crate::store::{ImportOutcome, ImportRecord, StoreError};

/// Apply validated rows; the outcome of each, in order.
pub(super) async fn import(
    conn: &mut SqliteConnection,
    org: OrgId,
    records: &[ImportRecord],
    now: DateTime<Utc>,
) -> Result<Vec<ImportOutcome>, StoreError> {
    let mut known = Known::load(conn, org, records).await?;
    let mut changed = Changed::default();
    let outcomes = records
        .iter()
        .map(|record| decide(org, record, &mut known, &mut changed, now))
        .collect();
    write_people(conn, &changed.people).await?;
    write_events(conn, &changed.events).await?;
    Ok(outcomes)
}

/// The rows to write, in the order the file gave them.
#[derive(Default)]
struct Changed {
    people: Vec<Person>,
    events: Vec<Event>,
}

fn decide(
    org: OrgId,
    record: &ImportRecord,
    known: &mut Known,
    changed: &mut Changed,
    now: DateTime<Utc>,
) -> ImportOutcome {
    let outcome = match record {
        ImportRecord::Release { person, liberation } => {
            let existing = known.people.get(person.external_ref.as_str()).cloned();
            let (stored, person_outcome) = person_change(org, person, existing, now);
            if person_outcome != UpsertOutcome::Unchanged {
                changed.people.push(stored.clone());
            }
            let existing = known.event(stored.id, &liberation.event_ref);
            let (event, event_outcome) = event_change(org, stored.id, liberation, existing, now);
            if event_outcome != UpsertOutcome::Unchanged {
                changed.events.push(event);
            }
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
                return ImportOutcome::UnknownPerson;
            };
            let existing = known.event(stored.id, &appointment.event_ref);
            let (event, outcome) = event_change(org, stored.id, appointment, existing, now);
            if outcome != UpsertOutcome::Unchanged {
                changed.events.push(event);
            }
            outcome
        }
    };
    ImportOutcome::Done(outcome)
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

/// The batch's people and their events, read with two queries up front so
/// that an unchanged row costs no query at all.
struct Known {
    people: HashMap<String, Person>,
    events: HashMap<(PersonId, String), Event>,
}

impl Known {
    async fn load(
        conn: &mut SqliteConnection,
        org: OrgId,
        records: &[ImportRecord],
    ) -> Result<Self, StoreError> {
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
        let people: Vec<Person> = rows.iter().map(person_from_row).collect::<Result<_, _>>()?;
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
