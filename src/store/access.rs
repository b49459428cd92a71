//! Tokens as an admin manages them, and the audit trail: the trait, its row
//! readers, and its one body for both backends ([`access_store!`]).
//!
//! Revocation and "last used" are single conditional updates, so daemons
//! doing either at once cannot undo each other: a revoked token stays
//! revoked at its first time, and a last-used time only moves forward.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::StoreError;
use super::rows::{optional, parsed};
use crate::domain::{
    Actor, ApiToken, AuditAction, AuditEntry, AuditId, AuditTarget, NewAuditEntry, OrgId, PersonId,
    TargetKind, TokenId, UserId,
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
    "id, org_id, at, actor, token_id, user_id, action, target_kind, target_id, person_id, detail";

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
    let user = optional(row, "user_id", str::parse::<UserId>)?;
    let actor = Actor::from_stored(&kind, token, user).map_err(StoreError::Corrupt)?;
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

/// The one body of [`AccessStore`], instantiated per backend (see the
/// `store` module header): `$store` is the store type, `$db` its
/// `sqlx::Database`, and the expansion site must have a `dialect` module.
macro_rules! access_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::AccessStore for $store {
            async fn tokens(
                &self,
                org: $crate::domain::OrgId,
            ) -> Result<Vec<$crate::domain::ApiToken>, $crate::store::StoreError> {
                use $crate::store::access::{TOKEN_COLUMNS, token_from_row};
                let sql = format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE org_id = $1 ORDER BY created_at, id"
                );
                let rows = sqlx::query(&sql)
                    .bind(org.to_string())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(token_from_row).collect()
            }

            async fn token(
                &self,
                id: $crate::domain::TokenId,
            ) -> Result<Option<$crate::domain::ApiToken>, $crate::store::StoreError> {
                use $crate::store::access::{TOKEN_COLUMNS, token_from_row};
                let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
                let row = sqlx::query(&sql)
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(token_from_row).transpose()
            }

            async fn revoke_token(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::TokenId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<bool>, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let revoked = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 \
                     WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(org.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                let exists: Option<i32> =
                    sqlx::query_scalar("SELECT 1 FROM api_tokens WHERE org_id = $1 AND id = $2")
                        .bind(org.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(exists.map(|_| revoked.rows_affected() > 0))
            }

            async fn note_token_used(
                &self,
                id: $crate::domain::TokenId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $1 \
                     WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
                )
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn record_audit(
                &self,
                entry: &$crate::domain::NewAuditEntry,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::domain::AuditEntry, $crate::store::StoreError> {
                use $crate::store::access::AUDIT_COLUMNS;
                let stored = $crate::domain::AuditEntry {
                    id: $crate::domain::AuditId::new(),
                    org_id: entry.org_id,
                    at: dialect::stored(now),
                    actor: entry.actor,
                    action: entry.action,
                    target: entry.target.clone(),
                    detail: entry.detail.clone(),
                };
                let mut tx = self.write().await?;
                sqlx::query(&format!(
                    "INSERT INTO audit_log ({AUDIT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ))
                .bind(stored.id.to_string())
                .bind(stored.org_id.to_string())
                .bind(now)
                .bind(stored.actor.kind())
                .bind(stored.actor.token_id().map(|t| t.to_string()))
                .bind(stored.actor.user_id().map(|u| u.to_string()))
                .bind(stored.action.as_str())
                .bind(stored.target.kind.as_str())
                .bind(&stored.target.id)
                .bind(stored.target.person_id.map(|p| p.to_string()))
                .bind(stored.detail.as_deref())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(stored)
            }

            async fn audit_entries(
                &self,
                org: $crate::domain::OrgId,
                filter: &$crate::store::AuditFilter,
            ) -> Result<Vec<$crate::domain::AuditEntry>, $crate::store::StoreError> {
                use $crate::store::access::{AUDIT_COLUMNS, audit_from_row};
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE org_id = "
                ));
                q.push_bind(org.to_string());
                if let Some(from) = filter.from {
                    q.push(" AND at >= ").push_bind(from);
                }
                if let Some(to) = filter.to {
                    q.push(" AND at < ").push_bind(to);
                }
                if let Some(action) = filter.action {
                    q.push(" AND action = ").push_bind(action.as_str());
                }
                if let Some(kind) = filter.target_kind {
                    q.push(" AND target_kind = ").push_bind(kind.as_str());
                }
                if let Some(id) = &filter.target_id {
                    q.push(" AND target_id = ").push_bind(id.clone());
                }
                if let Some(person) = filter.person {
                    q.push(" AND person_id = ").push_bind(person.to_string());
                }
                if let Some(after) = filter.after {
                    q.push(" AND id > ").push_bind(after.to_string());
                }
                q.push(" ORDER BY id LIMIT ").push_bind(i64::from(filter.limit));
                let rows = q.build().fetch_all(&self.pool).await?;
                rows.iter().map(audit_from_row).collect()
            }
        }
    };
}
pub(super) use access_store;
