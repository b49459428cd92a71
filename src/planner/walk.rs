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
//! itself read its events' stored texts while that write was going on;
//! the write changed only its own page's texts and texts to its own
//! page's numbers, so a draft holding a text to one of those numbers may
//! be out of date and is drafted again.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::{PlanError, PlanReport, Planner};
use crate::domain::{EventId, Message, OrgId, PhoneNumber};
use crate::store::{PlanChanges, Store, StoreError};

/// Events planned per store round trip in a sweep. Each batch reads its
/// events' texts and every text to their numbers in one go; SQLite hands
/// those rows over as copies made on its connection's thread, so a larger
/// batch saves little time and raises the daemon's peak memory on every
/// connection (README, "Performance").
const SWEEP_BATCH: u32 = 1000;

/// What planning a page decided before it read the other texts to its
/// numbers: texts to create, re-render and cancel.
pub(super) struct Draft {
    pub(super) now: DateTime<Utc>,
    /// The page's events' texts as read, which the changes were made from.
    pub(super) stored: Vec<Message>,
    pub(super) changes: PlanChanges,
}

/// A page's plan being written.
struct Writing {
    /// The page's people's numbers: the write moves texts to these.
    numbers: HashSet<PhoneNumber>,
    written: JoinHandle<Result<(), StoreError>>,
}

impl Writing {
    fn start(
        store: Arc<dyn Store>,
        changes: PlanChanges,
        numbers: HashSet<PhoneNumber>,
        now: DateTime<Utc>,
    ) -> Self {
        let written = tokio::spawn(async move { store.apply_plan(&changes, now).await });
        Self { numbers, written }
    }

    /// Whether the write may change texts the draft read.
    fn may_change(&self, draft: &Draft) -> bool {
        draft
            .stored
            .iter()
            .any(|m| self.numbers.contains(&m.mobile))
    }

    /// The write's result. Its panic is the walk's, as it would have been
    /// had the walk written the page itself (a task is cancelled only when
    /// the runtime stops, and the walk with it).
    async fn finish(self) -> Result<(), PlanError> {
        match self.written.await {
            Ok(written) => Ok(written?),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
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
        let report = walked?;
        written?;
        Ok(report)
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
                let redraft = before.may_change(&draft);
                before.finish().await?;
                if redraft {
                    draft = self.draft(&page).await?;
                }
            }
            let now = draft.now;
            let (changes, planned) = self.fitted(&page, draft).await?;
            report.add(planned);
            let numbers = page.iter().map(|(p, _)| p.mobile.clone()).collect();
            *writing = Some(Writing::start(store.clone(), changes, numbers, now));
        }
        Ok(report)
    }
}
