//! Use case: what staff change in a person's texts, from a page or the API,
//! each change followed by its audit entry. Pages and API handlers call
//! these and nothing lower, so a page can never do what the API forbids and
//! neither can forget the audit trail.

use std::sync::Arc;

use crate::audit::AuditLog;
use crate::domain::{AuditAction, AuditTarget, Caller};
use crate::planner::{PlanError, Planner, Replied, ReplyRequest};
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct Actions {
    store: Arc<dyn Store>,
    planner: Planner,
    audit: AuditLog,
}

/// What marking an attention item resolved found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Resolved,
    AlreadyResolved,
    NotFound,
}

/// The longest note kept when an item is resolved.
pub const MAX_NOTE: usize = 500;

impl Actions {
    pub fn new(store: Arc<dyn Store>, planner: Planner, audit: AuditLog) -> Self {
        Self {
            store,
            planner,
            audit,
        }
    }

    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// Send a typed reply; a repeated request (same key) is not audited again.
    pub async fn reply(&self, caller: &Caller, request: ReplyRequest) -> Result<Replied, PlanError> {
        let replied = self.planner.reply(caller.org_id, request).await?;
        if !replied.repeated {
            let m = &replied.message;
            let target = AuditTarget::message(m.person_id, m.id);
            let note = format!("staff reply, {} characters", m.body.as_str().chars().count());
            self.audit
                .record_noted(caller, AuditAction::Created, target, note)
                .await?;
        }
        Ok(replied)
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
}
