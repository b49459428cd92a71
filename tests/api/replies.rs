//! `POST /v1/people/{id}/replies`: a typed answer to a person, checked like
//! a template, sent at once within sending hours and never twice for one
//! `Idempotency-Key`.

use homeward::domain::{PhoneNumber, TargetKind};
use homeward::store::AuditFilter;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{MOBILE_A, TestApp, at, json_of, spawn_app_at};

const CLEAN: &str = "Hi Alex, it's Anna from the support team. I will call you at 2pm.";

async fn reply(app: &TestApp, person: &str, body: &Value, key: Option<&str>) -> reqwest::Response {
    let path = format!("/v1/people/{person}/replies");
    let mut req = app
        .request(Method::POST, &path, Some(&app.token))
        .await
        .json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    req.send().await.unwrap()
}

async fn nudge(app: &TestApp, person: &str, send_at: &str) -> Value {
    let body = json!({ "template": "week_checkin", "send_at": send_at });
    let path = format!("/v1/people/{person}/nudges");
    json_of(app.send_json(Method::POST, &path, &body).await, 201).await
}

#[tokio::test]
async fn a_reply_goes_now_within_sending_hours_even_when_the_days_cap_is_full() {
    // 10:00 in London.
    let app = spawn_app_at(at("2026-12-01T10:00:00Z"), &[]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    for _ in 0..2 {
        nudge(&app, &person, "2026-12-01T10:00:00Z").await;
    }
    let sent = json_of(
        reply(&app, &person, &json!({ "body": CLEAN }), None).await,
        201,
    )
    .await;
    assert_eq!(sent["state"], "pending");
    assert_eq!(sent["source"], "staff_reply");
    assert_eq!(sent["send_at"], "2026-12-01T10:00:00Z", "{sent}");
    assert_eq!(sent["body"], CLEAN);
    let shown = json_of(
        app.get(&format!("/v1/messages/{}", sent["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(shown["message"]["id"], sent["id"], "{shown}");
    let third = nudge(&app, &person, "2026-12-01T10:00:00Z").await;
    assert_eq!(
        third["send_at"], "2026-12-02T09:00:00Z",
        "the reply counts as one of the day's three texts"
    );
}

#[tokio::test]
async fn outside_sending_hours_a_reply_waits_for_the_next_opening() {
    // 21:30 in London.
    let app = spawn_app_at(at("2026-12-01T21:30:00Z"), &[]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let sent = json_of(
        reply(&app, &person, &json!({ "body": CLEAN }), None).await,
        201,
    )
    .await;
    assert_eq!(sent["send_at"], "2026-12-02T09:00:00Z");
}

#[tokio::test]
async fn a_reply_naming_prison_or_a_reference_is_refused_with_the_word_named() {
    let app = spawn_app_at(at("2026-12-01T10:00:00Z"), &[]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let body = json!({ "body": "Your Prison officer says quote SPS-1 at nhsinform.scot" });
    let refused = json_of(reply(&app, &person, &body, None).await, 422).await;
    assert_eq!(refused["error"], "invalid_fields");
    let reasons: Vec<&str> = refused["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["field"], "body");
            assert!(f.get("value").is_none(), "the text is not echoed: {f}");
            f["reason"].as_str().unwrap()
        })
        .collect();
    let named = |word: &str| reasons.iter().any(|r| r.contains(word));
    assert!(named("says \"prison\""), "{reasons:?}");
    assert!(
        named("contains \"SPS-1\", which looks like a reference number"),
        "{reasons:?}"
    );
    assert!(named("the link nhsinform.scot"), "{reasons:?}");
    assert!(app.messages_of(&person).await.is_empty(), "nothing planned");
}

#[tokio::test]
async fn a_reply_of_several_texts_needs_confirm_segments() {
    let app = spawn_app_at(at("2026-12-01T10:00:00Z"), &[]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let long = "Yes, we can help. Come to the office on Main Street any day this week. ".repeat(3);
    let refused = json_of(
        reply(&app, &person, &json!({ "body": long }), None).await,
        422,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("2 segments"),
        "{refused}"
    );
    let body = json!({ "body": long, "confirm_segments": true });
    json_of(reply(&app, &person, &body, None).await, 201).await;
}

#[tokio::test]
async fn one_idempotency_key_sends_one_reply() {
    let app = spawn_app_at(at("2026-12-01T10:00:00Z"), &[]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let body = json!({ "body": CLEAN });
    let first = json_of(reply(&app, &person, &body, Some("retry-1")).await, 201).await;
    let again = json_of(reply(&app, &person, &body, Some("retry-1")).await, 201).await;
    assert_eq!(first["id"], again["id"]);
    let other = json_of(reply(&app, &person, &body, Some("retry-2")).await, 201).await;
    assert_ne!(first["id"], other["id"]);
    assert_eq!(app.messages_of(&person).await.len(), 2);
    let filter = AuditFilter {
        target_kind: Some(TargetKind::Message),
        limit: 100,
        ..AuditFilter::default()
    };
    let audit = app.store.audit_entries(app.org_id, &filter).await.unwrap();
    assert_eq!(audit.len(), 2, "one entry per reply sent: {audit:?}");
}

#[tokio::test]
async fn no_reply_goes_to_an_opted_out_number_or_to_another_organisations_person() {
    let app = spawn_app_at(at("2026-12-01T10:00:00Z"), &[]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let number = PhoneNumber::parse(MOBILE_A).unwrap();
    let now = at("2026-12-01T10:00:00Z");
    app.store
        .suppress(&number, "reply", "STOP", now)
        .await
        .unwrap();
    let refused = json_of(
        reply(&app, &person, &json!({ "body": CLEAN }), None).await,
        422,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("opted out"),
        "{refused}"
    );

    let other = app.new_org_token("Health Board").await;
    let path = format!("/v1/people/{person}/replies");
    let req = app.request(Method::POST, &path, Some(&other)).await;
    let response = req.json(&json!({ "body": CLEAN })).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(app.messages_of(&person).await.is_empty());
}

#[tokio::test]
async fn a_nudge_may_be_a_typed_message_checked_like_a_template() {
    let app = spawn_app_at(at("2026-12-01T10:00:00Z"), &[]).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let path = format!("/v1/people/{person}/nudges");
    let send_at = "2026-12-02T11:00:00Z";
    let refused = json!({ "body": "Your court date is near", "send_at": send_at });
    let refused = json_of(app.send_json(Method::POST, &path, &refused).await, 422).await;
    assert!(
        refused["message"].as_str().unwrap().contains("\"court\""),
        "{refused}"
    );
    let both = json!({ "body": CLEAN, "template": "week_checkin", "send_at": send_at });
    let both = json_of(app.send_json(Method::POST, &path, &both).await, 422).await;
    assert_eq!(both["fields"][0]["field"], "template", "{both}");
    let typed = json!({ "body": CLEAN, "send_at": send_at });
    let typed = json_of(app.send_json(Method::POST, &path, &typed).await, 201).await;
    assert_eq!(typed["body"], CLEAN);
    assert_eq!(typed["source"], "nudge");
    assert_eq!(typed["template"], "typed_by_staff");
    assert_eq!(typed["send_at"], send_at);
}
