//! Mixed load: everything the daemon does at once, against one database,
//! to show that writers wait their turn (within `busy_timeout_ms`) rather
//! than fail with "database is locked".
//!
//! The real app runs (API, webhooks, its own dispatcher and jobs) with
//! `--mixed-texts` texts already due. While it sends them, a releases CSV of
//! `--mixed-import` new people, each with a text due today, goes in through
//! the API (its rows written and planned while the dispatcher records
//! sends), staff read lists through the API, and `--mixed-stops` people
//! text STOP to the inbound webhook. At the same time `homeward import
//! releases` brings in `--mixed-cli-import` more in a process of its own,
//! as an operator's import beside the daemon would: a second writer, which
//! on SQLite waits for the daemon's write turns through `busy_timeout_ms`.
//! It ends once both imports are in and nothing is left to send. Any
//! failed request, a failed import, and any warning or error the daemon or
//! the import logs about a locked or busy database count against the
//! figure.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use homeward::providers::webhook::{SIGNATURE_HEADER, signature_header};
use homeward::startup::Application;
use serde::Serialize;
use serde_json::json;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

use crate::args::MixedArgs;
use crate::fake::FakeProvider;
use crate::fixture::{
    Backend, Fixture, HOOK, HOOK_SECRET, ORG_NAME, Rules, ScratchDir, always_open, daemon_binary,
    e164, hook_settings, mobile, releases_csv,
};
use crate::progress::Progress;
use crate::stats::round;

#[derive(Debug, Serialize)]
pub struct MixedFigure {
    pub backend: &'static str,
    pub seconds: f64,
    pub texts_sent: u64,
    pub rows_imported: u32,
    /// Of `rows_imported`: by `homeward import releases` beside the daemon.
    pub rows_imported_by_cli: u32,
    pub reads: u64,
    pub stops: u64,
    /// Requests answered with a server error, or not answered.
    pub failed_requests: u64,
    /// Warnings and errors the daemon logged that name a locked database
    /// (see `LOCKED`).
    pub locked_logged: u64,
    /// The first of either, as the daemon or the API put it.
    pub first_problem: Option<String>,
    pub target: &'static str,
    pub met: bool,
}

/// What went wrong while the load ran, counted.
#[derive(Default)]
struct Problems {
    failed_requests: AtomicU64,
    locked_logged: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Problems {
    fn note(&self, what: String) {
        let mut first = self.first.lock().expect("not poisoned");
        first.get_or_insert(what.chars().take(300).collect());
    }
}

static PROBLEMS: OnceLock<Arc<Problems>> = OnceLock::new();

pub async fn run(
    backend: &Backend,
    args: &MixedArgs,
    progress: &Progress,
) -> anyhow::Result<MixedFigure> {
    let problems = watch_logs();
    let before = (
        problems.failed_requests.load(Ordering::Relaxed),
        problems.locked_logged.load(Ordering::Relaxed),
    );
    let fake = FakeProvider::start().await?;
    let mut overrides = hook_settings(&fake.url(), 1_000_000, 10_000);
    overrides.extend(always_open());
    overrides.push(("server.api_rate_per_second", "100000".to_owned()));
    overrides.push(("server.api_burst", "100000".to_owned()));
    let fixture = Fixture::new(backend, Rules::DueToday, &overrides).await?;
    let bar = progress.bar("mixed: set-up", u64::from(args.mixed_texts));
    let today = fixture.today();
    fixture
        .import(releases_csv(args.mixed_texts, |_| today), &bar)
        .await?;
    bar.done("texts due");
    let token = fixture.staff_token("homeward-bench mixed").await?;
    let app = Application::build_with_clock(&fixture.settings, fixture.clock.clone()).await?;
    let base = format!("http://{}", app.address());
    let shutdown = app.shutdown_token();
    let serving = tokio::spawn(app.run_until_stopped());

    let bar = progress.spinner("mixed: everything at once");
    let load = Load {
        http: reqwest::Client::new(),
        base,
        bearer: format!("Bearer {}", token.expose()),
        problems: problems.clone(),
        done: Arc::new(AtomicBool::new(false)),
    };
    // Found (or built) before the clock starts, so the import overlaps.
    let binary = tokio::task::spawn_blocking(daemon_binary).await??;
    let started = Instant::now();
    let (reads, stops) = load.alongside(args).await;
    let second_writer = cli_import(&fixture, binary, args, today, &problems);
    let (import, cli) = tokio::join!(load.import(args, today), second_writer);
    if let Err(e) = cli {
        problems.failed_requests.fetch_add(1, Ordering::Relaxed);
        problems.note(format!("homeward import releases: {e:#}"));
    }
    let drained = wait_for_drain(&fixture, Duration::from_secs(300)).await;
    load.done.store(true, Ordering::Relaxed);
    let (reads, stops) = (reads.await??, stops.await??);
    let elapsed = started.elapsed();
    import?;
    drained?;
    shutdown.cancel();
    serving.await??;
    let texts_sent = fake.count();
    fake.stop().await;
    fixture.close().await;

    let failed_requests = problems.failed_requests.load(Ordering::Relaxed) - before.0;
    let locked_logged = problems.locked_logged.load(Ordering::Relaxed) - before.1;
    bar.done(format!("{failed_requests} failed, {locked_logged} locked"));
    Ok(MixedFigure {
        backend: backend.name(),
        seconds: round(elapsed.as_secs_f64(), 3),
        texts_sent,
        rows_imported: args.mixed_import + args.mixed_cli_import,
        rows_imported_by_cli: args.mixed_cli_import,
        reads,
        stops,
        failed_requests,
        locked_logged,
        first_problem: problems.first.lock().expect("not poisoned").take(),
        target: "no failed request and no locked database logged",
        met: failed_requests == 0 && locked_logged == 0,
    })
}

/// People released today, imported by `homeward import releases` in a
/// process of its own on the figure's database; its warnings and errors
/// are read as the daemon's are.
async fn cli_import(
    fixture: &Fixture,
    binary: std::path::PathBuf,
    args: &MixedArgs,
    today: chrono::NaiveDate,
    problems: &Problems,
) -> anyhow::Result<()> {
    let first = args.mixed_texts + args.mixed_import;
    let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
    for i in first..first + args.mixed_cli_import {
        csv.push_str(&format!("CLI-{i},Kai,{},{today}\n", mobile(i)));
    }
    let scratch = ScratchDir::new()?;
    let file = scratch.path().join("releases.csv");
    std::fs::write(&file, csv)?;
    let settings = cli_settings(&fixture.settings);
    let output = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(binary);
        command.args(["import", "releases"]).arg(&file);
        command.args(["--org", ORG_NAME]);
        for (key, value) in settings {
            command.env(format!("HOMEWARD__{key}"), value);
        }
        command.output().context("Failed to run homeward import")
    })
    .await??;
    let said = String::from_utf8_lossy(&output.stderr).to_lowercase();
    if let Some(line) = said.lines().find(|l| LOCKED.iter().any(|w| l.contains(w))) {
        problems.locked_logged.fetch_add(1, Ordering::Relaxed);
        problems.note(line.to_owned());
    }
    ensure!(output.status.success(), "{}: {said}", output.status);
    Ok(())
}

