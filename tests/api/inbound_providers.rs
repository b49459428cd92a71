//! A STOP through each provider's own inbound webhook, signed exactly as
//! that provider signs it, stops every further text to the number: end to
//! end through the real HTTP server and the dispatcher.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{MOBILE_A, TestApp, json_of, spawn_app_with_hook};

const TWILIO_TOKEN: &str = "twilio-auth-token";
const VONAGE_SIGNING: &str = "vonage-signature-secret";
const NOTIFY_CALLBACK: &str = "notify-callback-token";

async fn app() -> (TestApp, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let unused = format!("{:?}", server.uri());
    let extra = [
        (
            "dispatch.providers",
            "[\"hook\", \"twilio\", \"vonage\", \"notify\"]",
        ),
        ("providers.twilio.kind", "\"twilio\""),
        ("providers.twilio.base_url", unused.as_str()),
        (
            "providers.twilio.account_sid",
            "\"AC0123456789abcdef0123456789abcdef\"",
        ),
        ("providers.twilio.auth_token", "\"twilio-auth-token\""),
        ("providers.twilio.from", "\"+447400000001\""),
        ("providers.vonage.kind", "\"vonage\""),
        ("providers.vonage.base_url", unused.as_str()),
        ("providers.vonage.api_key", "\"abcd1234\""),
        ("providers.vonage.api_secret", "\"vonage-secret\""),
        ("providers.vonage.from", "\"HealthTeam\""),
        (
            "providers.vonage.signature_secret",
            "\"vonage-signature-secret\"",
        ),
        ("providers.notify.kind", "\"notify\""),
        ("providers.notify.base_url", unused.as_str()),
        (
            "providers.notify.api_key",
            "\"homeward-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0\"",
        ),
        (
            "providers.notify.template_id",
            "\"f33517ff-2a88-4f6e-b855-c550268ce08a\"",
        ),
        (
            "providers.notify.callback_token",
            "\"notify-callback-token\"",
        ),
    ];
    let app = spawn_app_with_hook(
        "2026-12-01T10:00:00Z",
        &format!("{}/sms", server.uri()),
        &extra,
    )
    .await;
    (app, server)
}

async fn released_today(app: &TestApp) -> String {
    let person = app.add_person("SPS-1", MOBILE_A).await;
    let event = json!({ "event_ref": "liberation", "kind": "liberation", "date": "2026-12-01" });
    json_of(app.post_event(&person, &event).await, 201).await;
    person
}

/// After the STOP: the person is opted out, the GP text is suppressed and
/// only the confirmation goes.
async fn assert_stopped(app: &TestApp, person: &str) {
    let shown = json_of(app.get(&format!("/v1/people/{person}")).await, 200).await;
    assert_eq!(shown["opted_out"], true, "{shown}");
    let round = app.dispatch_all_pending().await;
    assert_eq!((round.sent, round.suppressed), (1, 1), "{round:?}");
    app.clock.advance(chrono::Duration::days(8));
    assert_eq!(
        app.dispatch_all_pending().await.sent,
        0,
        "nothing more, ever"
    );
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

#[tokio::test]
async fn stop_through_twilio_signed_as_twilio_signs_it() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    let url = format!("{}/webhooks/twilio/inbound", app.address);
    let params = [
        ("Body", "STOP"),
        ("From", "+447400123456"),
        ("MessageSid", "SM123"),
        ("To", "+447400000001"),
    ];
    let signed: String = params.iter().map(|(k, v)| format!("{k}{v}")).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TWILIO_TOKEN.as_bytes()).unwrap();
    mac.update(format!("{url}{signed}").as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let post = |signature: String| {
        reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(form(&params))
            .send()
    };
    assert_eq!(post("bad".into()).await.unwrap().status(), 403);
    let response = post(signature).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.text().await.unwrap().contains("<Response"),
        "TwiML"
    );
    assert_stopped(&app, &person).await;
}

#[tokio::test]
async fn stop_through_vonage_with_a_signed_webhook() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    let mut params = vec![
        ("api-key", "abcd1234"),
        ("keyword", "STOP"),
        ("message-timestamp", "2026-12-01 10:00:00"),
        ("messageId", "0A000001"),
        ("msisdn", "447400123456"),
        ("nonce", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
        ("text", "STOP"),
        ("timestamp", "1796119200"),
        ("to", "447400000001"),
        ("type", "text"),
    ];
    let signed: String = params
        .iter()
        .map(|(k, v)| format!("&{k}={}", v.replace(['&', '='], "_")))
        .collect();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(VONAGE_SIGNING.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    params.push(("sig", sig.as_str()));
    let url = format!("{}/webhooks/vonage/inbound?{}", app.address, form(&params));
    assert_eq!(
        reqwest::get(url.replace("text=STOP", "text=START"))
            .await
            .unwrap()
            .status(),
        403,
        "a changed text breaks the signature"
    );
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    assert_stopped(&app, &person).await;
}

#[tokio::test]
async fn stop_through_gov_uk_notify_with_its_bearer_token() {
    let (app, _server) = app().await;
    let person = released_today(&app).await;
    let body = json!({
        "id": "3d2ab6a9-5c0c-4bb1-9e2b-2f2e0d1e2f3a",
        "source_number": "447400123456",
        "destination_number": "07400000001",
        "message": "Stop",
        "date_received": "2026-12-01T10:00:00.000000Z",
    });
    let post = |token: &str| {
        reqwest::Client::new()
            .post(format!("{}/webhooks/notify/inbound", app.address))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_eq!(post("wrong").await.unwrap().status(), 403);
    assert_eq!(post(NOTIFY_CALLBACK).await.unwrap().status(), 200);
    assert_stopped(&app, &person).await;
}

#[tokio::test]
async fn oversized_or_broken_webhooks_are_refused_cleanly() {
    let (app, _server) = app().await;
    let client = reqwest::Client::new();
    let huge = "x".repeat(2 * 1024 * 1024);
    let response = client
        .post(format!("{}/webhooks/notify/inbound", app.address))
        .bearer_auth(NOTIFY_CALLBACK)
        .body(huge)
        .send()
        .await;
    assert!(
        response.map(|r| r.status() == 413).unwrap_or(true),
        "a body of megabytes is refused"
    );
    let response = client
        .post(format!("{}/webhooks/notify/inbound", app.address))
        .bearer_auth(NOTIFY_CALLBACK)
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, b'{'])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "invalid UTF-8");
    let stranger = json!({ "id": "4d2ab6a9-5c0c-4bb1-9e2b-2f2e0d1e2f3a", "source_number": "447911123456",
                           "destination_number": "x", "message": "STOP", "date_received": "2026-12-01T10:00:00.000000Z" });
    let response = client
        .post(format!("{}/webhooks/notify/inbound", app.address))
        .bearer_auth(NOTIFY_CALLBACK)
        .json(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "a number that matches nobody is still opted out"
    );
    let optout = json_of(app.get("/v1/optouts").await, 200).await;
    assert_eq!(
        optout["optouts"],
        json!([]),
        "but it is no one's in this organisation"
    );
}
