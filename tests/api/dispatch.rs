//! Sending through the real dispatcher to a fake generic-webhook provider
//! served by wiremock on loopback.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{HOOK_SECRET, MOBILE_A, TestApp, at, json_of, spawn_app_with_hook};

const NOW: &str = "2026-12-01T10:00:00Z";

async fn provider(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sms"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

/// A person released today, whose GP text is due now.
async fn released_today(app: &TestApp, external_ref: &str, mobile: &str) -> (String, String) {
    let person = app.add_person(external_ref, mobile).await;
    let event = json!({ "event_ref": "liberation", "kind": "liberation", "date": "2026-12-01" });
    json_of(app.post_event(&person, &event).await, 201).await;
    let gp = app.messages_of(&person).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (person, gp)
}

/// An app sending through `failing`, with `extra` settings, and `texts`
/// people released today, each with a text due now.
async fn failing_app(failing: &MockServer, extra: &[(&str, &str)], texts: usize) -> TestApp {
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", failing.uri()), extra).await;
    for i in 0..texts {
        released_today(&app, &format!("SPS-{i}"), &format!("07400 12345{i}")).await;
    }
    app
}

async fn state_of(app: &TestApp, message: &str) -> Value {
    json_of(app.get(&format!("/v1/messages/{message}")).await, 200).await["message"].clone()
}

fn sent_bodies(requests: &[Request]) -> Vec<Value> {
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_due_text_goes_out_signed_through_the_webhook_provider() {
    let server = provider(200).await;
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &[]).await;
    let (_, gp) = released_today(&app, "SPS-1", MOBILE_A).await;
    let round = app.dispatch_all_pending().await;
    assert_eq!(round.sent, 1);

    let requests = server.received_requests().await.unwrap();
    let body = &sent_bodies(&requests)[0];
    assert_eq!(body["reference"], gp);
    assert_eq!(body["to"], "+447400123456");
    assert_eq!(body["encoding"], "GSM-7");
    assert!(body["body"].as_str().unwrap().contains("Alex"));
    let signature = requests[0]
        .headers
        .get("x-homeward-signature")
        .unwrap()
        .to_str()
        .unwrap();
    let t: i64 = signature
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("t=")
        .parse()
        .unwrap();
    let expected =
        homeward::providers::webhook::signature_header(HOOK_SECRET, t, &requests[0].body);
    assert_eq!(signature, expected);
    assert_eq!(
        requests[0]
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap(),
        gp
    );

    assert_eq!(state_of(&app, &gp).await["state"], "sent");
    let history = app.history(&gp).await;
    let states: Vec<_> = history.iter().map(|h| h["to"].as_str().unwrap()).collect();
    assert_eq!(states, ["pending", "claimed", "sent"]);
    assert_eq!(
        app.dispatch_all_pending().await.claimed,
        0,
        "sent once, never again"
    );
}

#[tokio::test]
async fn a_passing_failure_is_retried_with_backoff_and_then_given_up() {
    let server = provider(500).await;
    let app = spawn_app_with_hook(
        NOW,
        &format!("{}/sms", server.uri()),
        &[
            ("dispatch.max_attempts", "3"),
            ("dispatch.breaker_failures", "100"),
        ],
    )
    .await;
    let (_, gp) = released_today(&app, "SPS-1", MOBILE_A).await;
    assert_eq!(app.dispatch_all_pending().await.retried, 1);
    let message = state_of(&app, &gp).await;
    assert_eq!(message["state"], "retrying");
    let retry_at = at(message["send_at"].as_str().unwrap());
    let wait = (retry_at - at(NOW)).num_seconds();
    assert!(
        (24..=36).contains(&wait),
        "about retry_base_secs (30s) with jitter: {wait}"
    );

    app.clock.advance(chrono::Duration::seconds(40));
    assert_eq!(app.dispatch_all_pending().await.retried, 1);
    app.clock.advance(chrono::Duration::seconds(80));
    assert_eq!(app.dispatch_all_pending().await.failed, 1);
    let message = state_of(&app, &gp).await;
    assert_eq!(message["state"], "failed");
    let reason = app.history(&gp).await.last().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_providers_retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "600"))
        .mount(&server)
        .await;
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &[]).await;
    let (_, gp) = released_today(&app, "SPS-1", MOBILE_A).await;
    app.dispatch_all_pending().await;
    let message = state_of(&app, &gp).await;
    assert_eq!(message["state"], "retrying");
    assert!(at(message["send_at"].as_str().unwrap()) >= at(NOW) + chrono::Duration::seconds(600));
}

