//! What Homeward keeps about a person, for how long, and what they may ask
//! for: a copy of everything held about them (export), erasure, and the
//! retention sweep that deletes personal data nobody needs any more.
//!
//! What outlives a person, and why: the opt-out list keeps a keyed hash of
//! the number (so a STOP is honoured for good, even if the number is loaded
//! again), and texts are counted into anonymous daily statistics.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::domain::{
    Actor, AttentionItem, AuditAction, AuditTarget, Event, Inbound, Message, OrgId, Person,
    PersonId, Transition,
};
use crate::store::{AttentionQuery, Erased, MessageFilter, Store, StoreError};

/// People retired per store call, so one sweep never holds a long write.
const RETENTION_BATCH: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("no such person")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything held about one person.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectExport {
    pub exported_at: DateTime<Utc>,
    pub person: Person,
    pub events: Vec<Event>,
    pub messages: Vec<MessageRecord>,
    pub replies: Vec<Inbound>,
    pub goals_reached: Vec<String>,
    pub opt_out: Option<OptOutRecord>,
    pub attention: Vec<AttentionItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageRecord {
    #[serde(flatten)]
    pub message: Message,
    pub history: Vec<Transition>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OptOutRecord {
    pub since: DateTime<Utc>,
    pub source: String,
    pub reason: String,
}

/// What an erasure removed and what it kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erasure {
    pub erased: Erased,
    pub kept: Vec<Kept>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Kept {
    pub what: &'static str,
    pub why: &'static str,
}

/// What one retention sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    pub people: u64,
    pub messages: u64,
    pub unmatched_replies: u64,
}

#[derive(Clone)]
pub struct Privacy {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    keep_for: chrono::Duration,
}

impl Privacy {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, keep_for: chrono::Duration) -> Self {
        Self {
            audit: AuditLog::new(store.clone(), clock.clone()),
            store,
            clock,
            keep_for,
        }
    }

    pub async fn export(&self, org: OrgId, id: PersonId) -> Result<SubjectExport, PrivacyError> {
        let store = &self.store;
        let person = store.person(org, id).await?.ok_or(PrivacyError::NotFound)?;
        let filter = MessageFilter {
            person: Some(id),
            state: None,
            from: None,
            to: None,
            limit: u32::MAX,
        };
        let mut messages = Vec::new();
        for message in store.messages(org, &filter).await? {
            let history = store.transitions(message.id).await?;
            messages.push(MessageRecord { message, history });
        }
        let opt_out = store
            .suppression(&person.mobile)
            .await?
            .map(|s| OptOutRecord {
                since: s.since,
                source: s.source,
                reason: s.reason,
            });
        let goals_reached = store
            .goals_reached(&[id])
            .await?
            .into_iter()
            .map(|(_, goal)| goal)
            .collect();
        let attention = store.attention(org, &AttentionQuery::of_person(id)).await?;
        Ok(SubjectExport {
            exported_at: self.clock.now(),
            events: store.events(org, id).await?,
            replies: store.inbound_for_person(org, id).await?,
            person,
            messages,
            goals_reached,
            opt_out,
            attention,
        })
    }

    pub async fn erase(&self, org: OrgId, id: PersonId) -> Result<Erasure, PrivacyError> {
        let erased = self
            .store
            .erase_person(org, id)
            .await?
            .ok_or(PrivacyError::NotFound)?;
        Ok(Erasure {
            erased,
            kept: kept(),
        })
    }

    /// Delete the personal data of everyone past the retention period.
    pub async fn retire_expired(&self) -> Result<RetentionReport, StoreError> {
        let cutoff = self.clock.now() - self.keep_for;
        let mut report = RetentionReport::default();
        loop {
            let due = self
                .store
                .people_past_retention(cutoff, RETENTION_BATCH)
                .await?;
            for (org, id) in &due {
                if let Some(erased) = self.store.erase_person(*org, *id).await? {
                    report.people += 1;
                    report.messages += erased.messages;
                    let note = format!(
                        "retention: {} days after the last event",
                        self.keep_for.num_days()
                    );
                    let target = AuditTarget::person(*id);
                    self.audit
                        .record_as(
                            Actor::System,
                            *org,
                            AuditAction::Deleted,
                            target,
                            Some(note),
                        )
                        .await?;
                }
            }
            if (due.len() as u32) < RETENTION_BATCH {
                break;
            }
        }
        report.unmatched_replies = self.store.purge_unmatched_inbound(cutoff).await?;
        Ok(report)
    }
}

fn kept() -> Vec<Kept> {
    vec![
        Kept {
            what: "a keyed hash of the phone number on the opt-out list, if the number opted out (the reasons given for it are blanked)",
            why: "so that a STOP is honoured for good, even if the number is loaded again; the number cannot be read back from it",
        },
        Kept {
            what: "counts of texts by day, rule, template and outcome",
            why: "service statistics; they name no person",
        },
        Kept {
            what: "audit entries naming the person's id",
            why: "a record of who created, changed, exported or erased the data; they hold no number, name or text",
        },
    ]
}
