//! Deciding a batch of import rows in memory, the same on both backends:
//! each row is compared with what the batch's two up-front reads found
//! (created, updated or unchanged), in file order, and what changed is
//! collected for one multi-row write per table. Only how a backend turns an
//! upsert into a row differs (PostgreSQL keeps times to the microsecond),
//! so that is passed in.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{ImportOutcome, ImportRecord};
use crate::domain::{Event, EventRef, NewEvent, NewPerson, OrgId, Person, PersonId, UpsertOutcome};

/// What upserting a person over the stored one makes of it.
pub(crate) type PersonChange =
    fn(OrgId, &NewPerson, Option<Person>, DateTime<Utc>) -> (Person, UpsertOutcome);
/// What upserting an event over the stored one makes of it.
pub(crate) type EventChange =
    fn(OrgId, PersonId, &NewEvent, Option<Event>, DateTime<Utc>) -> (Event, UpsertOutcome);

/// The batch's people (by reference) and their events, as stored.
pub(crate) struct Known {
    people: HashMap<String, Person>,
    events: HashMap<(PersonId, String), Event>,
}

impl Known {
    pub(crate) fn new(people: Vec<Person>, events: Vec<Event>) -> Self {
        let events = events
            .into_iter()
            .map(|e| ((e.person_id, e.event_ref.as_str().to_owned()), e))
            .collect();
        let people = people
            .into_iter()
            .map(|p| (p.external_ref.as_str().to_owned(), p))
            .collect();
        Self { people, events }
    }

    fn event(&self, person: PersonId, event_ref: &EventRef) -> Option<Event> {
        self.events
            .get(&(person, event_ref.as_str().to_owned()))
            .cloned()
    }
}

/// The rows to write, in the order the file gave them.
#[derive(Default)]
pub(crate) struct Changed {
    pub(crate) people: Vec<Person>,
    pub(crate) events: Vec<Event>,
}

/// Decide every row, in order: its outcome, and the rows to write.
pub(crate) fn decide_all(
    org: OrgId,
    records: &[ImportRecord],
    mut known: Known,
    (person_change, event_change): (PersonChange, EventChange),
    now: DateTime<Utc>,
) -> (Vec<ImportOutcome>, Changed) {
    let mut changed = Changed::default();
    let outcomes = records
        .iter()
        .map(|record| {
            let outcome = match record {
                ImportRecord::Release { person, liberation } => {
                    let existing = known.people.get(person.external_ref.as_str()).cloned();
                    let (stored, person_outcome) = person_change(org, person, existing, now);
                    if person_outcome != UpsertOutcome::Unchanged {
                        changed.people.push(stored.clone());
                    }
                    let existing = known.event(stored.id, &liberation.event_ref);
                    let (event, event_outcome) =
                        event_change(org, stored.id, liberation, existing, now);
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
        })
        .collect();
    (outcomes, changed)
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
