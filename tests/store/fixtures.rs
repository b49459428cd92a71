//! Small builders for the suite: people, events and messages with
//! everything a test does not care about filled in.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use homeward::domain::{
    AppointmentKind, AppointmentStatus, Event, EventDetail, EventRef, ExternalRef, FirstName,
    Language, LiberationStatus, MessageBody, MessageId, MessageOrigin, MessageState, NewEvent,
    NewMessage, NewPerson, OrgId, OrgName, Person, PhoneNumber, TemplateName,
};
use homeward::store::{AttentionQuery, PlanChanges, Store};

/// Mobiles that libphonenumber accepts; no test ever sends to them.
pub const MOBILE_A: &str = "+447400123456";
pub const MOBILE_B: &str = "+447911123456";
pub const MOBILE_C: &str = "+447400123457";

/// An instant written in RFC 3339.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

/// The instant every test starts from: a Monday morning, 10:00 UTC.
pub fn t0() -> DateTime<Utc> {
    at("2026-03-02T10:00:00Z")
}

pub fn mins(n: i64) -> Duration {
    Duration::minutes(n)
}

pub fn mobile(e164: &str) -> PhoneNumber {
    PhoneNumber::parse(e164).expect("a valid mobile")
}

pub async fn org(store: &dyn Store, name: &str) -> OrgId {
    let name = OrgName::parse(name).expect("a valid organisation name");
    store.create_org(&name, t0()).await.expect("org created").id
}

pub fn new_person(external_ref: &str, first_name: &str, number: &str) -> NewPerson {
    NewPerson {
        external_ref: ExternalRef::parse(external_ref).unwrap(),
        first_name: FirstName::parse(first_name).unwrap(),
        mobile: mobile(number),
        language: Language::english(),
    }
}

pub fn liberation(event_ref: &str, date: &str) -> NewEvent {
    NewEvent {
        event_ref: EventRef::parse(event_ref).unwrap(),
        detail: EventDetail::Liberation {
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            establishment: None,
            status: LiberationStatus::Expected,
        },
    }
}

pub fn appointment(event_ref: &str, starts_at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        event_ref: EventRef::parse(event_ref).unwrap(),
        detail: EventDetail::Appointment {
            starts_at,
            place: None,
            appointment_type: AppointmentKind::Gp,
            status: AppointmentStatus::Scheduled,
        },
    }
}

/// A person in `org` with a liberation, both stored.
pub async fn person_with_release(
    store: &dyn Store,
    org: OrgId,
    external_ref: &str,
    number: &str,
) -> (Person, Event) {
    let (person, _) = store
        .upsert_person(org, &new_person(external_ref, "Alex", number), t0())
        .await
        .unwrap();
    let (event, _) = store
        .upsert_event(org, person.id, &liberation("release", "2026-03-05"), t0())
        .await
        .unwrap();
    (person, event)
}

/// A message a campaign rule planned for `event`, due at `send_at`.
pub fn rule_message(
    person: &Person,
    event: &Event,
    key: &str,
    send_at: DateTime<Utc>,
) -> NewMessage {
    NewMessage {
        origin: MessageOrigin::Rule {
            rule_id: "gp_registration".into(),
            event_id: event.id,
        },
        ..nudge(person, key, send_at)
    }
}

/// A one-off message to `person`, due at `send_at`.
pub fn nudge(person: &Person, key: &str, send_at: DateTime<Utc>) -> NewMessage {
    NewMessage {
        id: MessageId::new(),
        org_id: person.org_id,
        person_id: person.id,
        origin: MessageOrigin::Nudge,
        dedupe_key: key.to_owned(),
        template: TemplateName::parse("gp_registration").unwrap(),
        language: Language::english(),
        body: MessageBody::new(format!("Hello {}", person.first_name.as_str())),
        mobile: person.mobile.clone(),
        due_at: send_at,
        send_at,
        expires_at: send_at + Duration::days(2),
        earliest: None,
        priority: 2,
        goal: None,
    }
}

/// Store `messages` as pending, in one plan.
pub async fn plan(store: &dyn Store, messages: &[NewMessage]) -> Vec<MessageId> {
    let changes = PlanChanges {
        create: messages
            .iter()
            .map(|m| (m.clone(), MessageState::Pending, "planned".to_owned()))
            .collect(),
        ..Default::default()
    };
    store
        .apply_plan(&changes, t0())
        .await
        .expect("plan applied");
    messages.iter().map(|m| m.id).collect()
}

/// The stored state of a message.
pub async fn state_of(store: &Arc<dyn Store>, org: OrgId, id: MessageId) -> MessageState {
    store
        .message(org, id)
        .await
        .unwrap()
        .expect("message exists")
        .state
}

/// Every attention item of an organisation, open or resolved, oldest first.
pub fn all_items() -> AttentionQuery {
    AttentionQuery {
        open_only: false,
        ..AttentionQuery::open(1000)
    }
}
