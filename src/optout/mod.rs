//! Replies from people: STOP, START, HELP, and everything a person on staff
//! should read.
//!
//! A STOP is recorded on the suppression list the moment it arrives, keyed
//! by the number, across every organisation (someone who says STOP to one
//! sender should not have to say it again). From then on the dispatcher
//! will not send to the number: it checks when it claims a text and again
//! just before the provider call. Only the exact word START (or staff, with
//! a recorded reason) takes a number off the list; a re-import never does,
//! and a reply that merely looks like START goes to staff instead.

mod fold;
pub mod keywords;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::config::OptOutSettings;
use crate::domain::{
    Inbound, MessageBody, MessageId, MessageOrigin, MessageState, NewAttention, NewMessage, Person,
    PhoneNumber, TemplateName,
};
use crate::planner::Planner;
use crate::providers::InboundSms;
use crate::store::{PlanChanges, Store, StoreError};
use crate::templates::{TemplateError, Variables};
pub use keywords::{Intent, Keywords};

/// How long a confirmation or HELP answer is worth sending.
const REPLY_LIFETIME: Duration = Duration::hours(24);
/// At most one confirmation of each kind per number in this window.
const REPLY_QUIET: Duration = Duration::hours(24);

#[derive(Debug, thiserror::Error)]
pub enum OptOutError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// What happened to an inbound text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Seen before (a replayed webhook): nothing done again.
    Duplicate,
    Processed {
        intent: Intent,
        people: usize,
        replied: bool,
    },
}

#[derive(Clone)]
pub struct Replies {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    planner: Planner,
    keywords: Arc<Keywords>,
}

