//! Import: a releases CSV of generated people, with liberation dates spread
//! over the coming year, through `Ingest::import` exactly as
//! `homeward import releases` runs it (parse, then write in batches).
//!
//! The figure held to the target is the import alone: it runs with no
//! campaign rules, so the re-plan an import ends with finds nothing to plan
//! (its walk over the imported events is still timed). Two parts of it are
//! also timed on their own: reading the file (`csv_file::parse`, the first
//! thing an import does) and the closing re-plan walk (run again after the
//! import; with nothing to plan it repeats the same reads). The same file is
//! then imported into a fresh database with the shipped rules, which is
//! what an operator waits for: import and planning together.

use std::time::Instant;

use chrono::{Days, NaiveDate};
use homeward::ingest::csv_file::{self, ImportKind};
use serde::Serialize;

use crate::args::IngestArgs;
use crate::fixture::{Backend, Fixture, Rules, releases_csv};
use crate::progress::Progress;
use crate::stats::{rate, round};

/// The target for the import alone.
pub const TARGET_ROWS_PER_SECOND: f64 = 20_000.0;

#[derive(Debug, Serialize)]
pub struct ImportFigure {
    pub backend: &'static str,
    pub rows: u32,
    pub seconds: f64,
    pub rows_per_second: f64,
    /// Of `seconds`: reading and checking the file.
    pub parse_seconds: f64,
    /// Of `seconds`: the re-plan walk over the organisation's events.
    pub replan_walk_seconds: f64,
    /// What is left: writing the rows.
    pub write_seconds: f64,
    /// The same file with the shipped rules: import and planning together.
    pub with_planning: Option<WithPlanning>,
    pub target: String,
    pub met: bool,
}

#[derive(Debug, Serialize)]
pub struct WithPlanning {
    pub seconds: f64,
    pub rows_per_second: f64,
    pub messages_planned: usize,
}

/// Person `i` leaves between tomorrow and a year from now.
pub fn release_date(today: NaiveDate, i: u32) -> NaiveDate {
    today + Days::new(1 + u64::from(i % 365))
}

/// Import with no rules; the figure, and the database for planning.
pub async fn import_only(
    backend: &Backend,
    args: &IngestArgs,
    progress: &Progress,
) -> anyhow::Result<(ImportFigure, Fixture)> {
    let fixture = Fixture::new(backend, Rules::Empty, &[]).await?;
    let today = fixture.today();
    let csv = releases_csv(args.people, |i| release_date(today, i));
    let parse_seconds = parse_alone(&csv, fixture.settings.time.zone).await?;
    let bar = progress.bar("import: no rules", u64::from(args.people));
    let started = Instant::now();
    let summary = fixture.import(csv, &bar).await?;
    let elapsed = started.elapsed();
    let walking = Instant::now();
    fixture.planner()?.sweep(Some(fixture.org)).await?;
    let replan_walk_seconds = walking.elapsed().as_secs_f64();
    anyhow::ensure!(
        summary.created == args.people as usize,
        "{} of {} people were created",
        summary.created,
        args.people
    );
    let rows_per_second = rate(u64::from(args.people), elapsed);
    bar.done(format!("{rows_per_second:.0} rows/s"));
    let figure = ImportFigure {
        backend: backend.name(),
        rows: args.people,
        seconds: round(elapsed.as_secs_f64(), 3),
        rows_per_second,
        parse_seconds: round(parse_seconds, 3),
        replan_walk_seconds: round(replan_walk_seconds, 3),
        write_seconds: round(
            elapsed.as_secs_f64() - parse_seconds - replan_walk_seconds,
            3,
        ),
        with_planning: None,
        target: format!("rows_per_second >= {TARGET_ROWS_PER_SECOND}"),
        met: rows_per_second >= TARGET_ROWS_PER_SECOND,
    };
    Ok((figure, fixture))
}

/// How long the import's first step, reading the file, takes on its own.
async fn parse_alone(csv: &[u8], zone: chrono_tz::Tz) -> anyhow::Result<f64> {
    let csv = csv.to_vec();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let parsed = csv_file::parse(ImportKind::Releases, std::io::Cursor::new(csv), zone)?;
        anyhow::ensure!(parsed.problems.is_empty(), "generated rows were refused");
        Ok(started.elapsed().as_secs_f64())
    })
    .await?
}

/// The same file into a fresh database, planned with the shipped rules.
pub async fn with_planning(
    backend: &Backend,
    args: &IngestArgs,
    progress: &Progress,
) -> anyhow::Result<WithPlanning> {
    let fixture = Fixture::new(backend, Rules::Shipped, &[]).await?;
    let today = fixture.today();
    let csv = releases_csv(args.people, |i| release_date(today, i));
    let bar = progress.bar("import: shipped rules", u64::from(args.people));
    bar.set_message("then planning");
    let started = Instant::now();
    let summary = fixture.import(csv, &bar).await?;
    let elapsed = started.elapsed();
    let rows_per_second = rate(u64::from(args.people), elapsed);
    bar.done(format!("{rows_per_second:.0} rows/s with planning"));
    fixture.close().await;
    Ok(WithPlanning {
        seconds: round(elapsed.as_secs_f64(), 3),
        rows_per_second,
        messages_planned: summary.planned.created,
    })
}
