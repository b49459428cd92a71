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

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::StoreError;
use super::rows::{optional, parsed};
use crate::domain::{Actor, ImportRunId, OrgId, TokenId};

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

pub(super) const RUN_COLUMNS: &str =
    "id, org_id, kind, actor, token_id, rows_total, rows_written, started_at, heartbeat_at";

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
    let kind: String = row.try_get("kind")?;
    let count = |column: &str| -> Result<u64, StoreError> {
        let n: i64 = row.try_get(column)?;
        u64::try_from(n).map_err(|e| StoreError::Corrupt(format!("import_runs.{column}: {e}")))
    };
    Ok(ImportRun {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        kind: kind_name(&kind)?,
        actor: Actor::from_stored(&actor, token).map_err(StoreError::Corrupt)?,
        rows_total: count("rows_total")?,
        rows_written: count("rows_written")?,
        started_at: row.try_get("started_at")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
    })
}