/// The daemon's settings that an import reads, as the CLI takes them from
/// its environment.
fn cli_settings(settings: &homeward::config::Settings) -> Vec<(&'static str, String)> {
    let path = |p: &std::path::Path| p.display().to_string();
    let keys = settings
        .database
        .key_path()
        .map(|p| path(&p))
        .unwrap_or_default();
    let planner = &settings.planner;
    vec![
        ("DATABASE__URL", settings.database.url.clone()),
        ("DATABASE__KEY_FILE", keys),
        ("LOG__LEVEL", "warn".to_owned()),
        ("TEMPLATES__DIRECTORY", path(&settings.templates.directory)),
        ("PLANNER__CAMPAIGNS_FILE", path(&planner.campaigns_file)),
        (
            "PLANNER__SEND_WINDOW_START",
            planner.send_window_start.to_string(),
        ),
        (
            "PLANNER__SEND_WINDOW_END",
            planner.send_window_end.to_string(),
        ),
        (
            "PLANNER__MIN_GAP_MINUTES",
            planner.min_gap_minutes.to_string(),
        ),
        ("PLANNER__DAILY_CAP", planner.daily_cap.to_string()),
    ]
}

/// What a database says when a writer could not get in: SQLite's busy
/// and locked, PostgreSQL's lock waits given up, and a pool with no
/// connection to spare.
const LOCKED: [&str; 5] = [
    "is locked",
    "deadlock",
    "lock timeout",
    "could not serialize",
    "pool timed out",
];

/// Count the daemon's warnings and errors about a locked database, for the
/// rest of this process.
fn watch_logs() -> Arc<Problems> {
    PROBLEMS
        .get_or_init(|| {
            let problems = Arc::new(Problems::default());
            // Only warnings and errors: with every event enabled, sqlx
            // would format each statement it runs, slowing later figures.
            let layer = LockedLogged(problems.clone()).with_filter(LevelFilter::WARN);
            let subscriber = tracing_subscriber::registry().with(layer);
            // Another subscriber set first would mean another watcher: fine.
            let _ = tracing::subscriber::set_global_default(subscriber);
            problems
        })
        .clone()
}

struct LockedLogged(Arc<Problems>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LockedLogged {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        // sqlx's slow-statement warning quotes the statement, whose
        // `SKIP LOCKED` is no error.
        if event.metadata().target().starts_with("sqlx::query") {
            return;
        }
        let mut text = String::new();
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                text.push_str(&format!("{}={value:?} ", field.name()));
            },
        );
        let lowered = text.to_lowercase();
        if LOCKED.iter().any(|words| lowered.contains(words)) {
            self.0.locked_logged.fetch_add(1, Ordering::Relaxed);
            self.0.note(text);
        }
    }
}

