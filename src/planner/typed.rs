//! Texts staff type: a reply to a person, checked like a template and sent
//! at once within sending hours (or at the next opening), never to an
//! opted-out number and never held back by the daily cap, which still
//! counts it among the person's texts.

use chrono::Duration;

use super::{PlanError, Planner};
use crate::domain::{
    Message, MessageBody, MessageId, MessageOrigin, MessageState, NewMessage, OrgId, Person,
    PersonId, TemplateName,
};
use crate::store::PlanChanges;
use crate::templates::{TypedCheck, TypedProblem, check_typed};

/// How long a reply waits for sending hours before it is no longer worth
/// sending: a conversation a day old is better restarted by a person.
const REPLY_LIFETIME: Duration = Duration::hours(24);

/// Most important: a person is waiting for an answer.
const REPLY_PRIORITY: u8 = 1;

/// A text staff asked for (a reply or a nudge), and whether an earlier
/// request with the same key had planned it already.
#[derive(Debug, Clone)]
pub struct Planned {
    pub message: Message,
    pub repeated: bool,
}

/// A reply staff typed to a person.
#[derive(Debug, Clone)]
pub struct ReplyRequest {
    pub person: PersonId,
    /// As typed: never logged (`Debug` shows its length).
    pub body: MessageBody,
    /// The same key twice makes one text: a form's one-time token, or an
    /// API client's `Idempotency-Key`.
    pub key: Option<String>,
    /// The worker accepts the warnings (a text of several segments).
    pub confirmed: bool,
}

impl Planner {
    /// What the checks say of `text` as a text to `person`.
    #[must_use]
    pub fn check_text(&self, text: &str, person: &Person) -> TypedCheck {
        let reference = Some(person.external_ref.as_str());
        check_typed(text, &self.inner.text_rules, reference)
    }

    /// Send a typed reply: checked, then planned to go now or at the next
    /// opening of sending hours. A repeated key returns the text already
    /// planned for it, sending nothing twice.
    pub async fn reply(&self, org: OrgId, request: ReplyRequest) -> Result<Planned, PlanError> {
        let store = &self.inner.store;
        let person = store
            .person(org, request.person)
            .await?
            .ok_or(PlanError::NotFound("person"))?;
        let key = reply_key(org, person.id, request.key.as_deref());
        if let Some(message) = store.message_by_key(org, &key).await? {
            let repeated = true;
            return Ok(Planned { message, repeated });
        }
        let mobile = std::slice::from_ref(&person.mobile);
        if !store.suppressed_among(mobile).await?.is_empty() {
            return Err(PlanError::OptedOut);
        }
        let check = self.check_text(request.body.as_str(), &person);
        check
            .problems(request.confirmed)
            .map_err(PlanError::TextRefused)?;
        let now = self.now();
        let send_at = self.inner.policy.next_opening(now);
        let id = MessageId::new();
        let message = NewMessage {
            id,
            org_id: org,
            person_id: person.id,
            origin: MessageOrigin::StaffReply,
            dedupe_key: key.clone(),
            template: TemplateName::typed(),
            language: person.language.clone(),
            body: check.text,
            mobile: person.mobile.clone(),
            due_at: now,
            send_at,
            expires_at: send_at + REPLY_LIFETIME,
            earliest: None,
            priority: REPLY_PRIORITY,
            goal: None,
        };
        let reason = "a reply typed by staff".to_owned();
        let changes = PlanChanges {
            create: vec![(message, MessageState::Pending, reason)],
            ..Default::default()
        };
        store.apply_plan(&changes, now).await?;
        self.fit_numbers(mobile).await?;
        let message = store.message_by_key(org, &key).await?;
        let message = message.ok_or(PlanError::NotFound("message"))?;
        Ok(Planned {
            repeated: message.id != id,
            message,
        })
    }
}

/// A staff reply's dedupe key: unique to the person and the caller's key.
fn reply_key(org: OrgId, person: PersonId, key: Option<&str>) -> String {
    let once = key.map_or_else(|| MessageId::new().to_string(), str::to_owned);
    format!("{}{org}/{person}/{once}", MessageOrigin::STAFF_REPLY_KEY)
}

/// Problems as one message, each a sentence.
pub(super) fn sentences(problems: &[TypedProblem]) -> String {
    let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
    all.join(". ")
}
