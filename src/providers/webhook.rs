//! The generic webhook provider: each text is POSTed as JSON to a URL the
//! operator runs (an in-house SMS gateway, a test double), signed so the
//! receiver can tell it came from us; the receiver's delivery-status and
//! inbound callbacks come back signed the same way.
//!
//! # The contract
//!
//! **Send.** `POST {url}` with `Content-Type: application/json`,
//! `Idempotency-Key: <reference>` and the body
//! `{"reference": "<message id>", "to": "+447700900123", "body": "…", "encoding": "GSM-7" | "UCS-2"}`.
//! The receiver answers:
//! * any 2xx, optionally with `{"id": "<its own id>"}`: accepted (without an
//!   id, our reference serves as the provider id);
//! * 429, optionally with `Retry-After` (seconds or an HTTP date): rate limited;
//! * a 4xx with `{"error": "invalid_number"}`: the number can never work;
//!   `{"error": "opted_out"}`: the person opted out with the receiver; either
//!   may add `"message"`;
//! * 401 or 403: our signature was refused (retried: a configuration fault,
//!   not the message's);
//! * 408, 5xx, a timeout or no connection: retried later;
//! * any other 4xx (and 3xx: redirects are not followed): a permanent failure.
//!
//! **Signature** (on every request we send and every callback we accept):
//! `X-Homeward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//! The timestamp is inside the signed text, so a captured request cannot be
//! replayed later: callbacks whose `t` is more than five minutes from our
//! clock are refused. More than one `v1=` may be given (while rotating
//! secrets); one matching is enough. Unknown keys are ignored.
//!
//! **Delivery status**, `POST /webhooks/{name}/status`: a JSON object or an
//! array of them, `{"id": "<its id>", "reference": "<message id>" | null,
//! "status": "sent" | "delivered" | "failed", "reason": "…",
//! "permanent": true, "invalid_number": false, "opted_out": false}`; the last
//! four only matter for `failed`, and `permanent` defaults to true.
//!
//! **Inbound text**, `POST /webhooks/{name}/inbound`: `{"id": "…", "from":
//! "+447700900123", "to": "<our number>", "text": "STOP", "received_at":
//! "2026-01-01T12:00:00Z"}` (`received_at` optional, RFC 3339).
//!
//! Unknown keys are ignored everywhere, so a receiver can send more.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::http::{self, Reply, Transport, scrub};
use super::signature::{hmac_sha256_hex, same};
use super::{
    Accepted, DeliveryStatus, InboundSms, OutboundSms, Provider, SendError, StatusUpdate,
    WebhookError, WebhookRequest,
};
use crate::clock::Clock;
use crate::domain::MessageId;

/// The header that carries the signature, both ways.
pub const SIGNATURE_HEADER: &str = "X-Homeward-Signature";

/// How far a callback's timestamp may be from our clock.
const TOLERANCE_SECS: i64 = 5 * 60;

/// A provider that POSTs JSON to an operator's URL.
pub struct WebhookProvider {
    name: String,
    url: Url,
    secret: SecretString,
    transport: Transport,
}

/// `X-Homeward-Signature` for `body`, signed at `unix` seconds.
pub fn signature_header(secret: &str, unix: i64, body: &[u8]) -> String {
    let stamp = unix.to_string();
    let v1 = hmac_sha256_hex(secret.as_bytes(), &[stamp.as_bytes(), b".", body]);
    format!("t={stamp},v1={v1}")
}

impl WebhookProvider {
    pub(crate) fn new(name: String, url: Url, secret: SecretString, transport: Transport) -> Self {
        Self {
            name,
            url,
            secret,
            transport,
        }
    }

    fn clock(&self) -> &Arc<dyn Clock> {
        &self.transport.clock
    }
}

#[derive(Serialize)]
struct Outgoing<'a> {
    reference: String,
    to: &'a str,
    body: &'a str,
    encoding: &'static str,
}

/// What a receiver answers; every key optional.
#[derive(Deserialize, Default)]
struct Answer {
    id: Option<serde_json::Value>,
    error: Option<String>,
    message: Option<String>,
}