#[tokio::test]
async fn an_invalid_number_fails_for_good_and_pauses_the_person_until_it_changes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_number" })),
        )
        .mount(&server)
        .await;
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &[]).await;
    let (person, gp) = released_today(&app, "SPS-1", MOBILE_A).await;
    assert_eq!(app.dispatch_all_pending().await.failed, 1);
    assert_eq!(state_of(&app, &gp).await["state"], "failed");
    let shown = json_of(app.get(&format!("/v1/people/{person}")).await, 200).await;
    assert!(shown["number_paused_since"].is_string(), "{shown}");

    let nudge = json!({ "template": "week_checkin", "send_at": "2026-12-01T12:00:00Z" });
    let nudge = json_of(
        app.send_json(Method::POST, &format!("/v1/people/{person}/nudges"), &nudge)
            .await,
        201,
    )
    .await;
    app.clock.set(at("2026-12-01T12:00:00Z"));
    assert_eq!(
        app.dispatch_all_pending().await.deferred,
        1,
        "paused, not sent"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let patch = json!({ "mobile": "07400 123499" });
    json_of(
        app.send_json(Method::PATCH, &format!("/v1/people/{person}"), &patch)
            .await,
        200,
    )
    .await;
    let shown = json_of(app.get(&format!("/v1/people/{person}")).await, 200).await;
    assert!(shown["number_paused_since"].is_null(), "{shown}");
    let nudge_id = nudge["id"].as_str().unwrap();
    assert_eq!(state_of(&app, nudge_id).await["state"], "pending");
}

#[tokio::test]
async fn a_provider_opt_out_suppresses_the_number_everywhere() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": "opted_out" })))
        .mount(&server)
        .await;
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &[]).await;
    let (_, gp) = released_today(&app, "SPS-1", MOBILE_A).await;
    assert_eq!(app.dispatch_all_pending().await.suppressed, 1);
    assert_eq!(state_of(&app, &gp).await["state"], "suppressed");
    let optouts = json_of(app.get("/v1/optouts").await, 200).await;
    assert_eq!(optouts["optouts"][0]["source"], "hook");
}

/// A provider's URL as a TOML string.
fn quoted_url(server: &MockServer) -> String {
    format!("{:?}", format!("{}/sms", server.uri()))
}

