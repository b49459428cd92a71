//! Delivery reports over HTTP, signed as each provider signs them: a report
//! changes only a message its own provider sent, and its side effects
//! (opting out, pausing a number) follow only from a report that applied.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Digest;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{HOOK_SECRET, MOBILE_A, MOBILE_B, TestApp, json_of, spawn_app_with_hook};

const NOW: &str = "2026-12-01T10:00:00Z";

/// A loopback fake that takes every text, answering as both the generic
/// webhook (`id`) and Twilio (`sid`) would.
async fn fake_provider() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "id": "hook-1", "sid": "SM1" })),
        )
        .mount(&server)
        .await;
    server
}

/// An app sending through `providers` (in order), each pointed at `server`.
async fn app_sending_through(server: &MockServer, providers: &str) -> TestApp {
    let base = format!("{:?}", server.uri());
    let extra = [
        ("dispatch.providers", providers),
        ("providers.twilio.kind", "\"twilio\""),
        ("providers.twilio.base_url", base.as_str()),
        (
            "providers.twilio.account_sid",
            "\"AC0123456789abcdef0123456789abcdef\"",
        ),
        ("providers.twilio.auth_token", "\"twilio-auth-token\""),
        (
            "providers.twilio.webhook_shared_key",
            "\"twilio-shared-key\"",
        ),
        ("providers.twilio.from", "\"+447400000001\""),
    ];
    spawn_app_with_hook(NOW, &format!("{}/sms", server.uri()), &extra).await
}