/// Wait until nothing is left to send (the import's texts included).
async fn wait_for_drain(fixture: &Fixture, limit: Duration) -> anyhow::Result<()> {
    let raw = fixture.raw().await?;
    let deadline = Instant::now() + limit;
    loop {
        let mut waiting = 0;
        for state in ["pending", "claimed", "retrying"] {
            waiting += raw.count(state).await?;
        }
        if waiting == 0 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "{waiting} texts still unsent after {} s",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    raw.close().await;
    Ok(())
}

#[derive(Clone)]
struct Load {
    http: reqwest::Client,
    base: String,
    bearer: String,
    problems: Arc<Problems>,
    done: Arc<AtomicBool>,
}

type Counting = tokio::task::JoinHandle<anyhow::Result<u64>>;

impl Load {
    /// Readers and STOP senders, until `done`; each counts its requests.
    async fn alongside(&self, args: &MixedArgs) -> (Counting, Counting) {
        let reads = self
            .clone()
            .repeat(args.mixed_readers, u32::MAX, |load, i| {
                Box::pin(async move {
                    let path = match i % 3 {
                        0 => "/v1/people?limit=100",
                        1 => "/v1/messages?limit=100",
                        _ => "/v1/messages?state=pending&limit=100",
                    };
                    let request = load.http.get(format!("{}{path}", load.base));
                    load.send(
                        request.header(reqwest::header::AUTHORIZATION, &load.bearer),
                        path,
                    )
                    .await
                })
            });
        // Each once: a STOP's confirmation is a text to send too, and
        // repeated STOPs would keep the queue from ever emptying.
        let stops = args.mixed_stops.min(args.mixed_texts);
        let stops = self.clone().repeat(args.mixed_stoppers, stops, |load, i| {
            Box::pin(async move { load.stop(i).await })
        });
        (reads, stops)
    }

    /// `clients` loops calling `each` with a running count until `done`
    /// or `limit` calls; how many calls were made.
    fn repeat<F>(self, clients: u32, limit: u32, each: F) -> Counting
    where
        F: Fn(Load, u32) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
            + Send
            + Sync
            + 'static,
    {
        let each = Arc::new(each);
        let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
        tokio::spawn(async move {
            let mut loops = tokio::task::JoinSet::new();
            for _ in 0..clients {
                let (load, each, next) = (self.clone(), each.clone(), next.clone());
                loops.spawn(async move {
                    while !load.done.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= limit {
                            break;
                        }
                        each(load.clone(), i).await;
                    }
                });
            }
            while let Some(finished) = loops.join_next().await {
                finished?;
            }
            Ok(u64::from(next.load(Ordering::Relaxed).min(limit)))
        })
    }

    /// New people released today, through the API.
    async fn import(&self, args: &MixedArgs, today: chrono::NaiveDate) -> anyhow::Result<()> {
        let first = args.mixed_texts;
        let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
        for i in first..first + args.mixed_import {
            csv.push_str(&format!("MIXED-{i},Robin,{},{today}\n", mobile(i)));
        }
        let request = self
            .http
            .post(format!("{}/v1/imports/releases", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.bearer)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv);
        let response = request.send().await.context("POST /v1/imports/releases")?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        ensure!(
            status.is_success(),
            "POST /v1/imports/releases: {status}: {body}"
        );
        Ok(())
    }

    /// A signed STOP from person `i`'s number.
    async fn stop(&self, i: u32) {
        let body = json!({
            "id": format!("mixed-stop-{i}-{}", rand::random::<u32>()),
            "from": e164(i),
            "to": "+447400000000",
            "text": "STOP",
        })
        .to_string();
        let url = format!("{}/webhooks/{HOOK}/inbound", self.base);
        let now = chrono::Utc::now().timestamp();
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                SIGNATURE_HEADER,
                signature_header(HOOK_SECRET, now, body.as_bytes()),
            )
            .body(body);
        self.send(request, "POST /webhooks/hook/inbound").await;
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) {
        let failed = match request.send().await {
            Ok(response) if !response.status().is_server_error() => None,
            Ok(response) => Some(format!(
                "{what}: {}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            )),
            Err(e) => Some(format!("{what}: {e}")),
        };
        if let Some(failed) = failed {
            self.problems
                .failed_requests
                .fetch_add(1, Ordering::Relaxed);
            self.problems.note(failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_database_the_daemon_warns_of_is_counted_and_nothing_else_is() {
        let problems = watch_logs();
        let before = problems.locked_logged.load(Ordering::Relaxed);
        tracing::warn!(
            error = "error returned from database: database is locked",
            "dispatch round failed"
        );
        tracing::error!(
            error = "canceling statement due to lock timeout",
            "import failed"
        );
        tracing::warn!("claim was lost before its outcome was recorded");
        tracing::info!(error = "database is locked", "not a warning");
        tracing::warn!(
            target: "sqlx::query",
            "slow statement: ... FOR NO KEY UPDATE SKIP LOCKED"
        );
        assert_eq!(problems.locked_logged.load(Ordering::Relaxed) - before, 2);
        let first = problems.first.lock().unwrap().clone().unwrap();
        assert!(first.contains("database is locked"), "{first}");
    }
}