/// A second provider, `backup` at `backup_url` (quoted), after `hook`; two
/// failures in a row open a breaker, and one send at a time, so a breaker
/// opens between sends, not during.
fn failover_settings(backup_url: &str) -> [(&'static str, &str); 7] {
    [
        ("providers.backup.kind", "\"webhook\""),
        ("providers.backup.url", backup_url),
        ("providers.backup.secret", "\"other-secret\""),
        ("dispatch.providers", "[\"hook\", \"backup\"]"),
        ("dispatch.breaker_failures", "2"),
        ("dispatch.concurrency", "1"),
        ("planner.min_gap_minutes", "0"),
    ]
}

#[tokio::test]
async fn a_failing_provider_is_skipped_and_the_next_one_takes_over() {
    let failing = provider(503).await;
    let backup = provider(200).await;
    let backup_url = quoted_url(&backup);
    let extra = failover_settings(&backup_url);
    let app = failing_app(&failing, &extra, 3).await;
    let first = app.dispatch_all_pending().await;
    assert_eq!(
        (first.retried, first.sent),
        (2, 1),
        "two failures open the breaker; the third goes to the backup"
    );
    // The retries fall due (about 30s) while the breaker (60s) is still open.
    app.clock.advance(chrono::Duration::seconds(45));
    let second = app.dispatch_all_pending().await;
    assert_eq!(
        second.sent, 2,
        "the retries go while the first provider is skipped"
    );
    assert_eq!(failing.received_requests().await.unwrap().len(), 2);
    assert_eq!(backup.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn with_no_provider_to_take_over_an_open_breaker_holds_nothing_back() {
    let failing = provider(503).await;
    let extra = [
        ("dispatch.breaker_failures", "2"),
        ("dispatch.concurrency", "1"),
        ("planner.min_gap_minutes", "0"),
    ];
    let app = failing_app(&failing, &extra, 3).await;
    let round = app.dispatch_all_pending().await;
    assert_eq!(
        (round.retried, round.deferred),
        (3, 0),
        "the third text is tried too, not held back for the breaker's cooldown"
    );
    assert_eq!(failing.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn when_every_provider_is_failing_the_one_that_failed_first_is_tried_again() {
    let failing = provider(503).await;
    let backup = provider(503).await;
    let backup_url = quoted_url(&backup);
    let extra = failover_settings(&backup_url);
    let app = failing_app(&failing, &extra, 5).await;
    let round = app.dispatch_all_pending().await;
    assert_eq!(
        (round.retried, round.deferred),
        (5, 0),
        "two failures open each breaker; the fifth text is still tried"
    );
    assert_eq!(failing.received_requests().await.unwrap().len(), 3);
    assert_eq!(backup.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn nothing_goes_outside_sending_hours_even_if_it_was_due() {
    let server = provider(200).await;
    let app = spawn_app_with_hook(
        "2026-12-01T19:00:00Z",
        &format!("{}/sms", server.uri()),
        &[],
    )
    .await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let nudge = json!({ "template": "week_checkin", "send_at": "2026-12-01T19:50:00Z", "expires_after_hours": 48 });
    let nudge = json_of(
        app.send_json(Method::POST, &format!("/v1/people/{person}/nudges"), &nudge)
            .await,
        201,
    )
    .await;
    app.clock.set(at("2026-12-01T20:30:00Z"));
    assert_eq!(app.dispatch_all_pending().await.deferred, 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
    let message = state_of(&app, nudge["id"].as_str().unwrap()).await;
    assert_eq!(message["send_at"], "2026-12-02T09:00:00Z");
}

#[tokio::test]
async fn the_rate_limit_holds_in_every_second() {
    let times = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let server = MockServer::start().await;
    let seen = times.clone();
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            seen.lock().unwrap().push(Instant::now());
            ResponseTemplate::new(200)
        })
        .mount(&server)
        .await;
    let extra = [
        ("providers.hook.rate_per_second", "5"),
        ("providers.hook.burst", "1"),
    ];
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &extra).await;
    for i in 0..12 {
        released_today(&app, &format!("SPS-{i}"), &format!("07400 1234{i:02}")).await;
    }
    assert_eq!(app.dispatch_all_pending().await.sent, 12);
    let times = times.lock().unwrap();
    let busiest = times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && t.duration_since(*start).as_secs_f64() < 1.0)
                .count()
        })
        .max()
        .unwrap();
    assert!(
        busiest <= 6,
        "at most rate + burst in any second: {busiest}"
    );
    let span = times.last().unwrap().duration_since(times[0]).as_secs_f64();
    assert!(span >= 1.8, "12 sends at 5/s take over 2s: {span}");
}

#[tokio::test]
async fn delivery_reports_are_verified_and_applied_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "hook-123" })))
        .mount(&server)
        .await;
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &[]).await;
    let (_, gp) = released_today(&app, "SPS-1", MOBILE_A).await;
    app.dispatch_all_pending().await;
    let report = json!({ "id": "hook-123", "reference": gp, "status": "delivered" });

    assert_eq!(
        app.hook_webhook("status", &report, "wrong-secret")
            .await
            .status(),
        403
    );
    assert_eq!(
        state_of(&app, &gp).await["state"],
        "sent",
        "a bad signature changes nothing"
    );

    assert_eq!(
        app.hook_webhook("status", &report, HOOK_SECRET)
            .await
            .status(),
        200
    );
    assert_eq!(state_of(&app, &gp).await["state"], "delivered");
    let before = app.history(&gp).await.len();
    assert_eq!(
        app.hook_webhook("status", &report, HOOK_SECRET)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.history(&gp).await.len(),
        before,
        "a replayed report changes nothing"
    );
}

#[tokio::test]
async fn texts_to_one_number_never_overlap_at_the_provider_even_across_rounds() {
    let entered = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let server = MockServer::start().await;
    let seen = entered.clone();
    let answer_after = std::time::Duration::from_millis(60);
    Mock::given(method("POST"))
        .respond_with(move |_: &Request| {
            seen.lock().unwrap().push(Instant::now());
            ResponseTemplate::new(200).set_delay(answer_after)
        })
        .mount(&server)
        .await;
    // Rounds of two texts, so the person's texts are in two rounds, and
    // rounds overlap.
    let extra = [
        ("dispatch.batch_size", "2"),
        ("dispatch.concurrency", "8"),
        ("planner.min_gap_minutes", "0"),
        ("planner.daily_cap", "4"),
    ];
    let app = spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &extra).await;
    let person = app.add_person("SPS-1", MOBILE_A).await;
    for _ in 0..4 {
        let nudge =
            json!({ "template": "week_checkin", "send_at": NOW, "expires_after_hours": 48 });
        let path = format!("/v1/people/{person}/nudges");
        json_of(app.send_json(Method::POST, &path, &nudge).await, 201).await;
    }
    let drained = app.dispatcher.drain(&Default::default()).await.unwrap();
    assert_eq!(drained.sent, 4);
    let entered = entered.lock().unwrap();
    for pair in entered.windows(2) {
        let apart = pair[1].duration_since(pair[0]);
        assert!(
            apart >= answer_after,
            "a text went while the one before to the same number was still at the provider ({apart:?} apart)"
        );
    }
}
