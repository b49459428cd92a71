//! The real `homeward` binary: operator commands, serving, and a graceful
//! stop on SIGTERM.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_homeward");

pub(crate) fn homeward(dir: &TempDir) -> Command {
    let mut cmd = Command::new(BIN);
    let db = format!("sqlite://{}", dir.path().join("homeward.db").display());
    cmd.env("HOMEWARD__DATABASE__URL", db)
        .env("HOMEWARD__SERVER__BIND", "127.0.0.1:0")
        .env("HOMEWARD__LOG__LEVEL", "info")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

pub(crate) fn run(dir: &TempDir, args: &[&str]) -> (i32, String, String) {
    let out = homeward(dir).args(args).output().expect("homeward runs");
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

#[test]
fn operator_commands_create_an_org_a_token_and_import_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(&dir, &["org", "create", "Barlinnie Throughcare"]);
    assert_eq!(code, 0);
    assert!(out.contains("Barlinnie Throughcare"));
    let (code, _, err) = run(&dir, &["org", "create", "Barlinnie Throughcare"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");

    let (code, token, _) = run(&dir, &["token", "create", "--org", "Barlinnie Throughcare"]);
    assert_eq!(code, 0);
    assert!(token.trim().starts_with("hw_"));
    let (code, _, err) = run(&dir, &["token", "create", "--org", "Nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("no organisation named \"Nobody\""), "{err}");

    let args = [
        "import",
        "releases",
        "tests/fixtures/releases.csv",
        "--org",
        "Barlinnie Throughcare",
    ];
    let (code, out, _) = run(&dir, &args);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("4 created, 0 updated, 0 unchanged, 0 rejected"),
        "{out}"
    );
    let (code, out, _) = run(&dir, &args);
    assert_eq!(code, 0);
    assert!(
        out.contains("0 created, 0 updated, 4 unchanged, 0 rejected"),
        "{out}"
    );
}

#[test]
fn an_import_with_rejected_rows_exits_non_zero_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    run(&dir, &["org", "create", "Team"]);
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "external_ref,first_name,mobile,release_date\nSPS-1,Al,07400 123456,2026-12-01\nSPS-2,Bo,0800 22 44 88,2026-12-01\n").unwrap();
    let (code, out, _) = run(
        &dir,
        &[
            "import",
            "releases",
            file.to_str().unwrap(),
            "--org",
            "Team",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("1 created, 0 updated, 0 unchanged, 1 rejected"),
        "{out}"
    );
    assert!(
        out.contains("line 3: mobile \"0800 2**** 88\" is a freephone number"),
        "{out}"
    );
}

#[test]
fn a_bad_setting_stops_start_up_naming_key_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = homeward(&dir)
        .arg("serve")
        .env("HOMEWARD__TIME__ZONE", "Mars/Olympus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("Mars/Olympus") && err.contains("zone"),
        "{err}"
    );
}

