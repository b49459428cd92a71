//! Imports that are finished even when the process doing them dies.
//!
//! An import opens a run in the store's import journal before its first
//! row, keeps it alive with a heartbeat while it works, and closes it only
//! after its texts are planned and its audit entry is written. A run still
//! open is an import that may have died part-way: its rows are committed
//! (a batch per transaction) but their texts may be unplanned, which could
//! miss a liberation-morning text until the next sweep.
//!
//! [`Ingest::recover_interrupted`] plans every open run's events (planning
//! is idempotent, so doing it for an import that is in fact still alive is
//! harmless) and closes, with an audit entry, the runs whose heartbeat
//! stopped more than [`LEASE`] ago. It runs at start-up, again once the
//! lease of anything left open has run out, at every sweep, and before each
//! import of the same organisation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::{ImportError, Ingest};
use crate::domain::{Actor, AuditAction, AuditTarget, ImportRunId, OrgId};
use crate::store::{ImportRun, StoreError};

/// How often a running import says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(3);
/// A run silent this long has lost its importer.
pub const LEASE: Duration = Duration::from_secs(15);

/// Keeps a run's heartbeat going until dropped.
pub(super) struct Heartbeat(JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Ingest {
    /// Open a run in the journal, committed before any row is written.
    pub(super) async fn open_run(
        &self,
        org: OrgId,
        kind: &'static str,
        actor: Actor,
        rows_total: usize,
    ) -> Result<(ImportRun, Heartbeat), StoreError> {
        let now = self.clock.now();
        let run = ImportRun {
            id: ImportRunId::new(),
            org_id: org,
            kind,
            actor,
            rows_total: rows_total as u64,
            rows_written: 0,
            started_at: now,
            heartbeat_at: now,
        };
        self.store.open_import(&run).await?;
        let (store, clock, id) = (self.store.clone(), self.clock.clone(), run.id);
        let beat = tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                if let Err(e) = store.beat_import(id, 0, clock.now()).await {
                    tracing::warn!(error = %e, "import heartbeat failed");
                }
            }
        });
        Ok((run, Heartbeat(beat)))
    }

    /// Plan what interrupted imports wrote and put the abandoned ones on the
    /// audit trail; of one organisation, or all. How many runs it closed.
    pub async fn recover_interrupted(&self, org: Option<OrgId>) -> Result<usize, ImportError> {
        let runs = self
            .store
            .open_imports(org)
            .await
            .map_err(ImportError::store_after(0))?;
        let mut closed = 0;
        for run in runs {
            let planned = self
                .planner
                .plan_changed(run.org_id, run.started_at)
                .await?;
            if !abandoned(&run, self.clock.now()) {
                continue;
            }
            let note = format!(
                "interrupted before it finished: at least {} of the file's {} rows were saved; \
                 on recovery {} texts were planned for them",
                run.rows_written, run.rows_total, planned.created
            );
            if self.close_run(&run, note).await? {
                tracing::warn!(
                    kind = run.kind,
                    rows = run.rows_written,
                    "interrupted import recovered"
                );
                closed += 1;
            }
        }
        Ok(closed)
    }

    /// Record the run on the audit trail, then close it; `false` if someone
    /// else closed it first (nothing recorded then). The entry is written
    /// first: a crash between the two repeats an entry rather than losing it.
    pub(super) async fn close_run(
        &self,
        run: &ImportRun,
        note: String,
    ) -> Result<bool, ImportError> {
        let fail = ImportError::store_after(run.rows_written as usize);
        let still_open = self
            .store
            .open_imports(Some(run.org_id))
            .await
            .map_err(fail)?;
        if !still_open.iter().any(|r| r.id == run.id) {
            return Ok(false);
        }
        let target = AuditTarget::import(run.kind);
        self.audit
            .record_as(
                run.actor,
                run.org_id,
                AuditAction::Imported,
                target,
                Some(note),
            )
            .await
            .map_err(fail)?;
        self.store
            .close_import(run.id, self.clock.now())
            .await
            .map_err(fail)
    }
}

fn abandoned(run: &ImportRun, now: DateTime<Utc>) -> bool {
    (now - run.heartbeat_at)
        .to_std()
        .is_ok_and(|silent| silent > LEASE)
}