#[async_trait]
impl Provider for WebhookProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, SendError> {
        let body = serde_json::to_vec(&Outgoing {
            reference: sms.reference.to_string(),
            to: sms.to.as_e164(),
            body: &sms.body,
            encoding: sms.encoding.label(),
        })
        .expect("a struct of strings serialises");
        let now = self.clock().now().timestamp();
        let signature = signature_header(self.secret.expose_secret(), now, &body);
        let request = self
            .transport
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header("Idempotency-Key", sms.reference.to_string())
            .body(body);
        let reply = self.transport.execute(request).await?;
        read_answer(&reply, sms)
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        let header = request
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or(WebhookError::Unauthenticated)?;
        check_signature(
            self.secret.expose_secret(),
            header,
            &request.body,
            self.clock().now(),
        )
    }

    fn parse_status(&self, request: &WebhookRequest) -> Result<Vec<StatusUpdate>, WebhookError> {
        let bodies: OneOrMany = serde_json::from_slice(&request.body).map_err(malformed)?;
        let bodies = match bodies {
            OneOrMany::One(body) => vec![body],
            OneOrMany::Many(bodies) => bodies,
        };
        bodies.into_iter().map(StatusBody::into_update).collect()
    }

    fn parse_inbound(&self, request: &WebhookRequest) -> Result<InboundSms, WebhookError> {
        let body: InboundBody = serde_json::from_slice(&request.body).map_err(malformed)?;
        Ok(InboundSms {
            provider_id: body.id,
            from: body.from,
            to: body.to,
            text: body.text,
            received_at: body.received_at,
        })
    }
}

fn read_answer(reply: &Reply, sms: &OutboundSms) -> Result<Accepted, SendError> {
    let answer: Answer = serde_json::from_slice(&reply.body).unwrap_or_default();
    if reply.status.is_success() {
        let provider_id = match answer.id {
            Some(serde_json::Value::String(id)) if !id.is_empty() => id,
            Some(serde_json::Value::Number(id)) => id.to_string(),
            _ => sms.reference.to_string(),
        };
        return Ok(Accepted { provider_id });
    }
    let reason = scrub(answer.message.as_deref().unwrap_or("no message"));
    match (reply.status.as_u16(), answer.error.as_deref()) {
        (429, _) => Err(SendError::RateLimited {
            retry_after: reply.retry_after,
        }),
        (400..=499, Some("opted_out")) => Err(SendError::OptedOut { reason }),
        (400..=499, Some("invalid_number")) => Err(SendError::Permanent {
            reason,
            invalid_number: true,
        }),
        _ => Err(http::by_status(reply.status, reply.retry_after, reason)),
    }
}

/// Check `t=…,v1=…` against the body and our clock.
fn check_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let mut stamp = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", value)) => stamp = Some(value),
            Some(("v1", value)) => candidates.push(value),
            _ => {}
        }
    }
    let stamp = stamp.ok_or(WebhookError::Unauthenticated)?;
    let unix: i64 = stamp.parse().map_err(|_| WebhookError::Unauthenticated)?;
    if (now.timestamp() - unix).abs() > TOLERANCE_SECS {
        return Err(WebhookError::Unauthenticated);
    }
    let expected = hmac_sha256_hex(secret.as_bytes(), &[stamp.as_bytes(), b".", body]);
    let matched = candidates
        .iter()
        .any(|given| same(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()));
    matched.then_some(()).ok_or(WebhookError::Unauthenticated)
}

fn malformed(error: serde_json::Error) -> WebhookError {
    WebhookError::Malformed(scrub(&error.to_string()))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(StatusBody),
    Many(Vec<StatusBody>),
}

#[derive(Deserialize)]
struct StatusBody {
    id: String,
    reference: Option<String>,
    status: String,
    reason: Option<String>,
    #[serde(default = "yes")]
    permanent: bool,
    #[serde(default)]
    invalid_number: bool,
    #[serde(default)]
    opted_out: bool,
}

