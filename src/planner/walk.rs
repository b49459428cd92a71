//! Walking every event (a sweep, or the events an import changed) a page
//! at a time, with one page's plan written while the next is drafted.
//!
//! A page's write is most of its time, and it runs on the database's
//! side (SQLite's connection thread, or the server), while drafting the
//! next page (reading its events and their texts, rendering and checking
//! each text) runs here: side by side they use both of a small machine's
//! cores instead of taking turns.
//!
//! Overlapping must not change what is planned. A page's texts are fitted
//! against the other texts to their numbers only after the page before
//! has been written, so caps and gaps count that page's texts. The draft
//! itself read its events' stored texts while that write was going on; a
//! write changes only the texts it names, so a draft that read one of them
//! is drafted again once the write is done.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::{Draft, PlanError, PlanReport, Planner};
use crate::domain::{EventId, MessageId, OrgId};
use crate::store::{PlanChanges, Store, StoreError};

/// Events planned per store round trip in a sweep. Each batch reads its
/// events' texts and every text to their numbers in one go; SQLite hands
/// those rows over as copies made on its connection's thread, so a larger
/// batch saves little time and raises the daemon's peak memory on every
/// connection (README, "Performance").
const SWEEP_BATCH: u32 = 1000;

/// A page's plan being written. Dropped before it is finished (a request
/// that timed out while an import re-planned), the write is abandoned and
/// rolls back, as it did when the walk wrote each page itself.
struct Writing {
    /// The texts the write creates or changes.
    touched: HashSet<MessageId>,
    written: JoinHandle<Result<(), StoreError>>,
}

impl Writing {
    fn start(store: Arc<dyn Store>, changes: PlanChanges, now: DateTime<Utc>) -> Self {
        let touched = changes.message_ids().collect();
        let write = async move { store.apply_plan(&changes, now).await };
        let written = tokio::spawn(write.in_current_span());
        Self { touched, written }
    }

    /// Whether the draft read a text this write changes.
    fn touches(&self, draft: &Draft) -> bool {
        draft.stored.iter().any(|m| self.touched.contains(&m.id))
    }

    /// The write's result. Its panic is the walk's, as it would have been
    /// had the walk written the page itself (a task is cancelled only when
    /// the runtime stops, and the walk with it).
    async fn finish(mut self) -> Result<(), PlanError> {
        match (&mut self.written).await {
            Ok(written) => Ok(written?),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.written.abort();
    }
}

impl Planner {
    /// Re-plan every event (of one organisation, or all): applies rules
    /// added or disabled since, and expires texts that can no longer go.
    pub async fn sweep(&self, org: Option<OrgId>) -> Result<PlanReport, PlanError> {
        self.walk(org, None).await
    }

    /// Re-plan the events of `org` where the event or its person changed at
    /// or after `since`, e.g. by an import that began then.
    pub async fn plan_changed(
        &self,
        org: OrgId,
        since: DateTime<Utc>,
    ) -> Result<PlanReport, PlanError> {
        self.walk(Some(org), Some(since)).await
    }

    /// Every page planned, and the last page's write finished (or failed)
    /// before this returns, whatever went wrong on the way.
    async fn walk(
        &self,
        org: Option<OrgId>,
        changed_since: Option<DateTime<Utc>>,
    ) -> Result<PlanReport, PlanError> {
        let mut writing = None;
        let walked = self.walk_pages(org, changed_since, &mut writing).await;
        let written = match writing {
            Some(w) => w.finish().await,
            None => Ok(()),
        };
        match (walked, written) {
            (Ok(report), Ok(())) => Ok(report),
            (Err(e), Ok(())) | (Ok(_), Err(e)) => Err(e),
            (Err(e), Err(also)) => {
                tracing::warn!(error = %also, "the last page's plan was not written either");
                Err(e)
            }
        }
    }

    async fn walk_pages(
        &self,
        org: Option<OrgId>,
        changed_since: Option<DateTime<Utc>>,
        writing: &mut Option<Writing>,
    ) -> Result<PlanReport, PlanError> {
        let store = &self.inner.store;
        let mut report = PlanReport::default();
        let mut after: Option<EventId> = None;
        loop {
            let page = store
                .events_with_people(org, changed_since, after, SWEEP_BATCH)
                .await?;
            let Some((_, last)) = page.last() else { break };
            after = Some(last.id);
            let mut draft = self.draft(&page).await?;
            if let Some(before) = writing.take() {
                let redraft = before.touches(&draft);
                before.finish().await?;
                if redraft {
                    draft = self.draft(&page).await?;
                }
            }
            let now = draft.now;
            let (changes, planned) = self.fitted(&page, draft).await?;
            report.add(planned);
            *writing = Some(Writing::start(store.clone(), changes, now));
        }
        Ok(report)
    }
}
