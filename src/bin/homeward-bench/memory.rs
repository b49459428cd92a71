//! Memory: the peak resident memory (`VmHWM`) of the real `homeward serve`
//! process with a million pending texts in its store.
//!
//! The store is built fast but faithfully. A few thousand generated people
//! are imported and planned by the real code with the shipped rules; then
//! people, their liberations and their pending texts are copied in bulk SQL
//! (see [`copy_sql`]) with fresh ids, numbers and planning keys, so every
//! copy is a text the planner itself would have made and a sweep finds
//! nothing to change. State-change history is not copied: the daemon never
//! reads it while sending or planning.
//!
//! The daemon then runs as an operator would run it, sending enabled
//! through the webhook provider to a loopback fake, with `--due-now` of the
//! texts due at once (the rest wait for their dates over the coming year)
//! and the re-plan sweep every 15 seconds. It is watched until a whole
//! sweep over every event has finished and the due texts have gone, or
//! `--watch-secs` passes, then stopped with SIGTERM.

mod daemon;
mod store;

use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;

use crate::args::MemoryArgs;
use crate::fake::FakeProvider;
use crate::fixture::{Backend, Fixture, Rules, releases_csv};
use crate::import::release_date;
use crate::progress::Progress;
use crate::stats::round;

/// The target, in MiB.
pub const TARGET_PEAK_MB: f64 = 100.0;
/// People imported and planned by the real code before the copying.
const SEED_PEOPLE: u32 = 2_000;

#[derive(Debug, Serialize)]
pub struct MemoryFigure {
    pub backend: &'static str,
    pub pending_messages: u64,
    pub people: u64,
    pub events: u64,
    pub database_mb: f64,
    pub build_seconds: f64,
    pub dispatch_enabled: bool,
    /// Environment given to the daemon beyond the harness's own settings.
    pub daemon_env: Vec<String>,
    pub due_now: u32,
    pub sent_while_watched: u64,
    /// What the daemon's dispatcher did while watched, by its own count.
    pub daemon_dispatch_outcomes: std::collections::BTreeMap<String, u64>,
    pub sweeps_finished: u32,
    pub watched_seconds: f64,
    pub peak_rss_mb: f64,
    pub final_rss_mb: f64,
    pub target: String,
    pub met: bool,
}

pub async fn run(
    backend: &Backend,
    args: &MemoryArgs,
    progress: &Progress,
) -> anyhow::Result<MemoryFigure> {
    if !matches!(backend, Backend::Sqlite) {
        bail!("the memory figure builds its store with SQLite-specific bulk SQL");
    }
    let building = Instant::now();
    let bar = progress.spinner("memory: building store");
    let fixture = Fixture::new(backend, Rules::Shipped, &[]).await?;
    let today = fixture.today();
    bar.set_message(format!("planning {SEED_PEOPLE} people"));
    let seed = releases_csv(SEED_PEOPLE, |i| release_date(today, i));
    fixture.import(seed, &homeward::ingest::Quiet).await?;
    bar.set_message(format!("copying up to {} pending texts", args.pending));
    let counts = store::fill(&fixture, args.pending, args.due_now).await?;
    let build_seconds = round(building.elapsed().as_secs_f64(), 1);
    bar.done(format!(
        "{} pending texts, {} people, {:.0} MB, in {build_seconds} s",
        counts.pending, counts.people, counts.database_mb
    ));

    let fake = FakeProvider::start().await?;
    let watch = daemon::Watch {
        database_url: fixture.database.url.clone(),
        provider_url: fake.url(),
        due: u64::from(args.due_now),
        limit: Duration::from_secs(u64::from(args.watch_secs)),
        extra_env: args.daemon_env.clone(),
    };
    let seen = daemon::watch(&watch, &fake, progress).await?;
    fake.stop().await;
    fixture.close().await;
    Ok(MemoryFigure {
        backend: backend.name(),
        pending_messages: counts.pending,
        people: counts.people,
        events: counts.events,
        database_mb: round(counts.database_mb, 1),
        build_seconds,
        dispatch_enabled: true,
        daemon_env: args
            .daemon_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        due_now: args.due_now,
        sent_while_watched: seen.sent,
        daemon_dispatch_outcomes: seen.outcomes.clone(),
        sweeps_finished: seen.sweeps,
        watched_seconds: round(seen.watched.as_secs_f64(), 1),
        peak_rss_mb: round(seen.peak_kb as f64 / 1024.0, 1),
        final_rss_mb: round(seen.final_kb as f64 / 1024.0, 1),
        target: format!("peak_rss_mb < {TARGET_PEAK_MB}"),
        met: (seen.peak_kb as f64 / 1024.0) < TARGET_PEAK_MB && seen.sweeps > 0,
    })
}
