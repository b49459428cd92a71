//! Use case: what staff change in a person's texts, from a page or the API,
//! each change followed by its audit entry. Pages and API handlers call
//! these and nothing lower, so a page can never do what the API forbids and
//! neither can forget the audit trail.

mod changes;

use std::sync::Arc;

pub use changes::TextChanges;

use crate::audit::AuditLog;
use crate::domain::{AuditAction, AuditTarget, Caller, Person, PersonId, Role};
use crate::domain::{Event, EventId, Message, NewEvent, OrgId, UpsertOutcome};
use crate::ingest::input::{EventPatch, PersonPatch};
use crate::ingest::{Ingest, IngestError};
use crate::planner::{NudgeRequest, PlanError, PlanReport, Planned, Planner, ReplyRequest};
use crate::store::{MessageFilter, Store, StoreError};

#[derive(Clone)]
pub struct Actions {
    store: Arc<dyn Store>,
    ingest: Ingest,
    planner: Planner,
    audit: AuditLog,
}

/// Most texts of one person compared before and after a change.
const TEXTS_COMPARED: u32 = 500;

/// What marking an attention item resolved found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Resolved,
    AlreadyResolved,
    NotFound,
}

/// The longest note kept when an item is resolved.
pub const MAX_NOTE: usize = 500;
/// The longest reason kept for adding or removing an opt-out.
pub const MAX_REASON: usize = 500;

