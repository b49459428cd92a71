//! Ingest: people and their events coming in through the API or CSV files.
//!
//! Input is parsed into domain values at the edge (see [`input`]); this
//! module applies it to the store. Writes are upserts keyed by the caller's
//! own references, so sending the same record twice changes nothing.

pub mod csv_file;
pub mod input;
mod journal;
mod upload;

pub use journal::LEASE as IMPORT_LEASE;
pub use upload::{HeldUploads, UploadCheck, UploadError};

use std::io::Read;
use std::sync::Arc;

use chrono_tz::Tz;
use serde::Serialize;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{
    Actor, Event, EventId, ImportRunId, MobilePolicy, NewEvent, NewPerson, OrgId, Person, PersonId,
    UpsertOutcome,
};
use crate::planner::{PlanError, PlanReport, Planner};
use crate::store::{ImportOutcome, Store, StoreError};
use csv_file::{FileError, ImportKind, RowProblem};
use input::{EventPatch, FieldError, PersonInput, PersonPatch};

/// Rows written per transaction: large enough to be fast, small enough that
/// the daemon's own writes are not held up for long behind an import.
const IMPORT_BATCH: usize = 1000;

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the change was saved, but planning its texts failed: {0}")]
    Plan(#[from] PlanError),
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{written} rows were saved before the database failed")]
    Store { written: usize, source: StoreError },
    #[error("the rows were saved, but planning their texts failed: {0}")]
    Plan(#[from] PlanError),
    #[error("nothing was saved: the texts could not be previewed: {0}")]
    Preview(PlanError),
}

impl ImportError {
    /// The store failed after `written` rows of the import were saved.
    fn store_after(written: usize) -> impl Fn(StoreError) -> Self + Copy {
        move |source| Self::Store { written, source }
    }
}

/// What an import did, row by row.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub problems: Vec<RowProblem>,
    /// What planning did with the imported events.
    pub planned: PlanReport,
}

impl ImportSummary {
    /// The counts, for the audit trail and the command line.
    pub fn counts(&self) -> String {
        format!(
            "{} created, {} updated, {} unchanged, {} rejected",
            self.created, self.updated, self.unchanged, self.rejected
        )
    }

