use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, spawn_app, spawn_app_with};

const RELEASES: &str = include_str!("../fixtures/releases.csv");
const APPOINTMENTS: &str = include_str!("../fixtures/appointments.csv");

async fn import_ok(app: &TestApp, kind: &str, csv: &str) -> Value {
    json_of(app.import(kind, csv.to_owned()).await, 200).await
}

async fn people_count(app: &TestApp) -> usize {
    json_of(app.get("/v1/people").await, 200).await["people"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_releases_file_is_imported_and_summarised() {
    let app = spawn_app().await;
    let summary = import_ok(&app, "releases", RELEASES).await;
    assert_eq!(summary["created"], 4);
    assert_eq!(summary["rejected"], 0);
    let people = json_of(app.get("/v1/people").await, 200).await;
    let lukasz = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_ref"] == "SPS-1003")
        .unwrap();
    assert_eq!(lukasz["first_name"], "Łukasz");
    assert_eq!(lukasz["language"], "pl");
    let events = json_of(
        app.get(&format!(
            "/v1/people/{}/events",
            lukasz["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(
        events["events"][0]["date"], "2026-12-02",
        "DD/MM/YYYY is read the UK way"
    );
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let app = spawn_app().await;
    import_ok(&app, "releases", RELEASES).await;
    let before = json_of(app.get("/v1/people").await, 200).await;
    let again = import_ok(&app, "releases", RELEASES).await;
    assert_eq!(
        (
            again["created"].clone(),
            again["updated"].clone(),
            again["unchanged"].clone()
        ),
        (json!(0), json!(0), json!(4))
    );
    assert_eq!(json_of(app.get("/v1/people").await, 200).await, before);
}

#[tokio::test]
async fn a_moved_date_in_a_new_file_updates_only_that_person() {
    let app = spawn_app().await;
    import_ok(&app, "releases", RELEASES).await;
    let moved = RELEASES.replace(
        "SPS-1001,Alex,07400 123456,2026-12-01",
        "SPS-1001,Alex,07400 123456,2026-12-08",
    );
    let summary = import_ok(&app, "releases", &moved).await;
    assert_eq!(
        (summary["updated"].clone(), summary["unchanged"].clone()),
        (json!(1), json!(3))
    );
}

#[tokio::test]
async fn bad_rows_are_named_by_line_and_column_and_good_rows_still_import() {
    let app = spawn_app().await;
    let csv = "external_ref,first_name,mobile,release_date\n\
               SPS-1,Alex,07400 123456,2026-12-01\n\
               SPS-2,Sam,0131 226 7777,2026-12-01\n\
               SPS-3,Jo,07400 123457,2026-13-01\n\
               SPS-1,Alex,07400 123456,2026-12-01\n\
               SPS-4,Kim,07400 123458\n";
    let summary = import_ok(&app, "releases", csv).await;
    assert_eq!(summary["created"], 1);
    assert_eq!(summary["rejected"], 4);
    let problems = summary["problems"].as_array().unwrap();
    let at = |i: usize| {
        (
            problems[i]["line"].as_u64().unwrap(),
            problems[i]["field"].as_str().unwrap(),
        )
    };
    assert_eq!(
        [at(0), at(1), at(2), at(3)],
        [
            (3, "mobile"),
            (4, "release_date"),
            (5, "external_ref"),
            (6, "row")
        ]
    );
    assert_eq!(problems[0]["value"], "0131 2****777", "masked");
    assert!(problems[2]["reason"].as_str().unwrap().contains("line 2"));
    assert_eq!(people_count(&app).await, 1);
}

/// A file of several write batches (1,000 rows each), checked a batch
/// ahead of the writing: a repeat of a row two batches back is still
/// refused, and a bad row in the middle batch refuses only itself.
#[tokio::test]
async fn a_large_file_refuses_a_repeat_of_a_row_from_an_earlier_batch() {
    let app = spawn_app().await;
    let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
    for i in 0..2_500 {
        let reference = match i {
            2_398 => "SPS-3".to_owned(),
            i => format!("SPS-{i}"),
        };
        let mobile = match i {
            1_498 => "0131 226 7777".to_owned(),
            i => format!("07400 {:06}", 100_000 + i),
        };
        csv.push_str(&format!("{reference},Alex,{mobile},2026-12-01\n"));
    }
    let summary = import_ok(&app, "releases", &csv).await;
    assert_eq!(summary["created"], 2_498);
    assert_eq!(summary["rejected"], 2);
    let problems = summary["problems"].as_array().unwrap();
    let found: Vec<(u64, &str)> = problems
        .iter()
        .map(|p| (p["line"].as_u64().unwrap(), p["field"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [(1_500, "mobile"), (2_400, "external_ref")]);
    assert!(problems[1]["reason"].as_str().unwrap().contains("line 5"));
}

/// The tables SQLite holds statistics for (none before anything analysed
/// them: `sqlite_stat1` does not exist yet).
async fn analysed_sqlite_tables(url: &str) -> Vec<String> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT DISTINCT tbl FROM sqlite_stat1")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default()
}

/// An import that changed its tables by a tenth or more leaves them with
/// statistics, so its re-plan walk and the pages read next are planned for
/// the tables' new size. (On PostgreSQL, which counts changes a moment
/// after they commit, `tests/store/upkeep.rs` checks the rule itself.)
#[tokio::test]
async fn an_import_leaves_statistics_for_the_tables_it_filled() {
    let app = spawn_app().await;
    let url = app.settings.database.url.clone();
    if url.starts_with("postgres") {
        eprintln!("skipped on PostgreSQL: tests/store/upkeep.rs checks its statistics rule");
        return;
    }
    let before = analysed_sqlite_tables(&url).await;
    assert!(!before.iter().any(|t| t == "events"), "{before:?}");
    import_ok(&app, "releases", RELEASES).await;
    let after = analysed_sqlite_tables(&url).await;
    for table in ["people", "events"] {
        assert!(after.iter().any(|t| t == table), "{table}: {after:?}");
    }
}

#[tokio::test]
async fn a_wrong_header_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let csv =
        "external_ref,first_name,mobile_number,release_date\nSPS-1,Alex,07400 123456,2026-12-01\n";
    let body = json_of(app.import("releases", csv).await, 422).await;
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("mobile"), "{message}");
    assert_eq!(people_count(&app).await, 0);
}

#[tokio::test]
async fn a_semicolon_separated_file_is_refused_with_a_hint() {
    let app = spawn_app().await;
    let csv = "external_ref;first_name;mobile;release_date\nSPS-1;Alex;07400 123456;2026-12-01\n";
    let body = json_of(app.import("releases", csv).await, 422).await;
    assert!(
        body["message"].as_str().unwrap().contains("semicolon"),
        "{body}"
    );
}

#[tokio::test]
async fn an_empty_file_is_refused() {
    let app = spawn_app().await;
    let body = json_of(app.import("releases", "").await, 422).await;
    assert!(
        body["message"].as_str().unwrap().contains("empty"),
        "{body}"
    );
}

#[tokio::test]
async fn spreadsheet_habits_are_tolerated() {
    let app = spawn_app().await;
    let csv = "\u{feff}External_Ref , First Name,Mobile,Release-Date,Establishment\r\n\
               SPS-1, Alex ,\"07400 123456\",2026-12-01,\"Low Moss, Bishopbriggs\"\r\n\
               \r\n\
               SPS-2,Sam,07400 123457,2026-12-02,\r\n";
    let summary = import_ok(&app, "releases", csv).await;
    assert_eq!(summary["created"], 2, "{summary}");
}

#[tokio::test]
async fn a_row_that_is_not_utf8_is_rejected_by_line() {
    let app = spawn_app().await;
    let mut csv = b"external_ref,first_name,mobile,release_date\nSPS-1,".to_vec();
    csv.extend_from_slice(b"Se\xe1n,07400 123456,2026-12-01\nSPS-2,Sam,07400 123457,2026-12-01\n");
    let summary = import_ok_bytes(&app, csv).await;
    assert_eq!(summary["created"], 1);
    assert_eq!(summary["problems"][0]["line"], 2);
    assert_eq!(summary["problems"][0]["field"], "first_name");
}

async fn import_ok_bytes(app: &TestApp, csv: Vec<u8>) -> Value {
    json_of(app.import("releases", csv).await, 200).await
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused() {
    let app = spawn_app_with(&[("server.max_import_bytes", "2048")]).await;
    let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
    for i in 0..100 {
        csv.push_str(&format!("SPS-{i},Alex,07400 123456,2026-12-01\n"));
    }
    let body = json_of(app.import("releases", csv).await, 413).await;
    assert_eq!(body["error"], "too_large");
    assert_eq!(people_count(&app).await, 0);
}

#[tokio::test]
async fn an_upload_must_say_it_is_csv() {
    let app = spawn_app().await;
    let req = app
        .request(
            reqwest::Method::POST,
            "/v1/imports/releases",
            Some(&app.token),
        )
        .await;
    let response = req
        .header("content-type", "application/json")
        .body(RELEASES)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn appointments_attach_to_people_already_imported() {
    let app = spawn_app().await;
    import_ok(&app, "releases", RELEASES).await;
    let csv = format!("{APPOINTMENTS}SPS-9999,gp-1,2026-12-02,09:00,gp,\n");
    let summary = import_ok(&app, "appointments", &csv).await;
    assert_eq!(summary["created"], 2);
    assert_eq!(summary["problems"][0]["line"], 4);
    assert_eq!(summary["problems"][0]["field"], "external_ref");
    let again = import_ok(&app, "appointments", APPOINTMENTS).await;
    assert_eq!(again["unchanged"], 2);
}

#[tokio::test]
async fn appointment_times_are_local_and_a_time_the_clocks_skip_is_refused() {
    let app = spawn_app().await;
    import_ok(&app, "releases", RELEASES).await;
    let csv = "external_ref,event_ref,date,time,appointment_type\n\
               SPS-1001,summer,2026-07-01,14:30,gp\n\
               SPS-1001,gap,2027-03-28,01:30,gp\n";
    let summary = import_ok(&app, "appointments", csv).await;
    assert_eq!(summary["problems"][0]["field"], "time");
    assert!(
        summary["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("clocks go forward")
    );
    let people = json_of(app.get("/v1/people").await, 200).await;
    let alex = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["external_ref"] == "SPS-1001")
        .unwrap();
    let events = json_of(
        app.get(&format!(
            "/v1/people/{}/events",
            alex["id"].as_str().unwrap()
        ))
        .await,
        200,
    )
    .await;
    let summer = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_ref"] == "summer")
        .unwrap();
    assert_eq!(summer["starts_at"], "2026-07-01T13:30:00Z", "14:30 BST");
}

#[tokio::test]
async fn refused_rows_name_the_column_but_not_the_personal_value() {
    let app = spawn_app().await;
    let csv = "external_ref,first_name,mobile,release_date,establishment\n\
               SPS 9,Siobh4n,07911 12345,2026-12-01,HMP\u{7}Barlinnie\n";
    let response = app.import("releases", csv).await;
    let text = response.text().await.unwrap();
    for personal in ["SPS 9", "Siobh4n", "07911 12345", "Barlinnie"] {
        assert!(!text.contains(personal), "{personal} echoed in {text}");
    }
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    let fields: Vec<_> = summary["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["external_ref", "first_name", "mobile", "establishment"]
    );
    assert_eq!(summary["problems"][2]["value"], "0791****345");
}
