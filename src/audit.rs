//! Recording the audit trail: one call after each change.
//!
//! Every changing `/v1` endpoint, the operator's changing commands and any
//! job that deletes personal data call [`AuditLog::record`] (or
//! [`AuditLog::record_as`]) once its change has succeeded. The time comes
//! from the app's [`Clock`], so tests can check it. A new endpoint records
//! with one line, after its change:
//!
//! ```ignore
//! state.audit.record(&caller, AuditAction::Exported, AuditTarget::person(id)).await?;
//! ```
//!
//! An entry is written right after the change it records, not inside the
//! change's own transaction: that keeps every store method free of audit
//! plumbing. If the entry cannot be written the request answers 500 (and the
//! failure is logged), so a missing entry is never silent.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::{
    Actor, AuditAction, AuditEntry, AuditTarget, Caller, NewAuditEntry, OrgId, UpsertOutcome,
};
use crate::store::{Store, StoreError};

/// Where changes are recorded.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl AuditLog {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Record that an API caller did `action` to `target` in their own
    /// organisation, now.
    pub async fn record(
        &self,
        caller: &Caller,
        action: AuditAction,
        target: AuditTarget,
    ) -> Result<AuditEntry, StoreError> {
        self.record_as(Actor::from(caller), caller.org_id, action, target, None)
            .await
    }

    /// Record an upsert as created or updated; an unchanged one changed
    /// nothing, so it is not recorded.
    pub async fn record_upsert(
        &self,
        caller: &Caller,
        outcome: UpsertOutcome,
        target: AuditTarget,
    ) -> Result<(), StoreError> {
        let action = match outcome {
            UpsertOutcome::Created => AuditAction::Created,
            UpsertOutcome::Updated => AuditAction::Updated,
            UpsertOutcome::Unchanged => return Ok(()),
        };
        self.record(caller, action, target).await.map(|_| ())
    }

    /// [`record`](Self::record) with a short note. The note must hold no
    /// personal data: counts, goal or template names, never a name, a
    /// number or a text.
    pub async fn record_noted(
        &self,
        caller: &Caller,
        action: AuditAction,
        target: AuditTarget,
        note: String,
    ) -> Result<AuditEntry, StoreError> {
        let actor = Actor::from(caller);
        self.record_as(actor, caller.org_id, action, target, Some(note))
            .await
    }

    /// Record a change made by the command line or the daemon itself.
    pub async fn record_as(
        &self,
        actor: Actor,
        org: OrgId,
        action: AuditAction,
        target: AuditTarget,
        detail: Option<String>,
    ) -> Result<AuditEntry, StoreError> {
        let entry = NewAuditEntry {
            org_id: org,
            actor,
            action,
            target,
            detail,
        };
        self.store.record_audit(&entry, self.clock.now()).await
    }

    /// The time the next entry would be stamped with.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
