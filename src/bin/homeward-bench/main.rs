//! `homeward-bench`: how fast Homeward plans and sends, how close it runs to
//! what the machine allows, and how much memory the daemon needs.
//!
//! Every figure builds a fresh database in a temporary folder, drives the
//! real library code (or, for memory, the real `homeward` binary) against
//! fakes on loopback, and measures its own baseline in the same run, so a
//! machine busy with something else moves the figure and its ceiling
//! together. Nothing here is a test and no test runs it: tests check
//! behaviour, this measures speed. No personal data is involved; the people
//! are generated, and their numbers are only ever sent to loopback.

mod args;
mod dispatch;
mod fake;
mod fixture;
mod import;
mod inbound;
mod memory;
mod mixed;
mod peers;
mod plan;
mod progress;
mod rate_limit;
mod reads;
mod report;
mod stats;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use args::{Cli, Figure};
use fixture::Backend;
use progress::Progress;
use report::Report;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    // On a worker, as the daemon's own tasks run, not on this thread.
    let outcome = runtime.block_on(async { tokio::spawn(run(cli)).await });
    match outcome.unwrap_or_else(|e| Err(anyhow::anyhow!("the harness panicked: {e}"))) {
        Ok(met) if met => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(2),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run the chosen figures on every backend asked for, then print them.
/// `Ok(false)` when a figure missed its target.
async fn run(cli: Cli) -> anyhow::Result<bool> {
    // The daemon records metrics on every send; so must the harness, or the
    // figures would flatter the dispatcher.
    homeward::telemetry::metrics();
    let started = Instant::now();
    let progress = Progress::new();
    let mut backends = Vec::new();
    if !cli.postgres_only {
        backends.push(Backend::Sqlite);
    }
    if let Some(url) = &cli.postgres_url {
        backends.push(Backend::Postgres(url.clone()));
    }
    let mut report = Report::new();
    for backend in &backends {
        measure(&cli.figure, backend, &progress, &mut report).await?;
    }
    report.finish(started.elapsed());
    progress.clear();
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        report.print_summary();
    }
    Ok(report.all_met())
}

async fn measure(
    figure: &Figure,
    backend: &Backend,
    progress: &Progress,
    report: &mut Report,
) -> anyhow::Result<()> {
    let all = matches!(figure, Figure::All(_));
    let a = figure.args();
    if all || matches!(figure, Figure::Dispatch(_)) {
        report
            .dispatch
            .push(dispatch::run(backend, &a.dispatch, progress).await?);
    }
    let wants_plan = all || matches!(figure, Figure::Plan(_));
    let wants_import = all || matches!(figure, Figure::Import(_));
    if wants_import || wants_plan {
        // Planning is measured on the people the import-only run loaded.
        let (mut imported, fixture) = import::import_only(backend, &a.ingest, progress).await?;
        if wants_plan {
            report
                .plan
                .push(plan::run(backend, fixture, progress).await?);
        } else {
            fixture.close().await;
        }
        if wants_import {
            let planned = import::with_planning(backend, &a.ingest, progress).await?;
            imported.with_planning = Some(planned);
            report.import.push(imported);
        }
    }
    if all || matches!(figure, Figure::Inbound(_)) {
        report
            .inbound
            .push(inbound::run(backend, &a.inbound, progress).await?);
    }
    if all || matches!(figure, Figure::RateLimit(_)) {
        report
            .rate_limit
            .push(rate_limit::run(backend, &a.rate_limit, progress).await?);
    }
    if all || matches!(figure, Figure::Reads(_)) {
        report
            .reads
            .push(reads::run(backend, &a.reads, progress).await?);
    }
    if all || matches!(figure, Figure::Mixed(_)) {
        report
            .mixed
            .push(mixed::run(backend, &a.mixed, progress).await?);
    }
    if all || matches!(figure, Figure::Peers(_)) {
        peer_run(backend, &a.peers, progress, report).await?;
    }
    if all || matches!(figure, Figure::Memory(_)) {
        match backend {
            Backend::Sqlite => {
                let figure = memory::run(backend, &a.memory, progress).await?;
                report.memory.push(figure);
            }
            Backend::Postgres(_) => report.notes.push(
                "memory is measured on SQLite only: its million-text store is built with \
                 SQLite-specific bulk SQL"
                    .into(),
            ),
        }
    }
    Ok(())
}

/// The peer run; in `all`, a missing peers folder is a note, not a failure.
async fn peer_run(
    backend: &Backend,
    args: &args::PeersArgs,
    progress: &Progress,
    report: &mut Report,
) -> anyhow::Result<()> {
    let kannel = report.peers.iter().find_map(|f| f.kannel.clone());
    match peers::run(backend, args, kannel.as_ref(), progress).await {
        Ok(figure) => report.peers.push(figure),
        Err(e) if !peers::available(args) => report.notes.push(format!("peers: {e:#}")),
        Err(e) => return Err(e),
    }
    Ok(())
}
