//! Work that runs on a clock rather than on a request: the re-plan sweep,
//! finishing imports that died part-way, the check for people whose texts
//! stopped arriving, the database's statistics, and the deletion of
//! personal data past its retention period (`retention.keep_days`), on the cron
//! expression in `planner.sweep_cron`, evaluated in the configured time zone
//! so "every day at 06:00" means local 06:00.

use std::sync::Arc;

use chrono_tz::Tz;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::CronSchedule;
use crate::ingest::Ingest;
use crate::optout::Replies;
use crate::planner::Planner;
use crate::privacy::Privacy;
use crate::store::Store;

/// What the scheduled sweep needs.
pub struct Sweeps {
    pub store: Arc<dyn Store>,
    pub planner: Planner,
    pub ingest: Ingest,
    pub replies: Replies,
    pub silent_days: u32,
    pub privacy: Privacy,
    pub clock: Arc<dyn Clock>,
    pub zone: Tz,
}

impl Sweeps {
    /// Refresh the database's statistics, then run on `cron` until
    /// `shutdown` is cancelled. A failed sweep is logged and tried again at
    /// the next tick: planning is idempotent.
    ///
    /// A database filled while no daemon ran (a large import by the command
    /// line) gets its statistics before this returns, so before the
    /// dispatcher's first claim: without them PostgreSQL read and sorted
    /// every due text to pick each batch of a backlog. By one daemon of
    /// several, as the sweep is.
    pub async fn start(
        self,
        schedule: &CronSchedule,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        if self.store.try_lead("sweep").await.unwrap_or(false) {
            self.refresh_statistics().await;
        }
        let schedule = schedule.schedule().clone();
        tokio::spawn(async move {
            loop {
                let now = self.clock.now().with_timezone(&self.zone);
                let Some(next) = schedule.after(&now).next() else {
                    break;
                };
                let wait = (next.with_timezone(&chrono::Utc) - self.clock.now())
                    .to_std()
                    .unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = shutdown.cancelled() => break,
                }
                self.tick().await;
            }
        })
    }

    async fn refresh_statistics(&self) {
        if let Err(e) = self.store.refresh_statistics().await {
            tracing::error!(error = %e, "refreshing the database's statistics failed; it will run again at the next tick");
        }
    }

    async fn tick(&self) {
        // Daemons sharing a database take turns: one sweeps per tick.
        if !self.store.try_lead("sweep").await.unwrap_or(false) {
            return;
        }
        match self.planner.sweep(None).await {
            Ok(report) => tracing::info!(?report, "re-plan sweep finished"),
            Err(e) => {
                tracing::error!(error = %e, "re-plan sweep failed; it will run again at the next tick")
            }
        }
        if let Err(e) = self.ingest.recover_interrupted(None).await {
            tracing::error!(error = %e, "recovering interrupted imports failed; it will run again at the next tick");
        }
        if let Err(e) = self.replies.flag_silent(self.silent_days).await {
            tracing::error!(error = %e, "the silent-number check failed; it will run again at the next tick");
        }
        match self.privacy.retire_expired().await {
            Ok(report) if report != Default::default() => {
                tracing::info!(?report, "deleted personal data past its retention period")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "the retention sweep failed; it will run again at the next tick")
            }
        }
        // Last, so what the sweep itself changed (a retention deletion) counts.
        self.refresh_statistics().await;
    }
}
