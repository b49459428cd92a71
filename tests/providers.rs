//! The provider adapters against fake providers on loopback (wiremock).
//!
//! Each success test checks the request against the provider's published
//! API description (`shared/specs/`): method, path, auth header form,
//! content type and fields. Each failure test checks the class the
//! dispatcher will act on. Providers are built through `providers::build`
//! from plain settings, exactly as the daemon builds them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use homeward::config::ProviderSettings;
use homeward::domain::{MessageId, PhoneNumber};
use homeward::providers::{self, OutboundSms, Provider, SendError};
use homeward::templates::sms::Encoding;

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const SERVICE_SID: &str = "MG0123456789abcdef0123456789abcdef";
const NOTIFY_SERVICE: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
const NOTIFY_SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";
const NOTIFY_TEMPLATE: &str = "f33517ff-2a88-4f6e-b855-c550268ce08a";
const PUBLIC_URL: &str = "https://sms.example.org";

/// `CreateMessageRequest` properties in twilio_api_v2010.json.
const TWILIO_FIELDS: [&str; 25] = [
    "To",
    "StatusCallback",
    "ApplicationSid",
    "MaxPrice",
    "ProvideFeedback",
    "Attempt",
    "ValidityPeriod",
    "ForceDelivery",
    "ContentRetention",
    "AddressRetention",
    "SmartEncoded",
    "PersistentAction",
    "TrafficType",
    "ShortenUrls",
    "ScheduleType",
    "SendAt",
    "SendAsMms",
    "ContentVariables",
    "RiskCheck",
    "From",
    "FallbackFrom",
    "MessagingServiceSid",
    "Body",
    "MediaUrl",
    "ContentSid",
];

/// `NewMessage` properties in vonage/sms.yml.
const VONAGE_FIELDS: [&str; 23] = [
    "api_key",
    "api_secret",
    "sig",
    "from",
    "to",
    "text",
    "ttl",
    "status-report-req",
    "callback",
    "message-class",
    "type",
    "vcard",
    "vcal",
    "body",
    "udh",
    "protocol-id",
    "title",
    "url",
    "validity",
    "client-ref",
    "account-ref",
    "entity-id",
    "content-id",
];

/// Settings as an operator writes them (as JSON here), for `kind`.
fn settings(kind: &str, keys: Value) -> Value {
    let mut settings =
        json!({ "kind": kind, "rate_per_second": 10, "burst": 1, "timeout_secs": 5 });
    merge(&mut settings, keys);
    settings
}

/// `settings` with `changes` laid over it; a `null` change removes the key.
fn merge(settings: &mut Value, changes: Value) {
    let table = settings.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => table.remove(key),
            value => table.insert(key.clone(), value.clone()),
        };
    }
}

fn changed(mut settings: Value, changes: Value) -> Value {
    merge(&mut settings, changes);
    settings
}

fn read(settings: &Value) -> ProviderSettings {
    serde_json::from_value(settings.clone()).unwrap()
}

fn twilio(server: &str) -> Value {
    settings(
        "twilio",
        json!({
            "base_url": server,
            "account_sid": ACCOUNT_SID,
            "auth_token": "twilio-token",
            "messaging_service_sid": SERVICE_SID,
        }),
    )
}

fn vonage(server: &str) -> Value {
    settings(
        "vonage",
        json!({
            "base_url": server,
            "api_key": "abcd1234",
            "api_secret": "abcdef0123456789",
            "from": "+447700900000",
        }),
    )
}

fn notify(server: &str) -> Value {
    settings(
        "notify",
        json!({
            "base_url": server,
            "api_key": format!("homeward-test-{NOTIFY_SERVICE}-{NOTIFY_SECRET}"),
            "template_id": NOTIFY_TEMPLATE,
            "callback_token": "callback-token",
        }),
    )
}

fn webhook(server: &str) -> Value {
    settings(
        "webhook",
        json!({ "url": format!("{server}/outbound/sms"), "secret": "webhook-secret" }),
    )
}

