//! GOV.UK Notify, built against Notify's OpenAPI file, the JSON Schemas its
//! Node client checks responses with, and the server's own request schema
//! (summarised in `specs/govuk-notify/NOTES.md`).
//!
//! Sending is `POST {base}/v2/notifications/sms` with a JSON body of exactly
//! `phone_number`, `template_id`, `personalisation` and `reference` (the
//! server refuses any other key). Notify only sends templates, so the
//! operator makes one whose whole body is `((body))` and we fill it in.
//!
//! Each request carries a fresh JWT (`{"iss": service id, "iat": now}`,
//! HS256 keyed with the secret half of the API key), because Notify refuses
//! a token whose `iat` is more than 30 seconds from its clock.
//!
//! A 400 `ValidationError` about `phone_number` is the number's fault; any
//! other 400 is permanent for this text; 403 (Notify's auth errors: a
//! revoked key, a skewed clock) is transient, since the text is fine and a
//! retry or another provider can still send it.
//!
//! Callbacks (delivery status and inbound texts) carry
//! `Authorization: Bearer <callback_token>`, the token the operator set in
//! Notify's admin pages, compared in constant time.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::http::{self, Reply, Transport, scrub};
use super::signature::bearer_matches;
use super::{
    Accepted, DeliveryStatus, InboundSms, OutboundSms, Provider, SendError, StatusUpdate,
    WebhookError, WebhookRequest,
};
use crate::domain::MessageId;

/// GOV.UK Notify, sending as one service.
pub struct NotifyProvider {
    pub(crate) name: String,
    /// `…/v2/notifications/sms`.
    pub(crate) endpoint: Url,
    pub(crate) service_id: String,
    /// The secret half of the API key: the JWT signing key.
    pub(crate) secret: SecretString,
    pub(crate) template_id: String,
    pub(crate) callback_token: SecretString,
    pub(crate) transport: Transport,
}

/// Split an API key `{name}-{service id}-{secret}` into the service id and
/// the secret, from the right, as Notify's own clients do (the name may
/// itself contain `-`). `None` unless both halves are hyphenated UUIDs.
pub(crate) fn split_api_key(key: &str) -> Option<(&str, &str)> {
    let len = key.len();
    let service_id = key.get(len.checked_sub(73)?..len - 37)?;
    let secret = key.get(len - 36..)?;
    let dashes =
        key.get(len - 37..len - 36)? == "-" && key.get(len.checked_sub(74)?..len - 73)? == "-";
    (dashes && is_uuid(service_id) && is_uuid(secret)).then_some((service_id, secret))
}

/// A UUID in its 36-character hyphenated form, the only one Notify uses.
pub(crate) fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

#[derive(Serialize)]
struct Outgoing<'a> {
    phone_number: &'a str,
    template_id: &'a str,
    personalisation: Personalisation<'a>,
    reference: String,
}

#[derive(Serialize)]
struct Personalisation<'a> {
    body: &'a str,
}

impl NotifyProvider {
    /// A JWT for one request, issued now.
    fn token(&self) -> Result<String, SendError> {
        let claims = Claims {
            iss: &self.service_id,
            iat: self.transport.clock.now().timestamp(),
        };
        let key = EncodingKey::from_secret(self.secret.expose_secret().as_bytes());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).map_err(|e| {
            SendError::Transient {
                reason: format!("could not sign the Notify token: {e}"),
                retry_after: None,
            }
        })
    }
}

#[async_trait]
impl Provider for NotifyProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, SendError> {
        let body = Outgoing {
            phone_number: sms.to.as_e164(),
            template_id: &self.template_id,
            personalisation: Personalisation { body: &sms.body },
            reference: sms.reference.to_string(),
        };
        let request = self
            .transport
            .client
            .post(self.endpoint.clone())
            .bearer_auth(self.token()?)
            .json(&body);
        let reply = self.transport.execute(request).await?;
        if !reply.status.is_success() {
            return Err(classify(&reply));
        }
        let id = serde_json::from_slice::<Created>(&reply.body)
            .ok()
            .map(|c| c.id);
        if id.is_none() {
            tracing::warn!(provider = %self.name, reference = %sms.reference, "Notify accepted a text without a readable id");
        }
        Ok(Accepted {
            provider_id: id.unwrap_or_else(|| sms.reference.to_string()),
        })
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        bearer_matches(&request.headers, self.callback_token.expose_secret())
            .then_some(())
            .ok_or(WebhookError::Unauthenticated)
    }

    fn parse_status(&self, request: &WebhookRequest) -> Result<Vec<StatusUpdate>, WebhookError> {
        let body: StatusBody = serde_json::from_slice(&request.body).map_err(malformed)?;
        Ok(vec![StatusUpdate {
            status: delivery_status(&body.status)?,
            provider_id: body.id,
            // Notify echoes our reference verbatim; anything else is not ours.
            reference: body.reference.and_then(|r| r.parse::<MessageId>().ok()),
        }])
    }

    fn parse_inbound(&self, request: &WebhookRequest) -> Result<InboundSms, WebhookError> {
        let body: InboundBody = serde_json::from_slice(&request.body).map_err(malformed)?;
        Ok(InboundSms {
            provider_id: body.id,
            from: body.source_number,
            to: body.destination_number,
            text: body.message,
            received_at: body.date_received.as_deref().and_then(parse_time),
        })
    }
}

