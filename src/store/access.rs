//! Tokens as an admin manages them, and the audit trail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{
    ApiToken, AuditAction, AuditEntry, AuditId, NewAuditEntry, OrgId, PersonId, TargetKind, TokenId,
};

/// Which audit entries a listing shows: one organisation's, oldest first,
/// a page at a time.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub to: Option<DateTime<Utc>>,
    pub action: Option<AuditAction>,
    pub target_kind: Option<TargetKind>,
    pub target_id: Option<String>,
    /// Entries about this person's data, whatever their kind.
    pub person: Option<PersonId>,
    /// Entries recorded after this one.
    pub after: Option<AuditId>,
    pub limit: u32,
}

#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// An organisation's tokens, oldest first, revoked ones included.
    async fn tokens(&self, org: OrgId) -> Result<Vec<ApiToken>, StoreError>;
    /// A token in any organisation: for the operator's command line only.
    async fn token(&self, id: TokenId) -> Result<Option<ApiToken>, StoreError>;
    /// Revoke a token: `None` if `org` has no such token, `Some(false)` if it
    /// was revoked already. From then on it authenticates nothing.
    async fn revoke_token(
        &self,
        org: OrgId,
        id: TokenId,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError>;
    /// Note that a token was used at `now`; never moves the time back.
    async fn note_token_used(&self, id: TokenId, now: DateTime<Utc>) -> Result<(), StoreError>;

    async fn record_audit(
        &self,
        entry: &NewAuditEntry,
        now: DateTime<Utc>,
    ) -> Result<AuditEntry, StoreError>;
    /// One organisation's entries, in the order they were recorded.
    async fn audit_entries(
        &self,
        org: OrgId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
