use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{MOBILE_A, TestApp, json_of, spawn_app};

fn liberation(date: &str) -> Value {
    json!({ "event_ref": "liberation", "kind": "liberation", "date": date, "establishment": "HMP Barlinnie" })
}

fn appointment(starts_at: &str) -> Value {
    json!({ "event_ref": "gp-1", "kind": "appointment", "starts_at": starts_at, "appointment_type": "gp", "place": "Govan Health Centre" })
}

async fn person_with_event(app: &TestApp, event: &Value) -> (String, Value) {
    let person = app.add_person("SPS-1001", MOBILE_A).await;
    let body = json_of(app.post_event(&person, event).await, 201).await;
    (person, body["event"].clone())
}

#[tokio::test]
async fn a_liberation_date_round_trips() {
    let app = spawn_app().await;
    let (person, event) = person_with_event(&app, &liberation("2026-12-01")).await;
    assert_eq!(event["kind"], "liberation");
    assert_eq!(event["date"], "2026-12-01");
    assert_eq!(event["status"], "expected");
    let listed = json_of(app.get(&format!("/v1/people/{person}/events")).await, 200).await;
    assert_eq!(listed["events"], json!([event.clone()]));
    let id = event["id"].as_str().unwrap();
    assert_eq!(
        json_of(
            app.get(&format!("/v1/people/{person}/events/{id}")).await,
            200
        )
        .await,
        event
    );
}

#[tokio::test]
async fn sending_the_same_event_again_changes_nothing() {
    let app = spawn_app().await;
    let (person, event) = person_with_event(&app, &liberation("2026-12-01")).await;
    let again = json_of(
        app.post_event(&person, &liberation("01/12/2026")).await,
        200,
    )
    .await;
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(again["event"], event);
}

#[tokio::test]
async fn a_moved_release_date_updates_the_same_event() {
    let app = spawn_app().await;
    let (person, event) = person_with_event(&app, &liberation("2026-12-01")).await;
    let mut moved = liberation("2026-12-04");
    moved["status"] = json!("confirmed");
    let body = json_of(app.post_event(&person, &moved).await, 200).await;
    assert_eq!(body["outcome"], "updated");
    assert_eq!(body["event"]["id"], event["id"]);
    assert_eq!(body["event"]["date"], "2026-12-04");
    assert_eq!(body["event"]["status"], "confirmed");
}

#[tokio::test]
async fn an_appointment_is_stored_in_utc() {
    let app = spawn_app().await;
    let (_, event) = person_with_event(&app, &appointment("2026-07-03T14:30:00+01:00")).await;
    assert_eq!(event["starts_at"], "2026-07-03T13:30:00Z");
    assert_eq!(event["appointment_type"], "gp");
    assert_eq!(event["status"], "scheduled");
}

#[tokio::test]
async fn an_appointment_time_without_a_zone_is_refused() {
    let app = spawn_app().await;
    let person = app.add_person("SPS-1001", MOBILE_A).await;
    let body = json_of(
        app.post_event(&person, &appointment("2026-12-03T14:30:00"))
            .await,
        422,
    )
    .await;
    assert_eq!(body["fields"][0]["field"], "starts_at");
    assert!(
        body["fields"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("time zone")
    );
    assert_eq!(
        json_of(app.get(&format!("/v1/people/{person}/events")).await, 200).await["events"],
        json!([])
    );
}

#[tokio::test]
async fn impossible_dates_and_unknown_words_are_refused_with_the_choices() {
    let app = spawn_app().await;
    let person = app.add_person("SPS-1001", MOBILE_A).await;
    let body = json_of(
        app.post_event(&person, &liberation("2026-02-30")).await,
        422,
    )
    .await;
    assert_eq!(body["fields"][0]["field"], "date");
    let mut wrong = appointment("2026-12-03T14:30:00Z");
    wrong["appointment_type"] = json!("dentistry");
    let body = json_of(app.post_event(&person, &wrong).await, 422).await;
    assert!(
        body["fields"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("addiction_service")
    );
    let body = json_of(
        app.post_event(&person, &json!({ "event_ref": "x", "kind": "party" }))
            .await,
        422,
    )
    .await;
    assert_eq!(body["fields"][0]["field"], "kind");
}

#[tokio::test]
async fn an_appointment_is_cancelled_by_its_status() {
    let app = spawn_app().await;
    let (person, event) = person_with_event(&app, &appointment("2026-12-03T14:30:00Z")).await;
    let id = event["id"].as_str().unwrap();
    let path = format!("/v1/people/{person}/events/{id}");
    let cancelled = json_of(
        app.send_json(Method::PATCH, &path, &json!({ "status": "cancelled" }))
            .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["starts_at"], event["starts_at"]);
    let bad = app
        .send_json(Method::PATCH, &path, &json!({ "date": "2026-12-05" }))
        .await;
    assert_eq!(json_of(bad, 422).await["fields"][0]["field"], "date");
    assert_eq!(
        json_of(app.get(&path).await, 200).await["status"],
        "cancelled"
    );
}

#[tokio::test]
async fn events_of_someone_unknown_are_not_found() {
    let app = spawn_app().await;
    let missing = "0190c6d8-7c7e-7000-8000-000000000000";
    assert_eq!(
        app.post_event(missing, &liberation("2026-12-01"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/v1/people/{missing}/events"))
            .await
            .status(),
        404
    );
}
