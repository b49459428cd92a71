//! The import journal: a durable note that an import is under way.
//!
//! An import writes its rows a batch per transaction, then plans their
//! texts, then records itself on the audit trail. A crash between those
//! steps would leave people and events stored with no texts planned and no
//! audit entry, and a re-import of the same file would find nothing
//! changed. So an import opens a run here before its first row and closes
//! it after its audit entry; a run left open is how start-up, the sweep and
//! the next import find what an interrupted import wrote (see
//! `ingest::journal`). Only counts and ids are kept, never a row.
//!
//! One body for both backends: [`import_journal!`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::StoreError;
use super::rows::{optional, parsed};
use crate::domain::{Actor, ImportRunId, OrgId, TokenId, UserId};

/// One import, as the journal knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRun {
    pub id: ImportRunId,
    pub org_id: OrgId,
    /// `releases` or `appointments`.
    pub kind: &'static str,
    pub actor: Actor,
    /// Good rows in the file.
    pub rows_total: u64,
    /// Rows committed so far (at least this many, after a crash).
    pub rows_written: u64,
    pub started_at: DateTime<Utc>,
    /// When the importer last said it was alive.
    pub heartbeat_at: DateTime<Utc>,
}

#[async_trait]
pub trait ImportJournal: Send + Sync + 'static {
    /// Note that `run` has started; committed before its first row is.
    async fn open_import(&self, run: &ImportRun) -> Result<(), StoreError>;
    /// The importer is alive and has committed `rows_written` rows.
    async fn beat_import(
        &self,
        id: ImportRunId,
        rows_written: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Close a run; `false` if it was already closed (by its importer or
    /// by a recovery), so only one of them records it.
    async fn close_import(&self, id: ImportRunId, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Runs not yet closed, oldest first; of one organisation, or all.
    async fn open_imports(&self, org: Option<OrgId>) -> Result<Vec<ImportRun>, StoreError>;
}

pub(super) const RUN_COLUMNS: &str = "id, org_id, kind, actor, token_id, user_id, rows_total, rows_written, started_at, heartbeat_at";

/// The stored name of an import's kind, as the journal's CHECK allows.
pub(super) fn kind_name(kind: &str) -> Result<&'static str, StoreError> {
    match kind {
        "releases" => Ok("releases"),
        "appointments" => Ok("appointments"),
        other => Err(StoreError::Corrupt(format!("import_runs.kind: {other:?}"))),
    }
}

pub(super) fn run_from_row<R>(row: &R) -> Result<ImportRun, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let actor: String = row.try_get("actor")?;
    let token = optional(row, "token_id", str::parse::<TokenId>)?;
    let user = optional(row, "user_id", str::parse::<UserId>)?;
    let kind: String = row.try_get("kind")?;
    let count = |column: &str| -> Result<u64, StoreError> {
        let n: i64 = row.try_get(column)?;
        u64::try_from(n).map_err(|e| StoreError::Corrupt(format!("import_runs.{column}: {e}")))
    };
    Ok(ImportRun {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        kind: kind_name(&kind)?,
        actor: Actor::from_stored(&actor, token, user).map_err(StoreError::Corrupt)?,
        rows_total: count("rows_total")?,
        rows_written: count("rows_written")?,
        started_at: row.try_get("started_at")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
    })
}

/// The one body of [`ImportJournal`], instantiated per backend (see the
/// `store` module header).
macro_rules! import_journal {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ImportJournal for $store {
            async fn open_import(
                &self,
                run: &$crate::store::ImportRun,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::journal::RUN_COLUMNS;
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                let mut tx = self.write().await?;
                sqlx::query(&format!(
                    "INSERT INTO import_runs ({RUN_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(run.id.to_string())
                .bind(run.org_id.to_string())
                .bind(run.kind)
                .bind(run.actor.kind())
                .bind(run.actor.token_id().map(|t| t.to_string()))
                .bind(run.actor.user_id().map(|u| u.to_string()))
                .bind(count(run.rows_total))
                .bind(count(run.rows_written))
                .bind(run.started_at)
                .bind(run.heartbeat_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn beat_import(
                &self,
                id: $crate::domain::ImportRunId,
                rows_written: u64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                // A heartbeat without a count (0) never lowers the count.
                sqlx::query(
                    "UPDATE import_runs SET heartbeat_at = $1, rows_written = \
                     CASE WHEN rows_written > $2 THEN rows_written ELSE $2 END \
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

            async fn close_import(
                &self,
                id: $crate::domain::ImportRunId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let closed = sqlx::query(
                    "UPDATE import_runs SET finished_at = $1 \
                     WHERE id = $2 AND finished_at IS NULL",
                )
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(closed.rows_affected() == 1)
            }

            async fn open_imports(
                &self,
                org: Option<$crate::domain::OrgId>,
            ) -> Result<Vec<$crate::store::ImportRun>, $crate::store::StoreError> {
                use $crate::store::journal::{RUN_COLUMNS, run_from_row};
                let sql = format!(
                    "SELECT {RUN_COLUMNS} FROM import_runs WHERE finished_at IS NULL \
                     AND (CAST($1 AS TEXT) IS NULL OR org_id = $1) ORDER BY started_at, id"
                );
                let rows = sqlx::query(&sql)
                    .bind(org.map(|o| o.to_string()))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(run_from_row).collect()
            }
        }
    };
}
pub(super) use import_journal;