fn yes() -> bool {
    true
}

impl StatusBody {
    fn into_update(self) -> Result<StatusUpdate, WebhookError> {
        let reference = match self.reference.as_deref() {
            None | Some("") => None,
            Some(text) => Some(text.parse::<MessageId>().map_err(|_| {
                WebhookError::Malformed("`reference` is not one of our message ids".into())
            })?),
        };
        let status = match self.status.as_str() {
            "sent" => DeliveryStatus::InProgress,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed {
                reason: scrub(self.reason.as_deref().unwrap_or("failed")),
                permanent: self.permanent || self.invalid_number || self.opted_out,
                invalid_number: self.invalid_number,
                opted_out: self.opted_out,
            },
            other => {
                return Err(WebhookError::Malformed(format!(
                    "unknown status {:?}",
                    scrub(other)
                )));
            }
        };
        Ok(StatusUpdate {
            provider_id: self.id,
            reference,
            status,
        })
    }
}

#[derive(Deserialize)]
struct InboundBody {
    id: String,
    from: String,
    to: String,
    text: String,
    received_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::PhoneNumber;
    use crate::templates::sms::Encoding;
    use axum::http::{HeaderMap, HeaderValue};
    use bytes::Bytes;
    use chrono::TimeZone;
    use reqwest::StatusCode;
    use std::time::Duration;

    const SECRET: &str = "whsec_test";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn provider() -> WebhookProvider {
        let transport = Transport {
            client: reqwest::Client::new(),
            clock: Arc::new(ManualClock::new(now())),
        };
        let url = Url::parse("https://gateway.example/sms").unwrap();
        WebhookProvider::new("gw".into(), url, SECRET.to_string().into(), transport)
    }

