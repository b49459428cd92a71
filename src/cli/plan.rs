//! `homeward plan`: preview the texts that would be sent in a window, for
//! stored events or for a releases file not yet imported. Nothing is sent.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use clap::{Args, ValueEnum};

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::ingest::csv_file::{self, ImportKind};
use crate::ingest::input::parse_local_date;
use crate::planner::preview::{self, PreviewRow};
use crate::planner::timing::local_instant;
use crate::startup;
use crate::store::MessageFilter;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// First local date of the window (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Last local date of the window, inclusive.
    #[arg(long)]
    pub to: Option<String>,
    /// Plan this releases CSV in memory instead of the stored events.
    #[arg(long, value_name = "FILE")]
    pub releases: Option<PathBuf>,
    /// Only this organisation's texts (stored events only).
    #[arg(long)]
    pub org: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub async fn plan(settings: &Settings, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let zone = settings.time.zone;
    let window = window(&args, zone)?;
    let rows = match &args.releases {
        Some(file) => releases(settings, file).await?,
        None => stored(settings, &args).await?,
    };
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| window.is_none_or(|(from, to)| r.send_at_utc >= from && r.send_at_utc < to))
        .collect();
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Text => print!("{}", preview::table(&rows)),
    }
    Ok(ExitCode::SUCCESS)
}

/// `[from 00:00, day after to 00:00)` in local time, as UTC.
fn window(
    args: &PlanArgs,
    zone: chrono_tz::Tz,
) -> anyhow::Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let date = |flag: &str, v: &str| {
        parse_local_date(v).map_err(|e| anyhow::anyhow!("--{flag} {v:?} {e}"))
    };
    let (from, to) = match (&args.from, &args.to) {
        (Some(f), Some(t)) => (date("from", f)?, date("to", t)?),
        (None, None) if args.releases.is_some() => return Ok(None),
        _ => bail!("give the window with --from DATE --to DATE"),
    };
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    let midnight = |d: NaiveDate| local_instant(zone, d, NaiveTime::MIN);
    Ok(Some((midnight(from), midnight(to + Days::new(1)))))
}

async fn releases(settings: &Settings, file: &PathBuf) -> anyhow::Result<Vec<PreviewRow>> {
    let reader =
        std::fs::File::open(file).with_context(|| format!("Cannot open {}", file.display()))?;
    let parsed = csv_file::parse(
        ImportKind::Releases,
        std::io::BufReader::new(reader),
        settings.time.zone,
        &settings.ingest.mobiles(),
    )
    .with_context(|| file.display().to_string())?;
    for problem in &parsed.problems {
        eprintln!(
            "{}: line {}: {} (left out of the preview)",
            file.display(),
            problem.line,
            problem.error
        );
    }
    // The planner needs a store for its type, never for a file preview: an
    // in-memory database keeps the operator's own database untouched.
    let mut memory = settings.database.clone();
    memory.url = "sqlite::memory:".into();
    memory.max_connections = 1;
    let store = startup::open_store(&memory).await?;
    let planner = startup::build_planner(settings, store, Arc::new(SystemClock))?;
    Ok(preview::releases(
        &planner,
        &parsed.records,
        SystemClock.now(),
    )?)
}

async fn stored(settings: &Settings, args: &PlanArgs) -> anyhow::Result<Vec<PreviewRow>> {
    let store = startup::open_store(&settings.database).await?;
    let planner = startup::build_planner(settings, store.clone(), Arc::new(SystemClock))?;
    let orgs = match &args.org {
        Some(name) => vec![super::find_org(store.as_ref(), name).await?],
        None => store.orgs().await?,
    };
    let mut rows = Vec::new();
    for org in orgs {
        planner.sweep(Some(org.id)).await?;
        let filter = MessageFilter {
            limit: u32::MAX,
            ..Default::default()
        };
        let messages = store.messages(org.id, &filter).await?;
        let mut refs = HashMap::new();
        for m in &messages {
            if let std::collections::hash_map::Entry::Vacant(slot) = refs.entry(m.person_id) {
                if let Some(person) = store.person(org.id, m.person_id).await? {
                    slot.insert(person.external_ref);
                }
            }
        }
        rows.extend(preview::from_messages(&messages, &refs, settings.time.zone));
    }
    rows.sort_by(|a, b| (a.send_at_utc, &a.person_ref).cmp(&(b.send_at_utc, &b.person_ref)));
    Ok(rows)
}