/// The part of `POST_notification_sms_response` we need.
#[derive(Deserialize)]
struct Created {
    id: String,
}

/// Notify's v2 error body: `{"status_code": N, "errors": [{"error", "message"}]}`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    error: String,
    message: String,
}

fn classify(reply: &Reply) -> SendError {
    let body: ErrorBody = serde_json::from_slice(&reply.body).unwrap_or_default();
    let reason = match body.errors.is_empty() {
        true => "Notify gave no error detail".to_string(),
        false => scrub(
            &body
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.error, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    let bad_number = body
        .errors
        .iter()
        .any(|e| e.error == "ValidationError" && e.message.starts_with("phone_number"));
    match reply.status.as_u16() {
        400 if bad_number => SendError::Permanent {
            reason,
            invalid_number: true,
        },
        _ => http::by_status(reply.status, reply.retry_after, reason),
    }
}

/// Notify's callback statuses; only the final four are documented for
/// callbacks, the rest are accepted in case a non-final one arrives.
fn delivery_status(status: &str) -> Result<DeliveryStatus, WebhookError> {
    let failed = |reason: &str, permanent| DeliveryStatus::Failed {
        reason: format!("Notify {status}: {reason}"),
        permanent,
        invalid_number: permanent,
        opted_out: false,
    };
    match status {
        "delivered" => Ok(DeliveryStatus::Delivered),
        // Notify: "the provider could not deliver the message because the phone number was wrong".
        "permanent-failure" => Ok(failed("the phone number was wrong", true)),
        "temporary-failure" => Ok(failed("the phone was off or its inbox full", false)),
        "technical-failure" => Ok(failed("a problem at Notify or its provider", false)),
        "created" | "sending" | "pending" | "sent" => Ok(DeliveryStatus::InProgress),
        other => Err(WebhookError::Malformed(format!(
            "unknown status {:?}",
            scrub(other)
        ))),
    }
}

#[derive(Deserialize)]
struct StatusBody {
    id: String,
    reference: Option<String>,
    status: String,
}

#[derive(Deserialize)]
struct InboundBody {
    id: String,
    source_number: String,
    destination_number: String,
    message: String,
    date_received: Option<String>,
}

/// Notify's times: `2017-05-14T12:15:30.000000Z`, UTC.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn malformed(error: serde_json::Error) -> WebhookError {
    WebhookError::Malformed(scrub(&error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use axum::http::header::AUTHORIZATION;
    use axum::http::{HeaderMap, HeaderValue};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use bytes::Bytes;
    use chrono::TimeZone;
    use hmac::{Hmac, Mac};
    use reqwest::StatusCode;
    use serde_json::{Value, json};
    use sha2::Sha256;
    use std::sync::Arc;
    use std::time::Duration;

    const SERVICE: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
    const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";

    fn provider() -> NotifyProvider {
        NotifyProvider {
            name: "notify".into(),
            endpoint: Url::parse("https://api.notifications.service.gov.uk/v2/notifications/sms")
                .unwrap(),
            service_id: SERVICE.into(),
            secret: SECRET.to_string().into(),
            template_id: "f33517ff-2a88-4f6e-b855-c550268ce08a".into(),
            callback_token: "cb-token-0123456789".to_string().into(),
            transport: Transport {
                client: reqwest::Client::new(),
                clock: Arc::new(ManualClock::new(
                    Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
                )),
            },
        }
    }

    fn callback(body: &str, token: Option<&str>) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        if let Some(token) = token {
            headers.insert(
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        WebhookRequest {
            url: "https://homeward.example/webhooks/notify/status".into(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn api_keys_are_split_from_the_right_like_notifys_clients_do() {
        let key = format!("my-test-key-{SERVICE}-{SECRET}");
        assert_eq!(split_api_key(&key), Some((SERVICE, SECRET)));
        assert_eq!(
            split_api_key(&format!("-{SERVICE}-{SECRET}")),
            Some((SERVICE, SECRET))
        );
        for bad in [
            SECRET.to_string(),
            format!("{SERVICE}-{SECRET}"),
            format!("key-{SERVICE}_{SECRET}"),
            format!("key-{SERVICE}-{}", &SECRET[..35]),
            format!("key-{}-{SECRET}", SERVICE.replace('-', "x")),
            format!("kéy-{SERVICE}-{SECRET}é"),
        ] {
            assert_eq!(split_api_key(&bad), None, "{bad}");
        }
    }

    fn segment(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_token_has_exactly_the_header_and_claims_notify_expects() {
        let token = provider().token().unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(segment(parts[0]), json!({"typ": "JWT", "alg": "HS256"}));
        assert_eq!(
            segment(parts[1]),
            json!({"iss": SERVICE, "iat": 1_700_000_000})
        );
        // HS256 keyed with the secret UUID's own characters, checked without jsonwebtoken.
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
            .unwrap();
    }

    fn reply(status: u16, errors: Value) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: Some(Duration::from_secs(60)),
            body: Bytes::from(json!({"status_code": status, "errors": errors}).to_string()),
        }
    }

    #[test]
    fn send_errors_are_classed_as_notify_documents_them() {
        let validation =
            json!([{"error": "ValidationError", "message": "phone_number Not a UK mobile number"}]);
        assert!(matches!(
            classify(&reply(400, validation)),
            SendError::Permanent {
                invalid_number: true,
                ..
            }
        ));
        let trial = json!([{"error": "BadRequestError", "message": "Cannot send to this recipient when service is in trial mode"}]);
        assert!(matches!(
            classify(&reply(400, trial)),
            SendError::Permanent {
                invalid_number: false,
                ..
            }
        ));
        let auth = json!([{"error": "AuthError", "message": "Error: Your system clock must be accurate to within 30 seconds"}]);
        assert!(matches!(
            classify(&reply(403, auth)),
            SendError::Transient { .. }
        ));
        let limit = json!([{"error": "RateLimitError", "message": "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"}]);
        assert_eq!(
            classify(&reply(429, limit)),
            SendError::RateLimited {
                retry_after: Some(Duration::from_secs(60))
            }
        );
        let server = json!([{"error": "Exception", "message": "Internal server error"}]);
        assert!(matches!(
            classify(&reply(500, server)),
            SendError::Transient { .. }
        ));
    }

    #[test]
    fn callbacks_need_the_configured_bearer_token() {
        assert_eq!(
            provider().verify(&callback("{}", Some("cb-token-0123456789"))),
            Ok(())
        );
        for token in [Some("cb-token-012345678"), Some("wrong"), None] {
            assert_eq!(
                provider().verify(&callback("{}", token)),
                Err(WebhookError::Unauthenticated)
            );
        }
    }

    fn status_of(status: &str, reference: Value) -> Result<StatusUpdate, WebhookError> {
        let body = json!({
            "id": "740e5834-3a29-46b4-9a6f-16142fde533a", "reference": reference, "to": "07400123456",
            "status": status, "created_at": "2017-05-14T12:15:30.000000Z", "completed_at": null,
            "sent_at": null, "notification_type": "sms",
            "template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a", "template_version": 1
        });
        provider()
            .parse_status(&callback(&body.to_string(), None))
            .map(|mut updates| updates.remove(0))
    }

    #[test]
    fn delivery_receipts_map_notifys_four_final_statuses() {
        let reference = MessageId::new();
        let delivered = status_of("delivered", json!(reference.to_string())).unwrap();
        assert_eq!(
            delivered.provider_id,
            "740e5834-3a29-46b4-9a6f-16142fde533a"
        );
        assert_eq!(delivered.reference, Some(reference));
        assert_eq!(delivered.status, DeliveryStatus::Delivered);
        let flags = |status: &str| match status_of(status, Value::Null).unwrap().status {
            DeliveryStatus::Failed {
                permanent,
                invalid_number,
                opted_out,
                ..
            } => (permanent, invalid_number, opted_out),
            other => panic!("not a failure: {other:?}"),
        };
        assert_eq!(flags("permanent-failure"), (true, true, false));
        assert_eq!(flags("temporary-failure"), (false, false, false));
        assert_eq!(flags("technical-failure"), (false, false, false));
        assert_eq!(status_of("sending", Value::Null).unwrap().reference, None);
        assert!(matches!(
            status_of("vanished", Value::Null),
            Err(WebhookError::Malformed(_))
        ));
        let missing_id = provider().parse_status(&callback(r#"{"status":"delivered"}"#, None));
        assert!(matches!(missing_id, Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn inbound_texts_are_read_from_notifys_callback() {
        let body = json!({
            "id": "df10a23e-2c0d-4ea5-87fb-82e520cbf93c", "source_number": "447700912345",
            "destination_number": "07700987654", "message": "STOP",
            "date_received": "2017-05-14T12:15:30.000000Z", "service_id": "extra key"
        });
        let inbound = provider()
            .parse_inbound(&callback(&body.to_string(), None))
            .unwrap();
        assert_eq!(inbound.provider_id, "df10a23e-2c0d-4ea5-87fb-82e520cbf93c");
        assert_eq!(
            (inbound.from.as_str(), inbound.to.as_str()),
            ("447700912345", "07700987654")
        );
        assert_eq!(inbound.text, "STOP");
        assert_eq!(
            inbound.received_at,
            Some(Utc.with_ymd_and_hms(2017, 5, 14, 12, 15, 30).unwrap())
        );
        assert!(matches!(
            provider().parse_inbound(&callback(r#"{"id":"x","message":"hi"}"#, None)),
            Err(WebhookError::Malformed(_))
        ));
    }
}
