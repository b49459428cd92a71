//! Data protection: what a stolen database file reveals, the keys that seal
//! it, and their rotation.

use std::sync::Arc;

use homeward::clock::Clock;
use homeward::privacy::Privacy;
use reqwest::Method;
use serde_json::json;
use tempfile::TempDir;

use crate::helpers::{MOBILE_A, MOBILE_A_E164, TestApp, json_of, spawn_app_with_fake_provider};
use crate::shutdown::{homeward, run};

const NOW: &str = "2026-12-01T10:00:00Z";
const RELEASES: &str = "external_ref,first_name,mobile,release_date\n\
                        SPS-1,Morag,07400 123456,2026-12-01\n\
                        SPS-2,Eilidh,07911 123457,2026-12-02\n";

/// Every way the numbers and names above could be written in clear.
const SECRETS: &[&str] = &[
    "7400123456",
    "7400 123456",
    "7911123457",
    "7911 123457",
    "Morag",
    "Eilidh",
];

fn database_bytes(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("homeward.db") && !name.ends_with(".keys")
        })
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn assert_nothing_in_clear(dir: &std::path::Path) {
    assert_none_in_clear(dir, SECRETS);
}

fn assert_none_in_clear(dir: &std::path::Path, secrets: &[&str]) {
    let files = database_bytes(dir);
    assert!(files.iter().any(|(name, _)| name.ends_with(".db")));
    for (name, bytes) in &files {
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret:?} is in clear in {name}");
        }
    }
}

/// PostgreSQL's files are the server's: read every row of every table.
async fn assert_no_row_in_clear(url: &str) {
    assert_no_row_holds(url, SECRETS).await;
}

async fn assert_no_row_holds(url: &str, secrets: &[&str]) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "messages"));
    for table in tables {
        let sql = format!("SELECT COALESCE(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t");
        let rows: String = sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap();
        for secret in secrets {
            assert!(!rows.contains(secret), "{secret:?} is in clear in {table}");
        }
    }
}

#[tokio::test]
async fn a_stolen_database_file_holds_no_number_name_or_text_in_clear() {
    let (app, server) = spawn_app_with_fake_provider(NOW).await;
    json_of(app.import("releases", RELEASES).await, 200).await;
    app.dispatch_all_pending().await;
    let stop = app.text_in("in-1", "STOP Morag here").await;
    assert_eq!(stop.status(), 200);
    app.dispatch_all_pending().await;
    assert!(
        !server.received_requests().await.unwrap().is_empty(),
        "texts were sent, so bodies were written"
    );
    if app.settings.database.url.starts_with("postgres") {
        assert_no_row_in_clear(&app.settings.database.url).await;
    } else {
        assert_nothing_in_clear(app.data_dir());
    }
    let people = json_of(app.get("/v1/people").await, 200).await;
    assert!(
        people.to_string().contains("Morag"),
        "the API still reads the sealed data: {people}"
    );
}

#[cfg(unix)]
#[test]
fn the_first_start_makes_a_key_file_only_its_owner_can_read_and_refuses_a_shared_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let (code, _, err) = run(&dir, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let keys = dir.path().join("homeward.db.keys");
    let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(err.contains("made new data keys"), "it says so: {err}");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run(&dir, &["migrate"]);
    assert_ne!(code, 0);
    assert!(err.contains("chmod 600"), "{err}");
}

