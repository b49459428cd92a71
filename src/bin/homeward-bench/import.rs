//! Import: a releases CSV of generated people, with liberation dates spread
//! over the coming year, through `Ingest::import` exactly as
//! `homeward import releases` runs it (parse, then write in batches).
//!
//! The figure held to the target is the import alone: it runs with no
//! campaign rules, so the re-plan an import ends with finds nothing to plan
//! (its walk over the imported events is still timed). The same file is
//! then imported into a fresh database with the shipped rules, which is
//! what an operator waits for: import and planning together.

use std::time::Instant;

use chrono::{Days, NaiveDate};
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
    let bar = progress.bar("import: no rules", u64::from(args.people));
    let started = Instant::now();
    let summary = fixture.import(csv, &bar).await?;
    let elapsed = started.elapsed();
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
        with_planning: None,
        target: format!("rows_per_second >= {TARGET_ROWS_PER_SECOND}"),
        met: rows_per_second >= TARGET_ROWS_PER_SECOND,
    };
    Ok((figure, fixture))
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