/// Why a change to an opt-out was not made.
#[derive(Debug, thiserror::Error)]
pub enum OptOutError {
    #[error("no such person")]
    NoPerson,
    #[error("this person's number is not opted out")]
    NotOptedOut,
    #[error("only an admin may let texts go to a number that opted out")]
    NotAdmin,
    #[error("give a reason, in at most {MAX_REASON} characters")]
    Reason,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Actions {
    pub fn new(store: Arc<dyn Store>, ingest: Ingest, audit: AuditLog) -> Self {
        Self {
            store,
            planner: ingest.planner().clone(),
            ingest,
            audit,
        }
    }

    /// Send a typed reply; a repeated request (same key) is not audited again.
    pub async fn reply(
        &self,
        caller: &Caller,
        request: ReplyRequest,
    ) -> Result<Planned, PlanError> {
        let replied = self.planner.reply(caller.org_id, request).await?;
        if !replied.repeated {
            let m = &replied.message;
            let target = AuditTarget::message(m.person_id, m.id);
            let note = format!(
                "staff reply, {} characters",
                m.body.as_str().chars().count()
            );
            self.audit
                .record_noted(caller, AuditAction::Created, target, note)
                .await?;
        }
        Ok(replied)
    }

    /// Schedule a one-off text (a template or a typed message); a
    /// repeated request (same key) is not audited again.
    pub async fn nudge(
        &self,
        caller: &Caller,
        request: NudgeRequest,
    ) -> Result<Planned, PlanError> {
        let planned = self.planner.nudge(caller.org_id, request).await?;
        if !planned.repeated {
            let m = &planned.message;
            let target = AuditTarget::message(m.person_id, m.id);
            let note = format!("nudge {}", m.template.as_str());
            self.audit
                .record_noted(caller, AuditAction::Created, target, note)
                .await?;
        }
        Ok(planned)
    }

    /// Mark an attention item resolved, with a note (trimmed, at most
    /// [`MAX_NOTE`] characters).
    pub async fn resolve(
        &self,
        caller: &Caller,
        id: &str,
        note: &str,
    ) -> Result<Resolution, StoreError> {
        let now = self.planner.now();
        let by = caller.via.to_string();
        let note: String = note.trim().chars().take(MAX_NOTE).collect();
        let resolved = self
            .store
            .resolve_attention(caller.org_id, id, &by, &note, now)
            .await?;
        match resolved {
            None => Ok(Resolution::NotFound),
            Some(false) => Ok(Resolution::AlreadyResolved),
            Some(true) => {
                let target = AuditTarget::attention(id);
                self.audit
                    .record(caller, AuditAction::Resolved, target)
                    .await?;
                Ok(Resolution::Resolved)
            }
        }
    }

    /// Stop every text to a person's number, at once and until the person
    /// texts START or an admin allows texts again.
    pub async fn stop_texts(
        &self,
        caller: &Caller,
        person: PersonId,
        reason: &str,
    ) -> Result<Person, OptOutError> {
        let reason = checked_reason(reason)?;
        let person = self.person(caller, person).await?;
        let source = format!("staff:{}", caller.via);
        let now = self.planner.now();
        self.store
            .suppress(&person.mobile, &source, &reason, now)
            .await?;
        let target = AuditTarget::opt_out(person.id);
        self.audit
            .record(caller, AuditAction::Created, target)
            .await?;
        Ok(person)
    }

    /// Take a person's number off the opt-out list (admins only, with a
    /// reason): it means texting someone who may have said stop.
    pub async fn allow_texts(
        &self,
        caller: &Caller,
        person: PersonId,
        reason: &str,
    ) -> Result<Person, OptOutError> {
        if caller.role != Role::Admin {
            return Err(OptOutError::NotAdmin);
        }
        let reason = checked_reason(reason)?;
        let person = self.person(caller, person).await?;
        let actor = caller.via.to_string();
        let now = self.planner.now();
        let removed = self
            .store
            .unsuppress(&person.mobile, "staff", &reason, Some(&actor), now)
            .await?;
        if !removed {
            return Err(OptOutError::NotOptedOut);
        }
        let target = AuditTarget::opt_out(person.id);
        self.audit
            .record(caller, AuditAction::Deleted, target)
            .await?;
        Ok(person)
    }

    async fn person(&self, caller: &Caller, id: PersonId) -> Result<Person, OptOutError> {
        let person = self.store.person(caller.org_id, id).await?;
        person.ok_or(OptOutError::NoPerson)
    }

    /// Change a person's name, mobile or language; their texts are planned
    /// again (a new number lifts a pause).
    pub async fn change_person(
        &self,
        caller: &Caller,
        id: PersonId,
        patch: &PersonPatch,
    ) -> Result<Person, IngestError> {
        let person = self.ingest.update_person(caller.org_id, id, patch).await?;
        let target = AuditTarget::person(person.id);
        self.audit
            .record(caller, AuditAction::Updated, target)
            .await?;
        Ok(person)
    }

    /// Add a liberation or an appointment (or update the one with the same
    /// reference), and plan its texts.
    pub async fn add_event(
        &self,
        caller: &Caller,
        person: PersonId,
        event: &NewEvent,
    ) -> Result<(Event, UpsertOutcome), IngestError> {
        let (event, outcome) = self
            .ingest
            .upsert_event(caller.org_id, person, event)
            .await?;
        let target = AuditTarget::event(person, event.id);
        self.audit.record_upsert(caller, outcome, target).await?;
        Ok((event, outcome))
    }

    /// Move or cancel an event; its texts are planned again.
    pub async fn change_event(
        &self,
        caller: &Caller,
        person: PersonId,
        id: EventId,
        patch: &EventPatch,
    ) -> Result<Event, IngestError> {
        let event = self
            .ingest
            .update_event(caller.org_id, person, id, patch)
            .await?;
        let action = if event.detail.is_cancelled() {
            AuditAction::Cancelled
        } else {
            AuditAction::Updated
        };
        let target = AuditTarget::event(person, event.id);
        self.audit.record(caller, action, target).await?;
        Ok(event)
    }

    /// Record a goal the person reached: texts serving it are cancelled.
    pub async fn record_outcome(
        &self,
        caller: &Caller,
        person: PersonId,
        goal: &str,
    ) -> Result<PlanReport, PlanError> {
        let report = self
            .planner
            .record_outcome(caller.org_id, person, goal)
            .await?;
        let target = AuditTarget::outcome(person, goal);
        let note = format!("{} texts cancelled", report.cancelled);
        self.audit
            .record_noted(caller, AuditAction::Created, target, note)
            .await?;
        Ok(report)
    }

    /// Make `change` to a person's case and say what it did to their texts:
    /// their texts are read before and after, for the pages, which show
    /// it; the API, which does not, calls the change alone.
    pub async fn tracking_texts<T, E: From<StoreError>>(
        &self,
        org: OrgId,
        person: PersonId,
        change: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<(T, TextChanges), E> {
        let before = self.texts(org, person).await?;
        let done = change.await?;
        let after = self.texts(org, person).await?;
        Ok((done, TextChanges::between(&before, &after)))
    }

    async fn texts(&self, org: OrgId, person: PersonId) -> Result<Vec<Message>, StoreError> {
        let filter = MessageFilter {
            person: Some(person),
            state: None,
            from: None,
            to: None,
            limit: TEXTS_COMPARED,
        };
        self.store.messages(org, &filter).await
    }
}

fn checked_reason(reason: &str) -> Result<String, OptOutError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(OptOutError::Reason);
    }
    Ok(reason.to_owned())
}
