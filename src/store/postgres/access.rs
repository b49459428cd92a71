//! Token management and the audit trail in PostgreSQL.
//!
//! Revocation and "last used" are single conditional updates, so daemons
//! doing either at once cannot undo each other: a revoked token stays
//! revoked at its first time, and a last-used time only moves forward.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use super::PostgresStore;
use super::rows::stored;
use crate::domain::{ApiToken, AuditEntry, AuditId, NewAuditEntry, OrgId, TokenId};
use crate::store::access::{AUDIT_COLUMNS, TOKEN_COLUMNS, audit_from_row, token_from_row};
use crate::store::{AccessStore, AuditFilter, StoreError};

#[async_trait]
impl AccessStore for PostgresStore {
    async fn tokens(&self, org: OrgId) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE org_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn token(&self, id: TokenId) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn revoke_token(
        &self,
        org: OrgId,
        id: TokenId,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError> {
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        if revoked.rows_affected() > 0 {
            return Ok(Some(true));
        }
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM api_tokens WHERE org_id = $1 AND id = $2")
                .bind(org.to_string())
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(exists.map(|_| false))
    }

    async fn note_token_used(&self, id: TokenId, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 \
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_audit(
        &self,
        entry: &NewAuditEntry,
        now: DateTime<Utc>,
    ) -> Result<AuditEntry, StoreError> {
        let stored = AuditEntry {
            id: AuditId::new(),
            org_id: entry.org_id,
            at: stored(now),
            actor: entry.actor,
            action: entry.action,
            target: entry.target.clone(),
            detail: entry.detail.clone(),
        };
        sqlx::query(&format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(stored.id.to_string())
        .bind(stored.org_id.to_string())
        .bind(now)
        .bind(stored.actor.kind())
        .bind(stored.actor.token_id().map(|t| t.to_string()))
        .bind(stored.action.as_str())
        .bind(stored.target.kind.as_str())
        .bind(&stored.target.id)
        .bind(stored.target.person_id.map(|p| p.to_string()))
        .bind(stored.detail.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(stored)
    }

    async fn audit_entries(
        &self,
        org: OrgId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
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
        q.push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(audit_from_row).collect()
    }
}