    fn count(&mut self, outcome: UpsertOutcome) {
        match outcome {
            UpsertOutcome::Created => self.created += 1,
            UpsertOutcome::Updated => self.updated += 1,
            UpsertOutcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// Told how an import is going, e.g. to draw a progress bar.
pub trait ImportProgress: Send + Sync {
    /// The file's rows, once it has been read as CSV.
    fn rows_total(&self, _rows: u64) {}
    /// Rows dealt with so far, written or refused.
    fn rows_done(&self, _rows: u64) {}
}

/// No progress display.
pub struct Quiet;
impl ImportProgress for Quiet {}

#[derive(Clone)]
pub struct Ingest {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    zone: Tz,
    mobiles: MobilePolicy,
    planner: Planner,
    audit: AuditLog,
    /// Files checked on the upload page, waiting to be confirmed.
    uploads: Arc<HeldUploads>,
}

impl Ingest {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        planner: Planner,
        settings: &Settings,
    ) -> Self {
        let audit = AuditLog::new(store.clone(), clock.clone());
        Self {
            store,
            clock,
            zone: settings.time.zone,
            mobiles: settings.ingest.mobiles(),
            planner,
            audit,
            uploads: Arc::default(),
        }
    }

    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// Which numbers Homeward may text (`ingest.allowed_regions`).
    pub fn mobiles(&self) -> &MobilePolicy {
        &self.mobiles
    }

    /// Check a person as a caller describes them.
    pub fn check_person(&self, input: &PersonInput) -> Result<NewPerson, IngestError> {
        input.parse(&self.mobiles).map_err(IngestError::Invalid)
    }

    pub async fn upsert_person(
        &self,
        org: OrgId,
        person: &NewPerson,
    ) -> Result<(Person, UpsertOutcome), IngestError> {
        let now = self.clock.now();
        let (person, outcome) = self.store.upsert_person(org, person, now).await?;
        if outcome != UpsertOutcome::Unchanged {
            self.planner.plan_person(org, person.id).await?;
        }
        Ok((person, outcome))
    }

    pub async fn update_person(
        &self,
        org: OrgId,
        id: PersonId,
        patch: &PersonPatch,
    ) -> Result<Person, IngestError> {
        let current = self.person(org, id).await?;
        let next = patch
            .apply(&current.as_new(), &self.mobiles)
            .map_err(IngestError::Invalid)?;
        if next == current.as_new() {
            return Ok(current);
        }
        let updated = self
            .store
            .update_person(org, id, &next, self.clock.now())
            .await?;
        let updated = updated.ok_or(IngestError::NotFound("person"))?;
        self.planner.plan_person(org, id).await?;
        Ok(updated)
    }

    pub async fn person(&self, org: OrgId, id: PersonId) -> Result<Person, IngestError> {
        let person = self.store.person(org, id).await?;
        person.ok_or(IngestError::NotFound("person"))
    }

    pub async fn upsert_event(
        &self,
        org: OrgId,
        person: PersonId,
        event: &NewEvent,
    ) -> Result<(Event, UpsertOutcome), IngestError> {
        self.person(org, person).await?;
        let now = self.clock.now();
        let (event, outcome) = self.store.upsert_event(org, person, event, now).await?;
        if outcome != UpsertOutcome::Unchanged {
            self.planner.plan_person(org, person).await?;
        }
        Ok((event, outcome))
    }

    pub async fn update_event(
        &self,
        org: OrgId,
        person: PersonId,
        id: EventId,
        patch: &EventPatch,
    ) -> Result<Event, IngestError> {
        let current = self.store.event(org, person, id).await?;
        let current = current.ok_or(IngestError::NotFound("event"))?;
        let detail = patch.apply(&current.detail).map_err(IngestError::Invalid)?;
        if detail == current.detail {
            return Ok(current);
        }
        let updated = self
            .store
            .update_event(org, person, id, &detail, self.clock.now())
            .await?;
        let updated = updated.ok_or(IngestError::NotFound("event"))?;
        self.planner.plan_person(org, person).await?;
        Ok(updated)
    }

    /// Read a whole CSV file, write its good rows in batches, plan their
    /// texts and record the import on the audit trail as `actor`'s. The
    /// file is read as CSV first, so a malformed one is refused before
    /// anything is written; its rows are then checked on a blocking thread
    /// (a large file is seconds of CPU), each batch written while the next
    /// is checked. The import journal (see [`journal`]) sees the whole
    /// import through even if this process dies part-way.
    pub async fn import(
        &self,
        org: OrgId,
        kind: ImportKind,
        input: impl Read + Send + 'static,
        progress: &dyn ImportProgress,
        actor: Actor,
    ) -> Result<ImportSummary, ImportError> {
        let file = tokio::task::spawn_blocking(move || csv_file::read(kind, input))
            .await
            .expect("CSV reading does not panic")?;
        // An earlier import of this organisation that died part-way is
        // planned first: this file may hold the same rows, now unchanged.
        self.recover_interrupted(Some(org)).await?;
        let (run, _heartbeat) = self
            .open_run(org, kind.noun(), actor, file.rows())
            .await
            .map_err(ImportError::store_after(0))?;
        progress.rows_total(file.rows() as u64);
        let mut summary = self.write_rows(org, file, run.id, progress).await?;
        if summary.created + summary.updated > 0 {
            self.refresh_statistics().await;
            // What the import left unchanged is already planned.
            summary.planned = self.planner.plan_changed(org, run.started_at).await?;
        }
        summary.problems.sort_by_key(|p| p.line);
        summary.rejected = summary
            .problems
            .iter()
            .map(|p| p.line)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        self.close_run(&run, summary.counts()).await?;
        Ok(summary)
    }

    /// Statistics for the tables the import changed by a tenth or more.
    /// Without them (a first large import), PostgreSQL planned each page of
    /// the re-plan walk as a read of every event of the organisation and a
    /// sort of them, taking 28 ms a page instead of 2 until its own
    /// analysis came round. Failing, the import carries on as it would have.
    async fn refresh_statistics(&self) {
        if let Err(e) = self.store.refresh_statistics().await {
            tracing::warn!(error = %e, "statistics after an import were not refreshed");
        }
    }

    /// Check the file's rows a batch at a time on a blocking thread and
    /// write each batch's good rows as it comes, at most two batches
    /// behind the checking.
    async fn write_rows(
        &self,
        org: OrgId,
        file: csv_file::CsvFile,
        run: ImportRunId,
        progress: &dyn ImportProgress,
    ) -> Result<ImportSummary, ImportError> {
        let (zone, mobiles) = (self.zone, self.mobiles.clone());
        let (checked, mut batches) = tokio::sync::mpsc::channel(2);
        // Ends by itself once this stops receiving (a failed write).
        tokio::task::spawn_blocking(move || {
            file.check(zone, &mobiles, IMPORT_BATCH, |batch| {
                checked.blocking_send(batch).is_ok()
            });
        });
        let mut summary = ImportSummary::default();
        let (mut written, mut handled) = (0, 0);
        while let Some(batch) = batches.recv().await {
            // A batch of refused rows only has nothing to write.
            let outcomes = if batch.records.is_empty() {
                Vec::new()
            } else {
                let now = self.clock.now();
                self.store
                    .import(org, &batch.records, now)
                    .await
                    .map_err(ImportError::store_after(written))?
            };
            for (line, outcome) in batch.lines.iter().zip(outcomes) {
                match outcome {
                    ImportOutcome::Done(o) => summary.count(o),
                    ImportOutcome::UnknownPerson => summary.problems.push(unknown_person(*line)),
                }
            }
            summary.problems.extend(batch.problems);
            written += batch.records.len();
            handled += batch.rows;
            self.store
                .beat_import(run, written as u64, self.clock.now())
                .await
                .map_err(ImportError::store_after(written))?;
            progress.rows_done(handled as u64);
        }
        Ok(summary)
    }
}

fn unknown_person(line: u64) -> RowProblem {
    let reason = "matches no person in this organisation; import their release (or add them) first";
    RowProblem {
        line,
        error: FieldError::new("external_ref", None, reason),
    }
}
