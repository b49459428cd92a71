//! The real daemon, killed with SIGKILL mid-run and started again: every
//! text still arrives, and no more than the sends in flight at the moment of
//! the crash arrive twice (the one window the design allows: between the
//! provider accepting a text and its outcome being recorded).

#[path = "support/daemon.rs"]
mod daemon;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use tempfile::TempDir;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PEOPLE: usize = 2000;
const CONCURRENCY: usize = 8;
/// Texts claimed per round: outcomes are recorded in groups, and a text is
/// sent only while fewer than a round's texts are sent and unrecorded, so
/// at most one round of sends can be unrecorded when a daemon dies.
const BATCH: usize = 50;

fn homeward(dir: &TempDir, hook: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeward"));
    let rules = dir.path().join("campaigns.toml");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "HOMEWARD__DATABASE__URL",
            format!("sqlite://{}", dir.path().join("h.db").display()),
        )
        .env("HOMEWARD__SERVER__BIND", "127.0.0.1:0")
        .env("HOMEWARD__LOG__LEVEL", "warn,homeward::startup=info")
        .env("HOMEWARD__PLANNER__CAMPAIGNS_FILE", rules)
        .env("HOMEWARD__PLANNER__SEND_WINDOW_START", "00:00")
        .env("HOMEWARD__PLANNER__SEND_WINDOW_END", "23:59")
        .env("HOMEWARD__PROVIDERS__HOOK__KIND", "webhook")
        .env("HOMEWARD__PROVIDERS__HOOK__URL", hook)
        .env("HOMEWARD__PROVIDERS__HOOK__SECRET", "crash-test")
        .env("HOMEWARD__PROVIDERS__HOOK__RATE_PER_SECOND", "500")
        .env("HOMEWARD__PROVIDERS__HOOK__BURST", "50")
        .env("HOMEWARD__DISPATCH__PROVIDERS", "[\"hook\"]")
        .env("HOMEWARD__DISPATCH__CONCURRENCY", CONCURRENCY.to_string())
        .env("HOMEWARD__DISPATCH__BATCH_SIZE", BATCH.to_string())
        .env("HOMEWARD__DISPATCH__LEASE_SECS", "2");
    cmd
}

fn prepare(dir: &TempDir, hook: &str) {
    let rule = "[[rule]]\nid = \"now\"\nevent = \"liberation\"\noffset_days = 0\nsend_at = \"00:00\"\n\
                template = \"gp_registration\"\nexpires_after_hours = 72\n";
    std::fs::write(dir.path().join("campaigns.toml"), rule).unwrap();
    let csv = daemon::released_today(PEOPLE);
    let file = dir.path().join("releases.csv");
    std::fs::write(&file, csv).unwrap();
    let run = |args: &[&str]| {
        let out = homeward(dir, hook).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["org", "create", "Crash"]);
    run(&[
        "import",
        "releases",
        file.to_str().unwrap(),
        "--org",
        "Crash",
    ]);
}

async fn references(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn wait_for(server: &MockServer, unique: usize, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let mut seen = references(server).await;
        seen.sort();
        seen.dedup();
        if seen.len() >= unique {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {unique} texts arrived",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_arrives_after_a_crash_and_duplicates_stay_within_one_round() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let hook = format!("{}/sms", server.uri());
    let dir = tempfile::tempdir().unwrap();
    prepare(&dir, &hook);

    let mut first = daemon::serve(homeward(&dir, &hook)).await.0;
    wait_for(&server, PEOPLE / 4, Duration::from_secs(60)).await;
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let at_crash = references(&server).await.len();
    assert!(
        at_crash < PEOPLE,
        "the crash came before the end ({at_crash} sent)"
    );

    let mut second = daemon::serve(homeward(&dir, &hook)).await.0;
    wait_for(&server, PEOPLE, Duration::from_secs(120)).await;
    let pid = second.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), second.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));

    let mut counts: HashMap<String, usize> = HashMap::new();
    for reference in references(&server).await {
        *counts.entry(reference).or_default() += 1;
    }
    assert_eq!(counts.len(), PEOPLE, "every text arrived");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    eprintln!("crash after {at_crash} sends: {duplicates} duplicates");
    assert!(
        duplicates <= BATCH,
        "{duplicates} duplicates; at most one round ({BATCH}) goes unrecorded"
    );
}

/// What the fake provider saw: texts it was asked to send, and the most of
/// them at any moment whose outcome the daemon had not yet written.
#[derive(Default)]
struct Window {
    asked: std::sync::Mutex<HashSet<String>>,
    most_unrecorded: AtomicUsize,
}

impl Window {
    fn asked(&self) -> usize {
        self.asked.lock().unwrap().len()
    }
}

/// A provider that, as each text arrives, counts the texts asked for so far
/// against those the database already shows as sent.
async fn window_provider(db: SqlitePool, seen: Arc<Window>) -> String {
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (db, seen) = (db.clone(), seen.clone());
            async move {
                let text: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let reference = text["reference"].as_str().unwrap().to_owned();
                let asked = {
                    let mut asked = seen.asked.lock().unwrap();
                    asked.insert(reference);
                    asked.len()
                };
                let recorded: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE state = 'sent'")
                        .fetch_one(&db)
                        .await
                        .unwrap();
                let unrecorded = asked.saturating_sub(recorded as usize);
                seen.most_unrecorded.fetch_max(unrecorded, Ordering::SeqCst);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/sms")
}

/// Wait up to a minute for `done`.
async fn until(done: impl Fn() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not reach the provider within a minute"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn texts_sent_and_not_yet_recorded_stay_within_one_batch_while_writes_wait() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.db");
    // The daemon creates the database; the provider's reads need it first.
    prepare(&dir, "http://127.0.0.1:9/unused");
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .busy_timeout(Duration::from_secs(10));
    let db = SqlitePoolOptions::new()
        .max_connections(3)
        .connect_with(options)
        .await
        .unwrap();
    let seen = Arc::new(Window::default());
    let hook = window_provider(db.clone(), seen.clone()).await;

    // A lease far longer than the hold: no claim runs out and is sent twice.
    let mut cmd = homeward(&dir, &hook);
    cmd.env("HOMEWARD__DISPATCH__LEASE_SECS", "60");
    let mut daemon = daemon::serve(cmd).await.0;
    until(|| seen.asked() >= PEOPLE / 10, "the first texts").await;
    // Writes wait, as behind a long import: sends may go on only while
    // there is room for them in the window.
    let mut writer = db.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *writer)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sqlx::query("ROLLBACK").execute(&mut *writer).await.unwrap();
    drop(writer);
    until(|| seen.asked() >= PEOPLE, "every text").await;
    daemon.start_kill().unwrap();
    daemon.wait().await.unwrap();

    let most = seen.most_unrecorded.load(Ordering::SeqCst);
    eprintln!("at most {most} texts sent and not yet recorded");
    assert!(
        most > CONCURRENCY,
        "the held write lock should have let sends outrun their records ({most})"
    );
    assert!(
        most <= BATCH,
        "{most} texts were sent and not yet recorded; a crash would send at most one batch ({BATCH}) again"
    );
}