type Settings = fn(&str) -> Value;
const HTTP_PROVIDERS: [(&str, Settings); 4] = [
    ("twilio", twilio),
    ("vonage", vonage),
    ("notify", notify),
    ("webhook", webhook),
];

fn sms(body: &str, encoding: Encoding) -> OutboundSms {
    OutboundSms {
        reference: MessageId::new(),
        to: PhoneNumber::parse("07400 123456").unwrap(),
        body: body.into(),
        encoding,
    }
}

fn gsm() -> OutboundSms {
    sms("Hello, you can register with a GP today.", Encoding::Gsm7)
}

/// Build the named provider against `settings` (public URL set).
fn provider(name: &str, settings: &Value) -> std::sync::Arc<dyn Provider> {
    providers::build(name, &read(settings), Some(PUBLIC_URL)).unwrap()
}

/// A fake that answers every request with `response`.
async fn fake(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "expected exactly one request");
    requests.remove(0)
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn form(request: &Request) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes(&request.body).unwrap()
}

fn keys<'a>(names: impl IntoIterator<Item = &'a String>) -> BTreeSet<&'a str> {
    names.into_iter().map(String::as_str).collect()
}

// ---- Twilio ----------------------------------------------------------------

fn twilio_created(sms: &OutboundSms) -> Value {
    json!({
        "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": sms.body,
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": null,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api",
        "error_code": null, "error_message": null, "from": null,
        "messaging_service_sid": SERVICE_SID, "num_media": "0", "num_segments": "1",
        "price": null, "price_unit": null, "sid": "SM0123456789abcdef0123456789abcdef",
        "status": "accepted", "subresource_uris": {}, "to": sms.to.as_e164(),
        "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM0123456789abcdef0123456789abcdef.json"
    })
}

#[tokio::test]
async fn twilio_send_posts_the_documented_form_with_basic_auth() {
    let text = gsm();
    let server = fake(ResponseTemplate::new(201).set_body_json(twilio_created(&text))).await;
    let accepted = provider("twilio", &twilio(&server.uri()))
        .send(&text)
        .await
        .unwrap();
    assert_eq!(accepted.provider_id, "SM0123456789abcdef0123456789abcdef");

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.path(),
        format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    );
    let basic = STANDARD.encode(format!("{ACCOUNT_SID}:twilio-token"));
    assert_eq!(header(&request, "authorization"), format!("Basic {basic}"));
    assert_eq!(
        header(&request, "content-type"),
        "application/x-www-form-urlencoded"
    );
    let fields = form(&request);
    assert!(keys(fields.keys()).is_subset(&TWILIO_FIELDS.into_iter().collect()));
    assert_eq!(fields["To"], "+447400123456");
    assert_eq!(fields["Body"], text.body);
    assert_eq!(fields["MessagingServiceSid"], SERVICE_SID);
    assert!(
        !fields.contains_key("From"),
        "From or MessagingServiceSid, not both"
    );
    assert_eq!(
        fields["StatusCallback"],
        format!("{PUBLIC_URL}/webhooks/twilio/status")
    );
}

#[tokio::test]
async fn twilio_sends_from_a_number_when_no_messaging_service_is_set() {
    let text = gsm();
    let server = fake(ResponseTemplate::new(201).set_body_json(twilio_created(&text))).await;
    let settings = changed(
        twilio(&server.uri()),
        json!({ "messaging_service_sid": null, "from": "+447700900000" }),
    );
    providers::build("twilio", &read(&settings), None)
        .unwrap()
        .send(&text)
        .await
        .unwrap();
    let fields = form(&only_request(&server).await);
    assert_eq!(fields["From"], "+447700900000");
    assert!(!fields.contains_key("MessagingServiceSid"));
    assert!(
        !fields.contains_key("StatusCallback"),
        "no public URL, no callback"
    );
}

fn twilio_error(status: u16, code: u32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code, "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status
    }))
}