/// A person of the organisation behind `token`, with one text planned for
/// the liberation `date`; the text's id.
async fn text_for(app: &TestApp, token: &str, mobile: &str, date: &str) -> (String, String) {
    let person = json!({ "external_ref": "SPS-1", "first_name": "Alex", "mobile": mobile });
    let response = app
        .send_json_as(token, reqwest::Method::POST, "/v1/people", &person)
        .await;
    let person = json_of(response, 201).await["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = json!({ "event_ref": "liberation", "kind": "liberation", "date": date });
    let path = format!("/v1/people/{person}/events");
    let response = app
        .send_json_as(token, reqwest::Method::POST, &path, &event)
        .await;
    json_of(response, 201).await;
    let messages = app
        .get_as(token, &format!("/v1/messages?person={person}"))
        .await;
    let message = json_of(messages, 200).await["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (person, message)
}

async fn shown(app: &TestApp, token: &str, path: &str) -> Value {
    json_of(app.get_as(token, path).await, 200).await
}

/// The worst a forged report can ask for.
fn forged(id: &str, reference: &str) -> Value {
    json!({ "id": id, "reference": reference, "status": "failed", "permanent": true,
            "opted_out": true, "invalid_number": true, "reason": "forged" })
}

/// The message is as it was, and its person neither opted out nor paused.
async fn untouched(app: &TestApp, token: &str, person: &str, message: &str, state: &str) {
    let detail = shown(app, token, &format!("/v1/messages/{message}")).await;
    assert_eq!(detail["message"]["state"], state, "{detail}");
    let person = shown(app, token, &format!("/v1/people/{person}")).await;
    assert_eq!(person["opted_out"], false, "{person}");
    assert_eq!(person["number_paused_since"], Value::Null, "{person}");
    let optouts = shown(app, token, "/v1/optouts").await;
    assert_eq!(optouts["optouts"], json!([]), "{optouts}");
}

async fn ignored_count(app: &TestApp, reason: &str) -> bool {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    metrics.lines().any(|line| {
        line.starts_with("sms_delivery_reports_ignored_total")
            && line.contains("provider=\"hook\"")
            && line.contains(&format!("reason=\"{reason}\""))
    })
}

#[tokio::test]
async fn a_report_naming_another_organisations_unsent_text_changes_nothing() {
    let server = fake_provider().await;
    let app = app_sending_through(&server, "[\"hook\"]").await;
    let other = app.new_org_token("Other team").await;
    let (person, message) = text_for(&app, &other, MOBILE_B, "2026-12-20").await;

    let response = app
        .hook_webhook("status", &forged("x2", &message), HOOK_SECRET)
        .await;
    assert_eq!(response.status(), 200, "answered, so the provider stops");
    untouched(&app, &other, &person, &message, "pending").await;
    assert!(ignored_count(&app, "not_sent_by_provider").await);
    assert_eq!(app.dispatch_all_pending().await.claimed, 0);
}

#[tokio::test]
async fn a_report_from_one_provider_cannot_touch_a_text_another_provider_sent() {
    let server = fake_provider().await;
    let app = app_sending_through(&server, "[\"twilio\", \"hook\"]").await;
    let (person, message) = text_for(&app, &app.token, MOBILE_A, "2026-12-01").await;
    assert_eq!(app.dispatch_all_pending().await.sent, 1);
    let sent = app.history(&message).await.pop().unwrap();
    assert_eq!(sent["reason"], "accepted by twilio as SM1", "{sent}");

    for report in [forged("x2", &message), forged("SM1", "")] {
        let response = app.hook_webhook("status", &report, HOOK_SECRET).await;
        assert_eq!(response.status(), 200);
    }
    untouched(&app, &app.token, &person, &message, "sent").await;
    assert!(ignored_count(&app, "not_sent_by_provider").await);
    assert!(ignored_count(&app, "unknown_message").await);
}

#[tokio::test]
async fn a_proper_report_still_fails_the_text_and_opts_the_number_out() {
    let server = fake_provider().await;
    let app = app_sending_through(&server, "[\"hook\"]").await;
    let (person, message) = text_for(&app, &app.token, MOBILE_A, "2026-12-01").await;
    assert_eq!(app.dispatch_all_pending().await.sent, 1);

    let report = json!({ "id": "hook-1", "status": "failed", "opted_out": true, "reason": "STOP" });
    let response = app.hook_webhook("status", &report, HOOK_SECRET).await;
    assert_eq!(response.status(), 200);
    let detail = shown(&app, &app.token, &format!("/v1/messages/{message}")).await;
    assert_eq!(detail["message"]["state"], "failed", "{detail}");
    let shown_person = shown(&app, &app.token, &format!("/v1/people/{person}")).await;
    assert_eq!(shown_person["opted_out"], true, "{shown_person}");

    let late = json!({ "id": "hook-1", "status": "delivered" });
    let response = app.hook_webhook("status", &late, HOOK_SECRET).await;
    assert_eq!(response.status(), 200);
    let detail = shown(&app, &app.token, &format!("/v1/messages/{message}")).await;
    assert_eq!(detail["message"]["state"], "failed", "failed is final");
    assert!(ignored_count(&app, "state").await);
}

#[tokio::test]
async fn a_proper_report_by_our_reference_marks_the_text_delivered() {
    let server = fake_provider().await;
    let app = app_sending_through(&server, "[\"hook\"]").await;
    let (person, message) = text_for(&app, &app.token, MOBILE_A, "2026-12-01").await;
    assert_eq!(app.dispatch_all_pending().await.sent, 1);

    let report =
        json!({ "id": "not-what-it-said-before", "reference": message, "status": "delivered" });
    let response = app.hook_webhook("status", &report, HOOK_SECRET).await;
    assert_eq!(response.status(), 200);
    untouched(&app, &app.token, &person, &message, "delivered").await;
}

/// Base64(HMAC(key, data)) with SHA-1 or SHA-256, as Twilio signs.
fn twilio_signature(sha256: bool, key: &str, data: &str) -> String {
    let mac = if sha256 {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

#[tokio::test]
async fn a_twilio_json_report_signed_with_body_sha256_is_applied_and_a_tampered_one_refused() {
    let server = fake_provider().await;
    let app = app_sending_through(&server, "[\"twilio\"]").await;
    let (_, message) = text_for(&app, &app.token, MOBILE_A, "2026-12-01").await;
    assert_eq!(app.dispatch_all_pending().await.sent, 1);
    let body = r#"{"MessageSid":"SM1","MessageStatus":"delivered"}"#;
    let hash = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let url = format!("{}/webhooks/twilio/status?bodySHA256={hash}", app.address);
    let signature = twilio_signature(false, "twilio-auth-token", &url);
    let post = |body: &'static str| {
        reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .header("x-twilio-signature", &signature)
            .body(body)
            .send()
    };

    let tampered = r#"{"MessageSid":"SM1","MessageStatus":"failed"}"#;
    assert_eq!(post(tampered).await.unwrap().status(), 403);
    let detail = shown(&app, &app.token, &format!("/v1/messages/{message}")).await;
    assert_eq!(
        detail["message"]["state"], "sent",
        "a refused report changes nothing"
    );
    assert_eq!(post(body).await.unwrap().status(), 200);
    let detail = shown(&app, &app.token, &format!("/v1/messages/{message}")).await;
    assert_eq!(detail["message"]["state"], "delivered", "{detail}");
}

#[tokio::test]
async fn a_twilio_report_signed_with_a_shared_key_is_checked_with_that_key() {
    let server = fake_provider().await;
    let app = app_sending_through(&server, "[\"twilio\"]").await;
    let (_, message) = text_for(&app, &app.token, MOBILE_A, "2026-12-01").await;
    assert_eq!(app.dispatch_all_pending().await.sent, 1);
    let url = format!("{}/webhooks/twilio/status", app.address);
    let form = "MessageSid=SM1&MessageStatus=delivered";
    let signed = format!("{url}MessageSidSM1MessageStatusdelivered");
    let shared = twilio_signature(true, "twilio-shared-key", &signed);
    let post = |signature: String, settings: Option<&'static str>| {
        let mut request = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(form);
        if let Some(settings) = settings {
            request = request.header("x-twilio-webhooks-signature-settings", settings);
        }
        request.send()
    };
    let settings = Some("key=webhooks_sharedkey_01,algorithm=HMAC_SHA256");

    assert_eq!(post(shared.clone(), None).await.unwrap().status(), 403);
    let by_token = twilio_signature(false, "twilio-auth-token", &signed);
    assert_eq!(post(by_token, settings).await.unwrap().status(), 403);
    let detail = shown(&app, &app.token, &format!("/v1/messages/{message}")).await;
    assert_eq!(detail["message"]["state"], "sent");
    assert_eq!(post(shared, settings).await.unwrap().status(), 200);
    let detail = shown(&app, &app.token, &format!("/v1/messages/{message}")).await;
    assert_eq!(detail["message"]["state"], "delivered", "{detail}");
}
