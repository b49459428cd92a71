//! The real daemon, killed with SIGKILL in the middle of a CSV import over
//! HTTP and started again: every event the import stored gets its texts,
//! and the audit trail records the import, though it never finished.

#[path = "support/daemon.rs"]
mod daemon;

use std::process::Command;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::SqlitePoolOptions;
use tempfile::TempDir;

const PEOPLE: usize = 20_000;
/// `ingest::IMPORT_LEASE`: a run silent this long is taken as dead.
const LEASE: Duration = Duration::from_secs(15);

fn homeward(dir: &TempDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeward"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOMEWARD__DATABASE__URL", database_url(dir))
        .env("HOMEWARD__SERVER__BIND", "127.0.0.1:0")
        .env("HOMEWARD__LOG__LEVEL", "warn,homeward::startup=info")
        .env(
            "HOMEWARD__PLANNER__CAMPAIGNS_FILE",
            dir.path().join("campaigns.toml"),
        )
        .env("HOMEWARD__DISPATCH__ENABLED", "false");
    cmd
}

fn database_url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("h.db").display())
}

/// A rule texting on liberation day, and a file of people released today.
fn prepare(dir: &TempDir) -> (Vec<u8>, String) {
    let rule = "[[rule]]\nid = \"day\"\nevent = \"liberation\"\noffset_days = 0\nsend_at = \"10:00\"\n\
                template = \"gp_registration\"\nexpires_after_hours = 72\n";
    std::fs::write(dir.path().join("campaigns.toml"), rule).unwrap();
    let run = |args: &[&str]| {
        let out = homeward(dir).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["org", "create", "Crash"]);
    let token = run(&["token", "create", "--org", "Crash"])
        .trim()
        .to_owned();
    let csv = daemon::released_today(PEOPLE);
    (csv.into_bytes(), token)
}

fn upload(address: &str, token: &str, csv: Vec<u8>) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("http://{address}/v1/imports/releases"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
}

async fn database(dir: &TempDir) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&database_url(dir))
        .await
        .unwrap()
}

async fn count(db: &SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_part_way_is_planned_and_audited_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, token) = prepare(&dir);
    let (mut first, address) = daemon::serve(homeward(&dir)).await;
    let import = tokio::spawn(upload(&address, &token, csv.clone()).send());
    let db = database(&dir).await;
    // Killed once some rows are stored, before the import has answered.
    while count(&db, "SELECT COUNT(*) FROM people").await == 0 {
        assert!(!import.is_finished(), "the import ended before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    assert!(import.await.unwrap().is_err(), "the import never answered");
    let stored = count(&db, "SELECT COUNT(*) FROM people").await;
    eprintln!("killed with {stored} of {PEOPLE} people stored");

    let (_second, address) = daemon::serve(homeward(&dir)).await;
    let again = upload(&address, &token, csv).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let unplanned = "SELECT COUNT(*) FROM events e \
                     WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.event_id = e.id)";
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM events").await,
        PEOPLE as i64
    );
    assert_eq!(count(&db, unplanned).await, 0, "every event has its text");

    let interrupted = "SELECT COUNT(*) FROM audit_log WHERE action = 'imported' \
                       AND detail LIKE 'interrupted%'";
    let deadline = tokio::time::Instant::now() + LEASE * 3;
    while count(&db, interrupted).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the interrupted import was never put on the audit trail"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let open = "SELECT COUNT(*) FROM import_runs WHERE finished_at IS NULL";
    assert_eq!(count(&db, open).await, 0, "no import is left open");
    let imports = "SELECT COUNT(*) FROM audit_log WHERE action = 'imported'";
    assert_eq!(
        count(&db, imports).await,
        2,
        "the interrupted import and the re-import"
    );
}