impl Replies {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        planner: Planner,
        settings: &OptOutSettings,
    ) -> Self {
        Self {
            store,
            clock,
            planner,
            keywords: Arc::new(Keywords::new(settings)),
        }
    }

    /// Record an inbound text once and act on what it means.
    pub async fn receive(&self, provider: &str, sms: &InboundSms) -> Result<Received, OptOutError> {
        let now = self.clock.now();
        let mobile = sender(&sms.from);
        let intent = self.keywords.classify(&sms.text);
        let people = match &mobile {
            Some(m) => self.store.people_by_mobile(m).await?,
            None => Vec::new(),
        };
        let inbound = Inbound {
            id: MessageId::new().to_string(),
            provider: provider.to_owned(),
            provider_message_id: sms.provider_id.clone(),
            from: mobile
                .as_ref()
                .map_or_else(|| sms.from.clone(), |m| m.as_e164().to_owned()),
            body: sms.text.clone(),
            intent: intent.as_str().to_owned(),
            received_at: sms.received_at.unwrap_or(now),
        };
        if !self.store.record_inbound(&inbound, &people).await? {
            return Ok(Received::Duplicate);
        }
        metrics::counter!("sms_inbound_total", "intent" => intent.as_str()).increment(1);
        let replied = match mobile {
            Some(mobile) => self.act(intent, &mobile, &people, &inbound, now).await?,
            None => false,
        };
        Ok(Received::Processed {
            intent,
            people: people.len(),
            replied,
        })
    }

    async fn act(
        &self,
        intent: Intent,
        mobile: &PhoneNumber,
        people: &[Person],
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<bool, OptOutError> {
        let store = &self.store;
        match intent {
            Intent::OptOut => {
                store
                    .suppress(mobile, "reply", "the person replied STOP", now)
                    .await?;
                tracing::info!(mobile = %mobile, "number opted out by reply");
                self.reply("optout_confirmation", mobile, people, inbound, now)
                    .await
            }
            Intent::OptIn => {
                store
                    .unsuppress(mobile, "reply", "the person replied START", None, now)
                    .await?;
                store.revive_suppressed(mobile, now).await?;
                self.reply("optin_confirmation", mobile, people, inbound, now)
                    .await
            }
            Intent::Help => self.reply("help_reply", mobile, people, inbound, now).await,
            Intent::WhoIsThis => {
                let replied = self
                    .reply("help_reply", mobile, people, inbound, now)
                    .await?;
                let detail =
                    "asked who is texting: the HELP reply was sent; check they know who we are";
                self.flag(people, "who_is_this", detail, inbound, now)
                    .await?;
                Ok(replied)
            }
            Intent::OptInLike => {
                // Never re-subscribes by itself: texting someone who asked us
                // to stop costs far more than a missed restart.
                let detail = "replied with something that looks like START but is not exactly START: nothing changed; ask the person whether they want texts";
                self.flag(people, "start_like", detail, inbound, now)
                    .await?;
                Ok(false)
            }
            Intent::WrongNumber => {
                for person in people {
                    store.mark_number_invalid(person.id, now).await?;
                }
                self.flag(people, "wrong_number", "replied that this is the wrong number: texts paused until the number is changed", inbound, now).await?;
                Ok(false)
            }
            Intent::StopLike => {
                self.flag(
                    people,
                    "stop_like",
                    "replied with words that may mean stop: please read and act",
                    inbound,
                    now,
                )
                .await?;
                Ok(false)
            }
            Intent::Other => {
                self.flag(
                    people,
                    "reply",
                    "sent a reply that needs a person to read it",
                    inbound,
                    now,
                )
                .await?;
                Ok(false)
            }
        }
    }

    /// Put people whose texts stopped arriving on the attention list.
    pub async fn flag_silent(&self, silent_days: u32) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let cutoff = now - Duration::days(silent_days.into());
        let silent = self.store.silent_people(cutoff).await?;
        for (org_id, person_id) in &silent {
            let detail = format!(
                "no text has been delivered for {silent_days} days or more: the number may have changed"
            );
            let item = NewAttention {
                org_id: *org_id,
                person_id: *person_id,
                kind: "no_delivery",
                detail,
                inbound_id: None,
                message_id: None,
            };
            self.store.raise_attention(&item, now).await?;
        }
        Ok(silent.len())
    }

    async fn flag(
        &self,
        people: &[Person],
        kind: &'static str,
        detail: &str,
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for person in people {
            let item = NewAttention {
                org_id: person.org_id,
                person_id: person.id,
                kind,
                detail: detail.to_owned(),
                inbound_id: Some(inbound.id.clone()),
                message_id: None,
            };
            self.store.raise_attention(&item, now).await?;
        }
        Ok(())
    }

    /// Queue an answer from `template`, at most one of a kind per number a
    /// day, addressed through the most recent person with the number (their
    /// language). A number that matches nobody gets no answer.
    async fn reply(
        &self,
        template: &str,
        mobile: &PhoneNumber,
        people: &[Person],
        inbound: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<bool, OptOutError> {
        let Some(person) = people.first() else {
            return Ok(false);
        };
        if self
            .store
            .replied_since(mobile, template, now - REPLY_QUIET)
            .await?
        {
            return Ok(false);
        }
        let template = TemplateName::parse(template).expect("reply template names are valid");
        let rendered = self
            .planner
            .render(&template, person, None, &Variables::new())?;
        let message = NewMessage {
            id: MessageId::new(),
            org_id: person.org_id,
            person_id: person.id,
            origin: MessageOrigin::Reply {
                inbound_id: inbound.id.clone(),
            },
            dedupe_key: format!("reply/{}/{}", inbound.id, template.as_str()),
            template,
            language: rendered.language_used,
            body: MessageBody::new(rendered.text),
            mobile: mobile.clone(),
            due_at: now,
            send_at: now,
            expires_at: now + REPLY_LIFETIME,
            earliest: None,
            priority: 0,
            goal: None,
        };
        let reason = "an answer to the person's own text".to_owned();
        let changes = PlanChanges {
            create: vec![(message, MessageState::Pending, reason)],
            ..Default::default()
        };
        self.store.apply_plan(&changes, now).await?;
        Ok(true)
    }
}

/// The sender as a number, if it is one. Providers give `+447…`, `447…`
/// (Vonage, Notify) or a national form.
fn sender(from: &str) -> Option<PhoneNumber> {
    let from = from.trim();
    let international =
        from.len() > 10 && from.chars().all(|c| c.is_ascii_digit()) && !from.starts_with('0');
    let candidate = if international {
        format!("+{from}")
    } else {
        from.to_owned()
    };
    PhoneNumber::parse(&candidate).ok()
}

#[cfg(test)]
mod tests {
    use super::sender;

    #[test]
    fn senders_are_read_in_the_forms_providers_use() {
        for from in ["+447400123456", "447400123456", "07400123456"] {
            assert_eq!(sender(from).unwrap().as_e164(), "+447400123456", "{from}");
        }
        assert!(sender("NHS").is_none());
    }
}
