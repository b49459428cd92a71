//! Import: a releases CSV of generated people, with liberation dates spread
//! over the coming year, through `Ingest::import` exactly as
//! `homeward import releases` runs it (parse, then write in batches, then
//! re-plan).
//!
//! The figure held to the target is the import alone: it runs with no
//! campaign rules, so the re-plan an import ends with finds nothing to plan
//! (its walk over the imported events is still timed). The three steps are
//! timed within the same run from the import's own progress reports:
//! reading the file ends when the row count is reported, writing ends with
//! the last batch, and the re-plan walk is what follows. The same file is
//! then imported into a fresh database with the shipped rules, which is
//! what an operator waits for: import and planning together.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use homeward::ingest::ImportProgress;
use serde::Serialize;

use crate::args::IngestArgs;
use crate::fixture::{Backend, Fixture, Rules, releases_csv};
use crate::progress::{Bar, Progress};
use crate::stats::{rate, round};

/// The target for the import alone.
pub const TARGET_ROWS_PER_SECOND: f64 = 20_000.0;

#[derive(Debug, Serialize)]
pub struct ImportFigure {
    pub backend: &'static str,
    pub rows: u32,
    pub seconds: f64,
    pub rows_per_second: f64,
    /// Of `seconds`: reading the file as CSV.
    pub parse_seconds: f64,
    /// Of `seconds`: checking the rows and writing them, a batch written
    /// while the next is checked.
    pub write_seconds: f64,
    /// Of `seconds`: the re-plan walk over the organisation's events.
    pub replan_walk_seconds: f64,
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
    let steps = Steps::new(progress.bar("import: no rules", u64::from(args.people)));
    let summary = fixture.import(csv, &steps).await?;
    let (parse, write, replan) = steps.seconds(Instant::now());
    anyhow::ensure!(
        summary.created == args.people as usize,
        "{} of {} people were created",
        summary.created,
        args.people
    );
    let seconds = parse + write + replan;
    let rows_per_second = rate(u64::from(args.people), Duration::from_secs_f64(seconds));
    steps.bar.done(format!("{rows_per_second:.0} rows/s"));
    let figure = ImportFigure {
        backend: backend.name(),
        rows: args.people,
        seconds: round(seconds, 3),
        rows_per_second,
        parse_seconds: round(parse, 3),
        write_seconds: round(write, 3),
        replan_walk_seconds: round(replan, 3),
        with_planning: None,
        target: format!("rows_per_second >= {TARGET_ROWS_PER_SECOND}"),
        met: rows_per_second >= TARGET_ROWS_PER_SECOND,
    };
    Ok((figure, fixture))
}

/// An import's steps, timed from its progress reports.
struct Steps {
    bar: Bar,
    started: Instant,
    /// When the file had been read (the row count is reported).
    parsed: Mutex<Option<Instant>>,
    /// When the last batch so far was written.
    written: Mutex<Option<Instant>>,
}

impl Steps {
    fn new(bar: Bar) -> Self {
        Self {
            bar,
            started: Instant::now(),
            parsed: Mutex::new(None),
            written: Mutex::new(None),
        }
    }

    /// Reading, writing and re-planning, in seconds, for an import that
    /// returned at `ended`.
    fn seconds(&self, ended: Instant) -> (f64, f64, f64) {
        let parsed = self.parsed.lock().expect("not poisoned").unwrap_or(ended);
        let written = self.written.lock().expect("not poisoned").unwrap_or(parsed);
        let secs = |from: Instant, to: Instant| (to - from).as_secs_f64();
        (
            secs(self.started, parsed),
            secs(parsed, written),
            secs(written, ended),
        )
    }
}

impl ImportProgress for Steps {
    fn rows_total(&self, rows: u64) {
        *self.parsed.lock().expect("not poisoned") = Some(Instant::now());
        self.bar.rows_total(rows);
    }

    fn rows_done(&self, rows: u64) {
        *self.written.lock().expect("not poisoned") = Some(Instant::now());
        self.bar.rows_done(rows);
    }
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
