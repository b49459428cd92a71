//! The plan preview: what would be sent, to whom and when, before anything
//! goes. Used by `homeward plan` for stored events and for a releases file
//! not yet imported.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::plan::{initial_state, wanted};
use super::{Candidate, Placement, PlanError, Planner, fit};
use crate::domain::{
    Event, EventId, ExternalRef, Message, MessageBody, MessageId, MessageOrigin, MessageState,
    OrgId, Person, PersonId,
};
use crate::store::ImportRecord;
use crate::templates::Variables;

/// One line of the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewRow {
    pub person_ref: String,
    pub rule: String,
    pub template: String,
    pub send_at_local: String,
    pub send_at_utc: DateTime<Utc>,
    pub state: MessageState,
    pub segments: usize,
    /// The text as it would be sent (left out of `homeward plan --json`,
    /// which lists times, not texts).
    #[serde(skip)]
    pub text: MessageBody,
}

/// Rows for stored messages, with each person's reference.
pub fn from_messages(
    messages: &[Message],
    refs: &HashMap<PersonId, ExternalRef>,
    zone: Tz,
) -> Vec<PreviewRow> {
    messages
        .iter()
        .map(|m| PreviewRow {
            person_ref: refs
                .get(&m.person_id)
                .map_or_else(String::new, |r| r.as_str().to_owned()),
            rule: match &m.origin {
                MessageOrigin::Rule { rule_id, .. } => rule_id.clone(),
                MessageOrigin::Nudge => "nudge".into(),
                MessageOrigin::Reply { .. } => "reply".into(),
                MessageOrigin::StaffReply => "staff reply".into(),
            },
            template: m.template.as_str().to_owned(),
            send_at_local: local(m.send_at, zone),
            send_at_utc: m.send_at,
            state: m.state,
            segments: crate::templates::sms::analyse(m.body.as_str()).segments,
            text: m.body.clone(),
        })
        .collect()
}

fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Plan a releases file in memory, storing nothing, as if no other texts
/// were planned for these numbers.
pub fn releases(
    planner: &Planner,
    records: &[ImportRecord],
    now: DateTime<Utc>,
) -> Result<Vec<PreviewRow>, PlanError> {
    let org = OrgId::new();
    let pairs: Vec<(Person, Event)> = records
        .iter()
        .filter_map(|record| match record {
            ImportRecord::Release { person, liberation } => {
                let person = Person {
                    id: PersonId::new(),
                    org_id: org,
                    external_ref: person.external_ref.clone(),
                    first_name: person.first_name.clone(),
                    mobile: person.mobile.clone(),
                    language: person.language.clone(),
                    created_at: now,
                    updated_at: now,
                };
                let event = unsaved(&person, liberation, now);
                Some((person, event))
            }
            ImportRecord::Appointment { .. } => None,
        })
        .collect();
    events(planner, &pairs, now)
}

/// An event as it would be stored for `person`.
pub fn unsaved(person: &Person, event: &crate::domain::NewEvent, now: DateTime<Utc>) -> Event {
    Event {
        id: EventId::new(),
        org_id: person.org_id,
        person_id: person.id,
        event_ref: event.event_ref.clone(),
        detail: event.detail.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// Plan these events in memory, storing nothing, as if no other texts were
/// planned for their people's numbers.
pub fn events(
    planner: &Planner,
    pairs: &[(Person, Event)],
    now: DateTime<Utc>,
) -> Result<Vec<PreviewRow>, PlanError> {
    let zone = planner.zone();
    let mut rows = Vec::new();
    let mut by_number: HashMap<String, Vec<(Candidate, usize)>> = HashMap::new();
    for (person, event) in pairs {
        for w in wanted(planner.rules(), &Default::default(), event, zone) {
            let rendered = planner.render(
                &w.rule.template,
                person,
                Some(&event.detail),
                &Variables::new(),
            )?;
            let candidate = Candidate {
                id: MessageId::new(),
                due: w.occasion.due,
                expires: w.occasion.expires,
                priority: w.rule.priority,
                earliest: w.rule.earliest,
            };
            by_number
                .entry(person.mobile.as_e164().to_owned())
                .or_default()
                .push((candidate, rows.len()));
            rows.push(PreviewRow {
                person_ref: person.external_ref.as_str().to_owned(),
                rule: w.rule.id.clone(),
                template: w.rule.template.as_str().to_owned(),
                send_at_local: local(w.occasion.due, zone),
                send_at_utc: w.occasion.due,
                state: initial_state(&w.occasion, now),
                segments: rendered.analysis.segments,
                text: MessageBody::new(rendered.text),
            });
        }
    }
    for texts in by_number.values() {
        let candidates: Vec<_> = texts.iter().map(|(c, _)| *c).collect();
        for (id, placement) in fit(&planner.inner.policy, &[], &candidates, now) {
            let row = &mut rows[texts.iter().find(|(c, _)| c.id == id).expect("placed").1];
            match placement {
                Placement::At(at) => {
                    row.send_at_utc = at;
                    row.send_at_local = local(at, zone);
                }
                Placement::Expired(_) => row.state = MessageState::Expired,
            }
        }
    }
    rows.sort_by(|a, b| (a.send_at_utc, &a.person_ref).cmp(&(b.send_at_utc, &b.person_ref)));
    Ok(rows)
}

/// The preview as an aligned text table.
pub fn table(rows: &[PreviewRow]) -> String {
    let mut out = format!(
        "{:<16} {:<28} {:<24} {:<22} {:<21} {:<9} {}\n",
        "person", "rule", "template", "local time", "UTC", "state", "segments"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<16} {:<28} {:<24} {:<22} {:<21} {:<9} {}",
            r.person_ref,
            r.rule,
            r.template,
            r.send_at_local,
            r.send_at_utc.format("%Y-%m-%dT%H:%MZ"),
            r.state,
            r.segments
        );
    }
    out
}