#[tokio::test]
async fn twilio_unsubscribed_recipient_is_opted_out() {
    let server = fake(twilio_error(
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    ))
    .await;
    let result = provider("twilio", &twilio(&server.uri()))
        .send(&gsm())
        .await;
    assert!(
        matches!(result, Err(SendError::OptedOut { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn twilio_invalid_to_number_is_permanent_and_blames_the_number() {
    let server = fake(twilio_error(
        400,
        21211,
        "The 'To' number +447400123456 is not a valid phone number.",
    ))
    .await;
    let result = provider("twilio", &twilio(&server.uri()))
        .send(&gsm())
        .await;
    let Err(SendError::Permanent {
        reason,
        invalid_number: true,
    }) = result
    else {
        panic!("{result:?}");
    };
    assert!(!reason.contains("+447400123456"), "{reason}");
}

// ---- Vonage ----------------------------------------------------------------

fn vonage_sent(parts: &[&str]) -> ResponseTemplate {
    let messages: Vec<Value> = parts
        .iter()
        .map(|id| {
            json!({"to": "447400123456", "message-id": id, "status": "0",
            "remaining-balance": "3.14159265", "message-price": "0.03330000", "network": "23410"})
        })
        .collect();
    ResponseTemplate::new(200)
        .set_body_json(json!({"message-count": parts.len().to_string(), "messages": messages}))
}

#[tokio::test]
async fn vonage_send_posts_the_documented_form() {
    let text = gsm();
    let server = fake(vonage_sent(&["0A0000000123ABCD1"])).await;
    let accepted = provider("vonage", &vonage(&server.uri()))
        .send(&text)
        .await
        .unwrap();
    assert_eq!(accepted.provider_id, "0A0000000123ABCD1");

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/sms/json");
    assert_eq!(
        header(&request, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert!(
        request.headers.get("authorization").is_none(),
        "credentials are body fields"
    );
    let fields = form(&request);
    assert!(keys(fields.keys()).is_subset(&VONAGE_FIELDS.into_iter().collect()));
    assert_eq!(fields["api_key"], "abcd1234");
    assert_eq!(fields["api_secret"], "abcdef0123456789");
    assert_eq!(fields["from"], "447700900000");
    assert_eq!(fields["to"], "447400123456", "E.164 digits without the +");
    assert_eq!(fields["text"], text.body);
    assert_eq!(fields["type"], "text");
    assert_eq!(fields["client-ref"], text.reference.to_string());
    assert!(fields["client-ref"].len() <= 40);
    assert_eq!(fields["status-report-req"], "true");
    assert_eq!(
        fields["callback"],
        format!("{PUBLIC_URL}/webhooks/vonage/status")
    );
}

#[tokio::test]
async fn vonage_sends_ucs2_texts_as_unicode_and_takes_the_first_parts_id() {
    let server = fake(vonage_sent(&["PART-1", "PART-2"])).await;
    let text = sms("Croeso 👋 — mae gennych apwyntiad", Encoding::Ucs2);
    let accepted = provider("vonage", &vonage(&server.uri()))
        .send(&text)
        .await
        .unwrap();
    assert_eq!(accepted.provider_id, "PART-1");
    assert_eq!(form(&only_request(&server).await)["type"], "unicode");
}

fn vonage_refused(status: &str, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "message-count": "1", "messages": [{"status": status, "error-text": text}]
    }))
}

#[tokio::test]
async fn vonage_failures_inside_an_http_200_are_classed_by_status() {
    type Class = fn(&SendError) -> bool;
    let cases: [(&str, Class); 3] = [
        ("1", |e| matches!(e, SendError::RateLimited { .. })),
        ("3", |e| {
            matches!(
                e,
                SendError::Permanent {
                    invalid_number: false,
                    ..
                }
            )
        }),
        ("5", |e| matches!(e, SendError::Transient { .. })),
    ];
    for (status, expected) in cases {
        let server = fake(vonage_refused(status, "refused")).await;
        let error = provider("vonage", &vonage(&server.uri()))
            .send(&gsm())
            .await
            .unwrap_err();
        assert!(expected(&error), "status {status}: {error:?}");
    }
}

// ---- GOV.UK Notify ---------------------------------------------------------

fn notify_created(reference: &str) -> Value {
    // Every key `client-json-schema/POST_notification_sms_response.json` requires.
    json!({
        "id": "740e5834-3a29-46b4-9a6f-16142fde533a",
        "reference": reference,
        "content": {"body": "Hello", "from_number": "GOVUK"},
        "uri": "https://api.notifications.service.gov.uk/v2/notifications/740e5834-3a29-46b4-9a6f-16142fde533a",
        "template": {"id": NOTIFY_TEMPLATE, "version": 1,
            "uri": format!("https://api.notifications.service.gov.uk/v2/template/{NOTIFY_TEMPLATE}")},
        "scheduled_for": null
    })
}

fn jwt_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn notify_send_posts_exactly_the_servers_schema_with_a_fresh_jwt() {
    let text = gsm();
    let reference = text.reference.to_string();
    let server = fake(ResponseTemplate::new(201).set_body_json(notify_created(&reference))).await;
    let accepted = provider("notify", &notify(&server.uri()))
        .send(&text)
        .await
        .unwrap();
    assert_eq!(accepted.provider_id, "740e5834-3a29-46b4-9a6f-16142fde533a");

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/v2/notifications/sms");
    assert_eq!(header(&request, "content-type"), "application/json");
    let body: Value = request.body_json().unwrap();
    let body = body.as_object().unwrap();
    let expected: BTreeSet<&str> = [
        "phone_number",
        "template_id",
        "personalisation",
        "reference",
    ]
    .into();
    assert_eq!(
        keys(body.keys()),
        expected,
        "the server refuses any other key"
    );
    assert_eq!(body["phone_number"], "+447400123456");
    assert_eq!(body["template_id"], NOTIFY_TEMPLATE);
    assert_eq!(body["personalisation"], json!({"body": text.body}));
    assert_eq!(body["reference"], reference);

    let token = header(&request, "authorization")
        .strip_prefix("Bearer ")
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(jwt_part(parts[0]), json!({"typ": "JWT", "alg": "HS256"}));
    let claims = jwt_part(parts[1]);
    assert_eq!(
        claims.as_object().unwrap().len(),
        2,
        "claims are exactly iss and iat"
    );
    assert_eq!(claims["iss"], NOTIFY_SERVICE);
    let age = chrono::Utc::now().timestamp() - claims["iat"].as_i64().unwrap();
    assert!(
        (0..30).contains(&age),
        "iat must be within Notify's 30 s window"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(NOTIFY_SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
        .unwrap();
}

#[tokio::test]
async fn notify_phone_number_validation_errors_blame_the_number() {
    let server = fake(ResponseTemplate::new(400).set_body_json(json!({
        "status_code": 400,
        "errors": [{"error": "ValidationError", "message": "phone_number Not a UK mobile number"}]
    })))
    .await;
    let result = provider("notify", &notify(&server.uri()))
        .send(&gsm())
        .await;
    assert!(
        matches!(
            result,
            Err(SendError::Permanent {
                invalid_number: true,
                ..
            })
        ),
        "{result:?}"
    );
}

// ---- Generic webhook -------------------------------------------------------

#[tokio::test]
async fn webhook_send_posts_signed_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/outbound/sms"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"id": "gw-42"})))
        .mount(&server)
        .await;
    let text = sms("Mae gennych apwyntiad ✓", Encoding::Ucs2);
    let accepted = provider("gateway", &webhook(&server.uri()))
        .send(&text)
        .await
        .unwrap();
    assert_eq!(accepted.provider_id, "gw-42");

    let request = only_request(&server).await;
    assert_eq!(header(&request, "content-type"), "application/json");
    assert_eq!(
        header(&request, "idempotency-key"),
        text.reference.to_string()
    );
    let body: Value = request.body_json().unwrap();
    assert_eq!(
        body,
        json!({"reference": text.reference.to_string(), "to": "+447400123456", "body": text.body, "encoding": "UCS-2"})
    );
    // t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>, recomputed here.
    let signature = header(&request, "x-homeward-signature");
    let (t, v1) = signature
        .strip_prefix("t=")
        .unwrap()
        .split_once(",v1=")
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap()).abs() < 30);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"webhook-secret").unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()));
}