    fn signed(body: &str, at: DateTime<Utc>) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        let value = signature_header(SECRET, at.timestamp(), body.as_bytes());
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(&value).unwrap());
        WebhookRequest {
            url: "https://homeward.example/webhooks/gw/status".into(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    fn sms() -> OutboundSms {
        OutboundSms {
            reference: MessageId::new(),
            to: PhoneNumber::parse("07400 123456").unwrap(),
            body: "Hello".into(),
            encoding: Encoding::Gsm7,
        }
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: Some(Duration::from_secs(7)),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn the_signature_is_an_hmac_of_the_timestamp_and_the_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature_header(SECRET, 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn a_correctly_signed_fresh_callback_is_accepted() {
        assert_eq!(provider().verify(&signed("{}", now())), Ok(()));
    }

    #[test]
    fn any_one_matching_signature_is_enough_while_secrets_rotate() {
        let good = signature_header(SECRET, now().timestamp(), b"{}");
        let (stamp, v1) = good.split_once(",v1=").unwrap();
        let rotated = format!("{stamp},v1={},v1={}", "0".repeat(64), v1.to_uppercase());
        let mut request = signed("{}", now());
        request
            .headers
            .insert(SIGNATURE_HEADER, HeaderValue::from_str(&rotated).unwrap());
        assert_eq!(provider().verify(&request), Ok(()));
    }

    #[test]
    fn a_tampered_stale_or_unsigned_callback_is_unauthenticated() {
        let mut tampered = signed("{}", now());
        tampered.body = Bytes::from_static(b"{ }");
        assert_eq!(
            provider().verify(&tampered),
            Err(WebhookError::Unauthenticated)
        );
        let stale = signed("{}", now() - chrono::Duration::minutes(6));
        assert_eq!(
            provider().verify(&stale),
            Err(WebhookError::Unauthenticated)
        );
        let future = signed("{}", now() + chrono::Duration::minutes(6));
        assert_eq!(
            provider().verify(&future),
            Err(WebhookError::Unauthenticated)
        );
        let mut unsigned = signed("{}", now());
        unsigned.headers.clear();
        assert_eq!(
            provider().verify(&unsigned),
            Err(WebhookError::Unauthenticated)
        );
        let mut garbled = signed("{}", now());
        garbled
            .headers
            .insert(SIGNATURE_HEADER, HeaderValue::from_static("v1=abc"));
        assert_eq!(
            provider().verify(&garbled),
            Err(WebhookError::Unauthenticated)
        );
    }

    #[test]
    fn answers_are_classed_by_status_and_error_code() {
        let sms = sms();
        let id = |r: Result<Accepted, SendError>| r.unwrap().provider_id;
        assert_eq!(
            id(read_answer(&reply(200, r#"{"id":"gw-1","x":1}"#), &sms)),
            "gw-1"
        );
        assert_eq!(
            id(read_answer(&reply(202, ""), &sms)),
            sms.reference.to_string()
        );
        assert_eq!(
            read_answer(&reply(429, ""), &sms),
            Err(SendError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            })
        );
        assert!(matches!(
            read_answer(&reply(422, r#"{"error":"invalid_number"}"#), &sms),
            Err(SendError::Permanent {
                invalid_number: true,
                ..
            })
        ));
        assert!(matches!(
            read_answer(
                &reply(409, r#"{"error":"opted_out","message":"STOP received"}"#),
                &sms
            ),
            Err(SendError::OptedOut { .. })
        ));
        assert!(matches!(
            read_answer(&reply(400, "not json"), &sms),
            Err(SendError::Permanent {
                invalid_number: false,
                ..
            })
        ));
        assert!(matches!(
            read_answer(&reply(502, ""), &sms),
            Err(SendError::Transient { .. })
        ));
    }

    #[test]
    fn status_callbacks_are_read_singly_or_in_batches() {
        let reference = MessageId::new();
        let one =
            format!(r#"{{"id":"gw-1","reference":"{reference}","status":"delivered","extra":1}}"#);
        let updates = provider().parse_status(&signed(&one, now())).unwrap();
        assert_eq!(
            updates,
            vec![StatusUpdate {
                provider_id: "gw-1".into(),
                reference: Some(reference),
                status: DeliveryStatus::Delivered,
            }]
        );
        let many = r#"[{"id":"a","status":"sent"},
            {"id":"b","reference":null,"status":"failed","reason":"no such number","invalid_number":true}]"#;
        let updates = provider().parse_status(&signed(many, now())).unwrap();
        assert_eq!(updates[0].status, DeliveryStatus::InProgress);
        assert_eq!(
            updates[1].status,
            DeliveryStatus::Failed {
                reason: "no such number".into(),
                permanent: true,
                invalid_number: true,
                opted_out: false,
            }
        );
    }

    #[test]
    fn malformed_status_callbacks_are_refused() {
        for body in [
            r#"{"status":"delivered"}"#,
            r#"{"id":"a","status":"lost"}"#,
            r#"{"id":"a","reference":"not-a-uuid","status":"delivered"}"#,
            "delivered",
        ] {
            let result = provider().parse_status(&signed(body, now()));
            assert!(matches!(result, Err(WebhookError::Malformed(_))), "{body}");
        }
    }

    #[test]
    fn inbound_texts_are_read_with_an_optional_time() {
        let body = r#"{"id":"in-1","from":"+447400123456","to":"+447700900000","text":"STOP","received_at":"2026-03-01T11:59:00Z","x":[]}"#;
        let inbound = provider().parse_inbound(&signed(body, now())).unwrap();
        assert_eq!(inbound.provider_id, "in-1");
        assert_eq!(inbound.text, "STOP");
        assert_eq!(
            inbound.received_at,
            Some(now() - chrono::Duration::minutes(1))
        );
        let without_time = r#"{"id":"in-2","from":"+447400123456","to":"x","text":"hi"}"#;
        assert_eq!(
            provider()
                .parse_inbound(&signed(without_time, now()))
                .unwrap()
                .received_at,
            None
        );
        let missing_text = r#"{"id":"in-3","from":"+447400123456","to":"x"}"#;
        assert!(matches!(
            provider().parse_inbound(&signed(missing_text, now())),
            Err(WebhookError::Malformed(_))
        ));
    }
}
