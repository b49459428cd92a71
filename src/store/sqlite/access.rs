//! Token management and the audit trail in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use crate::domain::{ApiToken, AuditEntry, AuditId, NewAuditEntry, OrgId, TokenId};
use crate::store::access::{AUDIT_COLUMNS, TOKEN_COLUMNS, audit_from_row, token_from_row};
use crate::store::{AccessStore, AuditFilter, StoreError};

#[async_trait]
impl AccessStore for SqliteStore {
    async fn tokens(&self, org: OrgId) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE org_id = ? ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn token(&self, id: TokenId) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?");
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
        let mut tx = self.write().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? \
             WHERE org_id = ? AND id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() > 0 {
            tx.commit().await?;
            return Ok(Some(true));
        }
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM api_tokens WHERE org_id = ? AND id = ?")
                .bind(org.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        Ok(exists.map(|_| false))
    }

    async fn note_token_used(&self, id: TokenId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = ? \
             WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
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
            at: now,
            actor: entry.actor,
            action: entry.action,
            target: entry.target.clone(),
            detail: entry.detail.clone(),
        };
        let mut tx = self.write().await?;
        sqlx::query(&format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn audit_entries(
        &self,
        org: OrgId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
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
        q.push(" ORDER BY id LIMIT ").push_bind(filter.limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(audit_from_row).collect()
    }
}