#[tokio::test]
async fn webhook_receivers_can_refuse_a_number_or_report_an_opt_out() {
    let server =
        fake(ResponseTemplate::new(422).set_body_json(json!({"error": "invalid_number"}))).await;
    let result = provider("gateway", &webhook(&server.uri()))
        .send(&gsm())
        .await;
    assert!(
        matches!(
            result,
            Err(SendError::Permanent {
                invalid_number: true,
                ..
            })
        ),
        "{result:?}"
    );
    let server =
        fake(ResponseTemplate::new(409).set_body_json(json!({"error": "opted_out"}))).await;
    let result = provider("gateway", &webhook(&server.uri()))
        .send(&gsm())
        .await;
    assert!(
        matches!(result, Err(SendError::OptedOut { .. })),
        "{result:?}"
    );
}

// ---- Every HTTP provider ---------------------------------------------------

#[tokio::test]
async fn every_http_provider_treats_a_server_error_as_transient() {
    for (name, settings) in HTTP_PROVIDERS {
        let server = fake(ResponseTemplate::new(500).set_body_string("oops")).await;
        let result = provider(name, &settings(&server.uri())).send(&gsm()).await;
        assert!(
            matches!(result, Err(SendError::Transient { .. })),
            "{name}: {result:?}"
        );
    }
}