fn import(dir: &TempDir) {
    let csv = dir.path().join("releases.csv");
    std::fs::write(&csv, RELEASES).unwrap();
    let (code, _, err) = run(dir, &["org", "create", "Throughcare"]);
    assert_eq!(code, 0, "{err}");
    let csv = csv.display().to_string();
    let (code, _, err) = run(dir, &["import", "releases", &csv, "--org", "Throughcare"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_lost_key_file_stops_start_up_instead_of_hiding_the_data() {
    let dir = TempDir::new().unwrap();
    import(&dir);
    let keys = dir.path().join("homeward.db.keys");
    std::fs::remove_file(&keys).unwrap();
    let (code, _, err) = run(&dir, &["migrate"]);
    assert_ne!(code, 0);
    assert!(err.contains("restore it from your backup"), "{err}");
    assert!(!keys.exists(), "no new key file replaces the lost one");
}

#[test]
fn rotating_the_keys_reseals_everything_and_opt_outs_still_hold() {
    let dir = TempDir::new().unwrap();
    import(&dir);
    let (code, _, err) = run(
        &dir,
        &["optout", "add", "07400 123456", "--reason", "by letter"],
    );
    assert_eq!(code, 0, "{err}");
    let (_, before, _) = run(&dir, &["keys", "status"]);
    let old = active_key(&before);
    let (code, out, err) = run(&dir, &["keys", "rotate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("re-sealed"), "{out}");
    let (_, after, _) = run(&dir, &["keys", "status"]);
    let new = active_key(&after);
    assert_ne!(old, new);
    assert!(after.contains(&format!("{old}: 0 values")), "{after}");
    assert!(!after.contains(&format!("{new}: 0 values")), "{after}");
    let (code, out, _) = run(&dir, &["keys", "retire"]);
    assert_eq!(code, 0);
    assert!(out.contains("Retired 1"), "{out}");
    let file = std::fs::read_to_string(dir.path().join("homeward.db.keys")).unwrap();
    assert!(!file.contains(&old), "the old key is gone: {file}");
    // The data opens under the new key alone, and look-ups still match.
    let (code, plan, err) = run(
        &dir,
        &["plan", "--from", "2026-12-01", "--to", "2026-12-10"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(plan.contains("SPS-1") && plan.contains("SPS-2"), "{plan}");
    assert_nothing_in_clear(dir.path());
    let (code, out, _) = run(
        &dir,
        &["optout", "remove", "07400 123456", "--reason", "asked"],
    );
    assert_eq!(code, 0, "the opt-out is still found by its hash: {out}");
}

fn active_key(status: &str) -> String {
    status
        .lines()
        .find(|l| l.contains("(active)"))
        .and_then(|l| l.trim().split(' ').next())
        .unwrap_or_else(|| panic!("an active key in {status}"))
        .to_owned()
}

#[test]
fn keys_can_come_from_the_environment_instead_of_a_file() {
    let dir = TempDir::new().unwrap();
    let (code, _, err) = run(&dir, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let keys = dir.path().join("homeward.db.keys");
    let text = std::fs::read_to_string(&keys).unwrap();
    std::fs::remove_file(&keys).unwrap();
    let out = homeward(&dir)
        .env("HOMEWARD__DATABASE__KEYS", &text)
        .args(["org", "create", "Team"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!keys.exists(), "no key file is made when keys are given");
}

/// A person released today who got their first text, replied, reached a
/// goal and opted out: something of every kind held about them.
async fn person_with_history(app: &TestApp) -> String {
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let event = json!({ "event_ref": "liberation", "kind": "liberation", "date": "2026-12-01" });
    json_of(app.post_event(&person, &event).await, 201).await;
    app.dispatch_all_pending().await;
    assert_eq!(app.text_in("in-1", "who is this").await.status(), 200);
    let goal = json!({ "goal": "gp_registered" });
    let path = format!("/v1/people/{person}/outcomes");
    assert!(
        app.send_json(Method::POST, &path, &goal)
            .await
            .status()
            .is_success()
    );
    assert_eq!(app.text_in("in-2", "STOP").await.status(), 200);
    person
}

#[tokio::test]
async fn a_person_can_have_a_copy_of_everything_held_about_them() {
    let (app, _server) = spawn_app_with_fake_provider(NOW).await;
    let person = person_with_history(&app).await;
    let export = json_of(
        app.get_as(&app.admin_token, &format!("/v1/people/{person}/export"))
            .await,
        200,
    )
    .await;
    assert_eq!(export["person"]["mobile"], MOBILE_A_E164, "{export}");
    assert_eq!(export["person"]["first_name"], "Alex");
    assert_eq!(export["events"][0]["event_ref"], "liberation");
    let messages = export["messages"].as_array().unwrap();
    assert!(messages.len() >= 3, "every planned text: {export}");
    let sent = messages
        .iter()
        .find(|m| m["state"] == "sent")
        .expect("the sent text");
    assert!(sent["body"].as_str().unwrap().len() > 20, "with its words");
    assert!(
        sent["history"].as_array().unwrap().len() >= 3,
        "and its history"
    );
    let replies: Vec<&str> = export["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["who is this", "STOP"]);
    assert_eq!(export["goals_reached"], json!(["gp_registered"]));
    assert_eq!(export["opt_out"]["source"], "reply");
    assert_eq!(export["attention"][0]["kind"], "who_is_this");
    let path = format!("/v1/people/{person}/export");
    let staff = app.get_as(&app.token, &path).await;
    assert_eq!(staff.status(), 403, "staff tokens cannot export");
    let other_org = app.new_org("Other").await;
    let other = app
        .new_token(other_org, homeward::domain::Role::Admin)
        .await;
    let theirs = app.get_as(&other, &path).await;
    assert_eq!(theirs.status(), 404, "another organisation sees nothing");
    let audit = app
        .get_as(&app.admin_token, &format!("/v1/audit?person={person}"))
        .await;
    let audit = json_of(audit, 200).await;
    assert!(
        audit.to_string().contains("exported"),
        "the export is audited: {audit}"
    );
}

async fn erase(app: &TestApp, person: &str) -> reqwest::Response {
    let path = format!("/v1/people/{person}");
    let request = app.request(Method::DELETE, &path, Some(&app.admin_token));
    request.await.send().await.unwrap()
}

#[tokio::test]
async fn erasure_removes_the_person_and_says_what_was_kept_and_why() {
    let (app, _server) = spawn_app_with_fake_provider(NOW).await;
    let person = person_with_history(&app).await;
    let erasure = json_of(erase(&app, &person).await, 200).await;
    assert_eq!(erasure["erased"]["events"], 1, "{erasure}");
    assert!(
        erasure["erased"]["messages"].as_u64().unwrap() >= 3,
        "{erasure}"
    );
    assert_eq!(erasure["erased"]["replies"], 2, "{erasure}");
    let kept = erasure["kept"].to_string();
    assert!(kept.contains("opt-out") && kept.contains("why"), "{kept}");
    assert_eq!(app.get(&format!("/v1/people/{person}")).await.status(), 404);
    assert_eq!(
        app.get_as(&app.admin_token, &format!("/v1/people/{person}/export"))
            .await
            .status(),
        404
    );
    let messages = json_of(app.get("/v1/messages").await, 200).await;
    assert_eq!(messages["messages"], json!([]), "no text of theirs is left");
    let again = app.add_person("SPS-9", MOBILE_A).await;
    let shown = json_of(app.get(&format!("/v1/people/{again}")).await, 200).await;
    assert_eq!(
        shown["opted_out"], true,
        "the STOP outlives the erasure: {shown}"
    );
    assert_eq!(erase(&app, &person).await.status(), 404);
}

#[tokio::test]
async fn the_retention_sweep_deletes_people_past_their_time_and_keeps_the_rest() {
    let (app, _server) = spawn_app_with_fake_provider(NOW).await;
    let done = person_with_history(&app).await;
    let waiting = app.add_person("SPS-2", "07911 123457").await;
    let appointment = json!({
        "event_ref": "gp", "kind": "appointment", "starts_at": "2027-06-01T10:00:00Z",
        "appointment_type": "gp"
    });
    json_of(app.post_event(&waiting, &appointment).await, 201).await;
    let clock: Arc<dyn Clock> = app.clock.clone();
    let privacy = Privacy::new(app.store.clone(), clock, chrono::Duration::days(90));
    let report = privacy.retire_expired().await.unwrap();
    assert_eq!(report.people, 0, "nobody is past 90 days yet");
    app.clock.advance(chrono::Duration::days(91));
    // Texts still waiting for the first person expire on the next round.
    app.dispatch_all_pending().await;
    let report = privacy.retire_expired().await.unwrap();
    assert_eq!(report.people, 1, "{report:?}");
    assert!(report.messages >= 3, "{report:?}");
    assert_eq!(app.get(&format!("/v1/people/{done}")).await.status(), 404);
    let audit = app
        .get_as(&app.admin_token, &format!("/v1/audit?person={done}"))
        .await;
    let audit = json_of(audit, 200).await.to_string();
    assert!(
        audit.contains("retention") && audit.contains("system"),
        "the deletion is audited as the daemon's: {audit}"
    );
    assert_eq!(
        app.get(&format!("/v1/people/{waiting}")).await.status(),
        200,
        "an appointment still to come keeps its person"
    );
}

/// A name and a number as staff might type them into a reason or a note.
const TYPED: &[&str] = &["Morag Ferguson", "07911 654321", "rang from"];

fn typed(what: &str) -> String {
    format!("{what}: Morag Ferguson rang from 07911 654321")
}

#[tokio::test]
async fn words_staff_type_about_a_person_are_sealed_and_go_when_the_person_is_erased() {
    let (app, _server) = spawn_app_with_fake_provider(NOW).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let event = json!({ "event_ref": "liberation", "kind": "liberation", "date": "2026-12-05" });
    json_of(app.post_event(&person, &event).await, 201).await;
    let waiting = app.messages_of(&person).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = format!("/v1/messages/{waiting}/cancel");
    let reason = json!({ "reason": typed("moved") });
    json_of(app.send_json(Method::POST, &cancel, &reason).await, 200).await;
    assert_eq!(app.text_in("in-1", "hello").await.status(), 200);
    let items = json_of(app.get("/v1/attention").await, 200).await;
    let resolve = format!(
        "/v1/attention/{}/resolve",
        items["items"][0]["id"].as_str().unwrap()
    );
    let note = json!({ "note": typed("called") });
    json_of(app.send_json(Method::POST, &resolve, &note).await, 200).await;
    let add = json!({ "person_id": person, "reason": typed("asked in person") });
    json_of(app.send_json(Method::POST, "/v1/optouts", &add).await, 201).await;
    let listed = json_of(app.get("/v1/optouts").await, 200).await;
    assert_eq!(
        listed["optouts"][0]["reason"],
        typed("asked in person"),
        "staff still read it"
    );
    let remove = json!({ "reason": typed("asked again") });
    let path = format!("/v1/optouts/{person}");
    let removed = app.send_json_as(&app.admin_token, Method::DELETE, &path, &remove);
    json_of(removed.await, 200).await;
    json_of(erase(&app, &person).await, 200).await;
    if app.settings.database.url.starts_with("postgres") {
        assert_no_row_holds(&app.settings.database.url, TYPED).await;
    } else {
        assert_none_in_clear(app.data_dir(), TYPED);
    }
}

/// `homeward optout export` with one opt-out whose reason is `reason`: the
/// CSV it prints.
fn export_with_reason(reason: &str) -> String {
    let dir = TempDir::new().unwrap();
    let reason = format!("--reason={reason}");
    let (code, _, err) = run(&dir, &["optout", "add", "07400 123456", &reason]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&dir, &["optout", "export"]);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn an_exported_reason_that_a_spreadsheet_would_run_as_a_formula_is_kept_as_text() {
    let reason = "=HYPERLINK(\"http://evil.example\",\"open\")";
    let out = export_with_reason(reason);
    let mut csv = csv::Reader::from_reader(out.as_bytes());
    let headers = csv.headers().unwrap().clone();
    assert_eq!(&headers, vec!["mobile_hash", "since", "source", "reason"]);
    let row = csv.records().next().expect("one opt-out").unwrap();
    assert_eq!(
        &row[3],
        format!("'{reason}"),
        "a quote in front, the rest intact"
    );
    assert!(
        !row[0].contains("7400"),
        "a keyed hash, not the number: {out}"
    );
    for start in ["+", "-", "@"] {
        let out = export_with_reason(&format!("{start}1+1"));
        assert!(out.contains(&format!(",'{start}1+1")), "{out}");
    }
}

#[test]
fn the_export_help_says_it_prints_hashes_not_numbers() {
    let dir = TempDir::new().unwrap();
    let (code, out, err) = run(&dir, &["optout", "export", "--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("hash"), "{out}");
    assert!(!out.contains("in full"), "{out}");
}
