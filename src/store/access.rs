//! Tokens as an admin manages them, and the audit trail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::StoreError;
use super::rows::{optional, parsed};
use crate::domain::{
    Actor, ApiToken, AuditAction, AuditEntry, AuditId, AuditTarget, NewAuditEntry, OrgId, PersonId,
    TargetKind, TokenId,
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

pub(super) const TOKEN_COLUMNS: &str =
    "id, org_id, role, label, created_at, last_used_at, revoked_at";
pub(super) const AUDIT_COLUMNS: &str =
    "id, org_id, at, actor, token_id, action, target_kind, target_id, person_id, detail";

pub(super) fn token_from_row<R>(row: &R) -> Result<ApiToken, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    Ok(ApiToken {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        role: parsed(row, "role")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn audit_from_row<R>(row: &R) -> Result<AuditEntry, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let kind: String = row.try_get("actor")?;
    let token = optional(row, "token_id", str::parse::<TokenId>)?;
    let actor = Actor::from_stored(&kind, token).map_err(StoreError::Corrupt)?;
    Ok(AuditEntry {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        at: row.try_get("at")?,
        actor,
        action: parsed(row, "action")?,
        target: AuditTarget {
            kind: parsed(row, "target_kind")?,
            id: row.try_get("target_id")?,
            person_id: optional(row, "person_id", str::parse::<PersonId>)?,
        },
        detail: row.try_get("detail")?,
    })
}
