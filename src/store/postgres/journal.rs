//! The import journal in PostgreSQL (see `store::journal`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::domain::{ImportRunId, OrgId};
use crate::store::journal::{RUN_COLUMNS, run_from_row};
use crate::store::{ImportJournal, ImportRun, StoreError};

#[async_trait]
impl ImportJournal for PostgresStore {
    async fn open_import(&self, run: &ImportRun) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(&format!(
            "INSERT INTO import_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(run.id.to_string())
        .bind(run.org_id.to_string())
        .bind(run.kind)
        .bind(run.actor.kind())
        .bind(run.actor.token_id().map(|t| t.to_string()))
        .bind(i64::try_from(run.rows_total).unwrap_or(i64::MAX))
        .bind(i64::try_from(run.rows_written).unwrap_or(i64::MAX))
        .bind(run.started_at)
        .bind(run.heartbeat_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn beat_import(
        &self,
        id: ImportRunId,
        rows_written: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE import_runs SET heartbeat_at = $1, rows_written = GREATEST(rows_written, $2) \
             WHERE id = $3 AND finished_at IS NULL",
        )
        .bind(now)
        .bind(i64::try_from(rows_written).unwrap_or(i64::MAX))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close_import(&self, id: ImportRunId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let closed = sqlx::query(
            "UPDATE import_runs SET finished_at = $1 WHERE id = $2 AND finished_at IS NULL",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(closed.rows_affected() == 1)
    }

    async fn open_imports(&self, org: Option<OrgId>) -> Result<Vec<ImportRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM import_runs WHERE finished_at IS NULL \
             AND ($1::text IS NULL OR org_id = $1) ORDER BY started_at, id"
        );
        let org = org.map(|o| o.to_string());
        let rows = sqlx::query(&sql).bind(org).fetch_all(&self.pool).await?;
        rows.iter().map(run_from_row).collect()
    }
}