#[tokio::test]
async fn sigterm_stops_the_daemon_gracefully_with_exit_code_zero() {
    let dir = tempfile::tempdir().unwrap();
    run(&dir, &["org", "create", "Team"]);
    let (_, token, _) = run(&dir, &["token", "create", "--org", "Team"]);
    let (mut child, address) = crate::daemon::serve(homeward(&dir)).await;
    let base = format!("http://{address}");

    let client = reqwest::Client::new();
    let response = client
        .get(format!("{base}/v1/people"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    let people: Value = response.json().await.unwrap();
    assert_eq!(
        people["people"],
        serde_json::json!([]),
        "the CLI's token works against the daemon"
    );

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the daemon stops within its grace period")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "no longer listening"
    );
}

fn future_releases(dir: &TempDir, days_ahead: u64) -> (std::path::PathBuf, chrono::NaiveDate) {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    let date = today + chrono::Days::new(days_ahead);
    let csv = format!(
        "external_ref,first_name,mobile,release_date\nSPS-1,Alex,07400 123456,{date}\nSPS-2,Sam,07400 123457,{date}\n"
    );
    let file = dir.path().join("cohort.csv");
    std::fs::write(&file, csv).unwrap();
    (file, date)
}

#[test]
fn the_plan_preview_of_a_file_shows_each_text_in_local_and_utc_time_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (file, date) = future_releases(&dir, 30);
    let (code, out, err) = run(
        &dir,
        &[
            "plan",
            "--releases",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(
        rows.len(),
        6,
        "two people, three default liberation texts each"
    );
    let gp: Vec<_> = rows
        .iter()
        .filter(|r| r["rule"] == "liberation_gp_registration")
        .collect();
    assert_eq!(gp.len(), 2);
    let ten = chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap();
    let expected = homeward::planner::timing::local_instant(chrono_tz::Europe::London, date, ten);
    assert_eq!(
        gp[0]["send_at_utc"],
        expected.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert!(
        gp[0]["send_at_local"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{date} 10:00")),
        "{rows:?}"
    );
    assert_eq!(gp[0]["state"], "pending");
    assert_eq!(gp[0]["segments"], 1);
    let (_, orgs, _) = run(&dir, &["org", "list"]);
    assert_eq!(orgs.trim(), "", "a file preview stores nothing");
}

#[test]
fn the_plan_preview_of_stored_events_lists_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let (file, date) = future_releases(&dir, 20);
    run(&dir, &["org", "create", "Team"]);
    let (code, _, _) = run(
        &dir,
        &[
            "import",
            "releases",
            file.to_str().unwrap(),
            "--org",
            "Team",
        ],
    );
    assert_eq!(code, 0);
    let day = date.to_string();
    let (code, out, err) = run(&dir, &["plan", "--from", &day, "--to", &day]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "a header and the two GP texts on the day: {out}"
    );
    assert!(
        lines[1].contains("SPS-1") && lines[1].contains("gp_registration"),
        "{out}"
    );
    let (code, _, err) = run(&dir, &["plan", "--from", &day]);
    assert_eq!(code, 1);
    assert!(err.contains("--from DATE --to DATE"), "{err}");
}

#[test]
fn the_operator_manages_the_suppression_list_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _) = run(
        &dir,
        &[
            "optout",
            "add",
            "07400 123456",
            "--reason",
            "asked by letter",
        ],
    );
    assert_eq!(code, 0);
    let (_, list, _) = run(&dir, &["optout", "list"]);
    assert!(
        list.contains("operator\tasked by letter") && !list.contains("7400123456"),
        "only a keyed hash of the number is kept: {list}"
    );
    let (_, export, _) = run(&dir, &["optout", "export"]);
    assert!(
        export.starts_with("mobile_hash,since,source,reason\n") && !export.contains("7400123456"),
        "{export}"
    );
    let (code, _, err) = run(&dir, &["optout", "remove", "07400 123456", "--reason", " "]);
    assert_eq!(code, 1);
    assert!(err.contains("--reason"), "{err}");
    assert_eq!(
        run(
            &dir,
            &[
                "optout",
                "remove",
                "07400 123456",
                "--reason",
                "asked again"
            ]
        )
        .0,
        0
    );
    assert_eq!(
        run(
            &dir,
            &["optout", "remove", "07400 123456", "--reason", "again"]
        )
        .0,
        1
    );
}

#[test]
fn staff_accounts_are_made_from_the_command_line_with_a_one_time_link() {
    let dir = tempfile::tempdir().unwrap();
    run(&dir, &["org", "create", "Team"]);
    let create = [
        "user",
        "create",
        "--org",
        "Team",
        "--email",
        "Sam@Example.org",
    ];
    let (code, out, err) = run(&dir, &create);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("http://127.0.0.1:0/set-password?token="),
        "{out}"
    );
    let (code, _, err) = run(&dir, &create);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run(&dir, &["user", "create", "--org", "Team", "--email", "sam"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--email") && err.contains("correct format"),
        "{err}"
    );
    let (code, out, _) = run(&dir, &["user", "disable", "--email", "sam@example.org"]);
    assert_eq!(code, 0);
    assert!(out.contains("sessions have ended"), "{out}");
    let (code, _, err) = run(&dir, &["user", "disable", "--email", "nobody@example.org"]);
    assert_eq!(code, 1);
    assert!(err.contains("no account"), "{err}");
}

#[test]
fn the_example_file_is_dated_today_and_imports_without_template_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let (code, csv, _) = run(&dir, &["example", "releases"]);
    assert_eq!(code, 0);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive();
    assert!(
        csv.contains(&format!("SPS-1001,Alex,07400 123456,{today},")),
        "{csv}"
    );
    let file = dir.path().join("releases.csv");
    std::fs::write(&file, csv).unwrap();
    run(&dir, &["org", "create", "Team"]);
    let path = file.display().to_string();
    let (code, out, err) = run(&dir, &["import", "releases", &path, "--org", "Team"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("5 created"), "{out}");
    // The template warnings are the daemon's to report at start-up.
    assert!(!err.contains("WARN"), "{err}");
}

#[test]
fn serve_on_an_empty_database_prints_a_link_to_create_the_first_admin() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = homeward(&dir)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("/setup?token=") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("create the"), "{seen}");
    assert!(
        seen.contains("http://127.0.0.1:") && seen.contains("/setup?token="),
        "{seen}"
    );
}