#[tokio::test]
async fn every_http_provider_honours_retry_after_on_429() {
    for (name, settings) in HTTP_PROVIDERS {
        let server = fake(ResponseTemplate::new(429).insert_header("Retry-After", "120")).await;
        let result = provider(name, &settings(&server.uri())).send(&gsm()).await;
        let expected = SendError::RateLimited {
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(result, Err(expected), "{name}");
    }
}

#[tokio::test]
async fn retry_after_may_be_an_http_date() {
    let at = chrono::Utc::now() + chrono::Duration::seconds(90);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let server = fake(
        twilio_error(429, 20429, "Too Many Requests").insert_header("Retry-After", date.as_str()),
    )
    .await;
    let result = provider("twilio", &twilio(&server.uri()))
        .send(&gsm())
        .await;
    let Err(SendError::RateLimited {
        retry_after: Some(wait),
    }) = result
    else {
        panic!("{result:?}");
    };
    assert!((80..=90).contains(&wait.as_secs()), "{wait:?}");
}

#[tokio::test]
async fn every_http_provider_treats_a_timeout_as_transient() {
    for (name, settings) in HTTP_PROVIDERS {
        let server = fake(ResponseTemplate::new(201).set_delay(Duration::from_secs(2))).await;
        let settings = changed(settings(&server.uri()), json!({ "timeout_secs": 1 }));
        let result = provider(name, &settings).send(&gsm()).await;
        assert!(
            matches!(result, Err(SendError::Transient { .. })),
            "{name}: {result:?}"
        );
    }
}

#[tokio::test]
async fn every_http_provider_treats_a_refused_connection_as_transient() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for (name, settings) in HTTP_PROVIDERS {
        let result = provider(name, &settings(&closed)).send(&gsm()).await;
        assert!(
            matches!(result, Err(SendError::Transient { .. })),
            "{name}: {result:?}"
        );
    }
}

#[tokio::test]
async fn every_http_provider_treats_a_bad_request_as_permanent() {
    for (name, settings) in [
        ("twilio", twilio as Settings),
        ("notify", notify),
        ("webhook", webhook),
    ] {
        let server = fake(ResponseTemplate::new(400).set_body_string("{}")).await;
        let result = provider(name, &settings(&server.uri())).send(&gsm()).await;
        assert!(
            matches!(
                result,
                Err(SendError::Permanent {
                    invalid_number: false,
                    ..
                })
            ),
            "{name}: {result:?}"
        );
    }
}
