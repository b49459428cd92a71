//! Planning: the people the import figure loaded (liberation dates spread
//! over the coming year, nothing planned yet) planned against the shipped
//! rules by one re-plan sweep, `Planner::sweep(None)`, as the daemon's
//! schedule runs it. Messages planned per second counts the texts the sweep
//! created, each rendered, checked, fitted into sending hours and caps, and
//! written with its first state change.

use std::time::Instant;

use anyhow::ensure;
use serde::Serialize;

use crate::fixture::{Backend, Fixture, project_dir};
use crate::progress::Progress;
use crate::stats::{rate, round};

/// The target.
pub const TARGET_MESSAGES_PER_SECOND: f64 = 30_000.0;

#[derive(Debug, Serialize)]
pub struct PlanFigure {
    pub backend: &'static str,
    pub people: usize,
    pub messages_planned: usize,
    pub pending_after: u64,
    pub seconds: f64,
    pub messages_per_second: f64,
    pub target: String,
    pub met: bool,
}

pub async fn run(
    backend: &Backend,
    fixture: Fixture,
    progress: &Progress,
) -> anyhow::Result<PlanFigure> {
    let mut settings = fixture.settings.clone();
    settings.planner.campaigns_file = project_dir().join("config/campaigns.toml");
    let planner = fixture.planner_with(&settings)?;
    let raw = fixture.raw().await?;
    ensure!(raw.count("pending").await? == 0, "nothing is planned yet");
    let people = raw.rows("people").await?;
    let bar = progress.spinner("plan: sweep");
    bar.set_message(format!("{people} people, shipped rules"));
    let started = Instant::now();
    let report = planner.sweep(None).await?;
    let elapsed = started.elapsed();
    let pending_after = raw.count("pending").await?;
    raw.close().await;
    fixture.close().await;
    let messages_per_second = rate(report.created as u64, elapsed);
    bar.done(format!(
        "{} texts, {messages_per_second:.0}/s",
        report.created
    ));
    Ok(PlanFigure {
        backend: backend.name(),
        people: people as usize,
        messages_planned: report.created,
        pending_after,
        seconds: round(elapsed.as_secs_f64(), 3),
        messages_per_second,
        target: format!("messages_per_second >= {TARGET_MESSAGES_PER_SECOND}"),
        met: messages_per_second >= TARGET_MESSAGES_PER_SECOND,
    })
}
