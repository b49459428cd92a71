//! Vonage (formerly Nexmo) SMS API, built against Vonage's OpenAPI file
//! (`definitions/sms.yml` 1.0.10) and its signing and delivery-receipt
//! documentation.
//!
//! Sending is `POST {base}/sms/json` with a form body carrying the
//! credentials, `to` in E.164 digits without the `+`, `type=unicode` for
//! UCS-2 texts, our message id as `client-ref` (echoed in every delivery
//! receipt, so receipts for each part of a long text find the message), and
//! `callback` when the daemon has a public URL. The answer is HTTP 200 even
//! on failure: each part has its own `status`, `"0"` meaning accepted.
//!
//! Statuses are classed by what would make a retry work (`x-errors` in the
//! spec): 1 (throttled) is a rate limit; 5 and 10 are Vonage's trouble;
//! 4, 8, 9, 11, 14 and 32 are our account's (credentials, suspension,
//! credit, provisioning, signing), transient so the dispatcher can fail
//! over to another provider rather than fail every due text; 33 (number
//! de-activated) is the number's fault; the rest are permanent. Status 6
//! ("invalid message, for example an unrecognised number prefix") is
//! permanent but not blamed on the number: its causes are broader, and an
//! invalid-number verdict would stop every later text to that person.
//!
//! Webhooks (delivery receipts and inbound texts) arrive as a GET query, a
//! POST form or POST JSON, as the account's dashboard decides; all three are
//! read. They can only be authenticated when the account has signed webhooks
//! enabled and `signature_secret` is configured: without it every webhook is
//! refused, since an unsigned one could be forged by anyone (configure
//! signed webhooks). The signing method is a dashboard setting we are not
//! told, so it is read from the signature's length: 32 hex digits is MD5
//! hash or HMAC-MD5, 40 HMAC-SHA1, 64 HMAC-SHA256, 128 HMAC-SHA512. The
//! signed timestamp is not checked for freshness: Vonage re-sends unanswered
//! webhooks for up to a day, a STOP must never be lost to a clock window,
//! and receipts and inbound texts are processed once per Vonage id anyway.
//!
//! A long inbound text arrives in parts (`concat=true`); each part is passed
//! on as its own message. Replies that matter (STOP, START, HELP) fit one.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use hmac::Hmac;
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use url::Url;

use super::http::{Reply, Transport, scrub};
use super::params::Params;
use super::signature::{hmac, same};
use super::{
    Accepted, DeliveryStatus, InboundSms, OutboundSms, Provider, SendError, StatusUpdate,
    WebhookError, WebhookRequest,
};
use crate::domain::MessageId;
use crate::templates::sms::Encoding;

/// Vonage, sending from one account.
pub struct VonageProvider {
    pub(crate) name: String,
    /// `…/sms/json`.
    pub(crate) endpoint: Url,
    pub(crate) api_key: SecretString,
    pub(crate) api_secret: SecretString,
    pub(crate) from: String,
    /// Where Vonage should send delivery receipts, if we can be reached.
    pub(crate) callback: Option<String>,
    pub(crate) signature_secret: Option<SecretString>,
    pub(crate) transport: Transport,
}

impl VonageProvider {
    fn form<'a>(
        &'a self,
        sms: &'a OutboundSms,
        reference: &'a str,
    ) -> Vec<(&'static str, &'a str)> {
        let kind = match sms.encoding {
            Encoding::Gsm7 => "text",
            Encoding::Ucs2 => "unicode",
        };
        let mut form = vec![
            ("api_key", self.api_key.expose_secret()),
            ("api_secret", self.api_secret.expose_secret()),
            ("from", self.from.as_str()),
            ("to", sms.to.as_e164().trim_start_matches('+')),
            ("text", sms.body.as_str()),
            ("type", kind),
            ("client-ref", reference),
        ];
        if let Some(callback) = &self.callback {
            form.push(("status-report-req", "true"));
            form.push(("callback", callback));
        }
        form
    }
}

#[async_trait]
impl Provider for VonageProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, SendError> {
        let reference = sms.reference.to_string();
        let request = self
            .transport
            .client
            .post(self.endpoint.clone())
            .form(&self.form(sms, &reference));
        let reply = self.transport.execute(request).await?;
        let provider_id = read_reply(&reply)?.unwrap_or_else(|| {
            tracing::warn!(provider = %self.name, reference = %sms.reference, "Vonage accepted a text without a readable message-id");
            reference
        });
        Ok(Accepted { provider_id })
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        let secret = self
            .signature_secret
            .as_ref()
            .ok_or(WebhookError::Unauthenticated)?;
        let params = Params::from_request(request).map_err(|_| WebhookError::Unauthenticated)?;
        let given = params
            .get("sig")
            .ok_or(WebhookError::Unauthenticated)?
            .to_ascii_lowercase();
        signatures(secret.expose_secret(), &params, given.len())
            .iter()
            .any(|expected| same(expected.as_bytes(), given.as_bytes()))
            .then_some(())
            .ok_or(WebhookError::Unauthenticated)
    }

    fn parse_status(&self, request: &WebhookRequest) -> Result<Vec<StatusUpdate>, WebhookError> {
        let params = Params::from_request(request)?;
        let status = receipt_status(params.require("status")?, params.get("err-code"))?;
        Ok(vec![StatusUpdate {
            provider_id: params.require("messageId")?.to_string(),
            // We always send a client-ref; anything else is not ours to match on.
            reference: params
                .get("client-ref")
                .and_then(|r| r.parse::<MessageId>().ok()),
            status,
        }])
    }

    fn parse_inbound(&self, request: &WebhookRequest) -> Result<InboundSms, WebhookError> {
        let params = Params::from_request(request)?;
        let received_at = params
            .get("message-timestamp")
            .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
            .map(|t| t.and_utc());
        Ok(InboundSms {
            provider_id: params.require("messageId")?.to_string(),
            from: params.require("msisdn")?.to_string(),
            to: params.require("to")?.to_string(),
            text: params.get("text").unwrap_or_default().to_string(),
            received_at,
        })
    }
}

/// The first part's `message-id` when every part was accepted (`None` when
/// Vonage said yes unreadably), else the first failing part's class.
fn read_reply(reply: &Reply) -> Result<Option<String>, SendError> {
    if reply.status.as_u16() == 429 {
        return Err(SendError::RateLimited {
            retry_after: reply.retry_after,
        });
    }
    if !reply.status.is_success() {
        return Err(SendError::Transient {
            reason: format!("Vonage answered HTTP {}", reply.status),
            retry_after: reply.retry_after,
        });
    }
    let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    let parts = body["messages"].as_array().cloned().unwrap_or_default();
    for part in &parts {
        let status = text_of(&part["status"]).unwrap_or_default();
        if status != "0" {
            let reason = text_of(&part["error-text"]).unwrap_or_default();
            return Err(classify(&status, &reason));
        }
    }
    Ok(parts.first().and_then(|part| text_of(&part["message-id"])))
}

/// A JSON string or number as text (Vonage documents strings; be lenient).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn classify(status: &str, error_text: &str) -> SendError {
    let reason = scrub(&format!("Vonage status {status}: {error_text}"));
    match status {
        "1" => SendError::RateLimited { retry_after: None },
        "5" | "10" | "4" | "8" | "9" | "11" | "14" | "32" => SendError::Transient {
            reason,
            retry_after: None,
        },
        "33" => SendError::Permanent {
            reason,
            invalid_number: true,
        },
        _ => SendError::Permanent {
            reason,
            invalid_number: false,
        },
    }
}

/// What a delivery receipt's `status` and `err-code` mean for us.
fn receipt_status(status: &str, err_code: Option<&str>) -> Result<DeliveryStatus, WebhookError> {
    match status {
        "delivered" => Ok(DeliveryStatus::Delivered),
        // "unknown": the carrier never said; the text may well have arrived.
        "accepted" | "buffered" | "unknown" => Ok(DeliveryStatus::InProgress),
        "expired" => Ok(failure(status, err_code, false)),
        "failed" | "rejected" => Ok(failure(status, err_code, true)),
        other => Err(WebhookError::Malformed(format!(
            "unknown status {:?}",
            scrub(other)
        ))),
    }
}

/// Vonage's DLR error codes (https://api.support.vonage.com/hc/en-us/articles/204014733):
/// 9 "illegal number" means the person asked not to get texts from us;
/// 3 (absent for good), 4 (barred by the user) and 12 (no route to the
/// number) mean the number is unusable; 2, 7 and 8 say "retry"; 1 and 99
/// say nothing.
fn failure(status: &str, err_code: Option<&str>, final_status: bool) -> DeliveryStatus {
    let code = err_code.and_then(|c| c.trim().parse::<u32>().ok());
    let (permanent, invalid_number, opted_out) = match code {
        Some(9) => (true, false, true),
        Some(3 | 4 | 12) => (true, true, false),
        Some(5 | 6 | 10 | 11 | 13 | 14 | 50..=54) => (final_status, false, false),
        _ => (false, false, false),
    };
    let reason = match code {
        Some(code) => format!("Vonage {status}, err-code {code}"),
        None => format!("Vonage {status}"),
    };
    DeliveryStatus::Failed {
        reason,
        permanent,
        invalid_number,
        opted_out,
    }
}

/// The text Vonage signs: every parameter but `sig`, sorted by name, as
/// `&name=value`, with `&` and `=` in values replaced by `_`.
pub(crate) fn signing_string(params: &Params) -> String {
    let mut pairs: Vec<&(String, String)> = params
        .pairs()
        .iter()
        .filter(|(name, _)| name != "sig")
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .iter()
        .map(|(name, value)| format!("&{name}={}", value.replace(['&', '='], "_")))
        .collect()
}

/// Every signature Vonage could have made with a `length`-digit hex digest.
fn signatures(secret: &str, params: &Params, length: usize) -> Vec<String> {
    let data = signing_string(params);
    let (key, text) = (secret.as_bytes(), [data.as_bytes()]);
    match length {
        32 => vec![
            hex::encode(Md5::digest(format!("{data}{secret}"))),
            hex::encode(hmac::<Hmac<Md5>>(key, &text)),
        ],
        40 => vec![hex::encode(hmac::<Hmac<Sha1>>(key, &text))],
        64 => vec![hex::encode(hmac::<Hmac<Sha256>>(key, &text))],
        128 => vec![hex::encode(hmac::<Hmac<Sha512>>(key, &text))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use axum::http::header::CONTENT_TYPE;
    use axum::http::{HeaderMap, HeaderValue};
    use bytes::Bytes;
    use reqwest::StatusCode;
    use std::sync::Arc;

    const SECRET: &str = "sigsecret";
    // An inbound text as Vonage's spec describes it (values from its examples).
    const INBOUND: &str = "msisdn=447400123456&to=447700900000&messageId=0A0000000123ABCD1&text=STOP&type=text&keyword=STOP&message-timestamp=2020-01-01+12%3A00%3A00&api-key=abcd1234&timestamp=1578787200&nonce=aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
    // Computed independently with Python's hmac and hashlib over the signing string.
    const HMAC_SHA256: &str = "8c95bd5eafbc6c002ff0e7e9b9e9e763aac058afb5960a1ec2e4f29cf4e59856";
    const HMAC_SHA1: &str = "957261725e8450b9a4ddb0e45f5aa9485bb1cf61";
    const HMAC_SHA512: &str = "147ab4073e8455e0714662ede317219393677691ad37562b1007bc6543a2372d7a25f68ffee0d01941ac67888214d8de0cbe303e1cf64d91da649e852e8ebad0";
    const MD5_HASH: &str = "b908d0ec784a760253751a82ad829911";

    fn provider(signature_secret: Option<&str>) -> VonageProvider {
        VonageProvider {
            name: "vonage".into(),
            endpoint: Url::parse("https://rest.nexmo.com/sms/json").unwrap(),
            api_key: "abcd1234".to_string().into(),
            api_secret: "abcdef0123456789".to_string().into(),
            from: "Homeward".into(),
            callback: None,
            signature_secret: signature_secret.map(|s| s.to_string().into()),
            transport: Transport {
                client: reqwest::Client::new(),
                clock: Arc::new(SystemClock),
            },
        }
    }

    fn form(body: &str) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        WebhookRequest {
            url: "https://homeward.example/webhooks/vonage/inbound".into(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    fn signing_string_of(pairs: &[(&str, &str)]) -> String {
        let owned = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        signing_string(&Params::from_pairs(owned))
    }

    #[test]
    fn signatures_match_the_vonage_sdks_published_vectors() {
        // vonage-python-sdk: tests of Client.signature (md5hash, secret "secret")
        // and of vonage_http_client Auth.sign_params (HMAC, secret "signature_secret").
        let old = signing_string_of(&[("a", "1"), ("b", "2"), ("timestamp", "1461605396")]);
        assert_eq!(
            hex::encode(Md5::digest(format!("{old}secret"))),
            "6af838ef94998832dbfc29020b564830"
        );
        let new = signing_string_of(&[
            ("param1", "value1"),
            ("param2", "value2"),
            ("timestamp", "1234567890"),
        ]);
        let key = b"signature_secret";
        assert_eq!(
            hex::encode(hmac::<Hmac<Md5>>(key, &[new.as_bytes()])),
            "724c2bf6ca423c36e20631b11d1c5753"
        );
        assert_eq!(
            hex::encode(hmac::<Hmac<Sha256>>(key, &[new.as_bytes()])),
            "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"
        );
        let special = signing_string_of(&[
            ("param1", "value&1"),
            ("param2", "value=2"),
            ("timestamp", "1234567890"),
        ]);
        assert_eq!(
            hex::encode(hmac::<Hmac<Md5>>(key, &[special.as_bytes()])),
            "2bbf0abafb2c55e5af6231513896a2ac"
        );
    }

    #[test]
    fn a_signed_webhook_is_accepted_whichever_method_the_account_uses() {
        for sig in [
            HMAC_SHA256,
            HMAC_SHA1,
            HMAC_SHA512,
            MD5_HASH,
            &HMAC_SHA256.to_uppercase(),
        ] {
            let request = form(&format!("{INBOUND}&sig={sig}"));
            assert_eq!(provider(Some(SECRET)).verify(&request), Ok(()), "{sig}");
        }
    }

    #[test]
    fn get_and_json_webhooks_are_verified_too() {
        let get = WebhookRequest {
            url: format!(
                "https://homeward.example/webhooks/vonage/inbound?{INBOUND}&sig={HMAC_SHA256}"
            ),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        assert_eq!(provider(Some(SECRET)).verify(&get), Ok(()));
        let params = Params::from_form(format!("{INBOUND}&sig={HMAC_SHA256}").as_bytes()).unwrap();
        let json: serde_json::Map<String, Value> = params
            .pairs()
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect();
        let mut request = form(&Value::Object(json).to_string());
        request
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(provider(Some(SECRET)).verify(&request), Ok(()));
    }

    #[test]
    fn unsigned_tampered_or_unconfigured_webhooks_are_unauthenticated() {
        let signed = form(&format!("{INBOUND}&sig={HMAC_SHA256}"));
        assert_eq!(
            provider(None).verify(&signed),
            Err(WebhookError::Unauthenticated)
        );
        assert_eq!(
            provider(Some("other")).verify(&signed),
            Err(WebhookError::Unauthenticated)
        );
        let tampered = form(&format!(
            "{}&sig={HMAC_SHA256}",
            INBOUND.replace("STOP", "START")
        ));
        assert_eq!(
            provider(Some(SECRET)).verify(&tampered),
            Err(WebhookError::Unauthenticated)
        );
        assert_eq!(
            provider(Some(SECRET)).verify(&form(INBOUND)),
            Err(WebhookError::Unauthenticated)
        );
        let odd_length = form(&format!("{INBOUND}&sig=abc"));
        assert_eq!(
            provider(Some(SECRET)).verify(&odd_length),
            Err(WebhookError::Unauthenticated)
        );
    }

    #[test]
    fn inbound_texts_are_read_with_their_time() {
        let inbound = provider(None).parse_inbound(&form(INBOUND)).unwrap();
        assert_eq!(inbound.provider_id, "0A0000000123ABCD1");
        assert_eq!(
            (inbound.from.as_str(), inbound.to.as_str()),
            ("447400123456", "447700900000")
        );
        assert_eq!(inbound.text, "STOP");
        assert_eq!(
            inbound.received_at.unwrap().to_rfc3339(),
            "2020-01-01T12:00:00+00:00"
        );
        let missing = provider(None).parse_inbound(&form("to=447700900000&messageId=1&text=hi"));
        assert!(matches!(missing, Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn delivery_receipts_map_status_and_error_code() {
        let reference = MessageId::new();
        let receipt = |status: &str, code: &str| {
            let body = format!(
                "msisdn=447400123456&to=Homeward&network-code=23410&messageId=0B00000127FDBC63&price=0.03&status={status}&scts=2001011400&err-code={code}&api-key=abcd1234&client-ref={reference}&message-timestamp=2020-01-01+14%3A00%3A00"
            );
            let updates = provider(None).parse_status(&form(&body)).unwrap();
            assert_eq!(updates[0].provider_id, "0B00000127FDBC63");
            assert_eq!(updates[0].reference, Some(reference));
            updates[0].status.clone()
        };
        let flags = |s: DeliveryStatus| match s {
            DeliveryStatus::Failed {
                permanent,
                invalid_number,
                opted_out,
                ..
            } => (permanent, invalid_number, opted_out),
            other => panic!("not a failure: {other:?}"),
        };
        assert_eq!(receipt("delivered", "0"), DeliveryStatus::Delivered);
        assert_eq!(receipt("buffered", "0"), DeliveryStatus::InProgress);
        assert_eq!(flags(receipt("failed", "9")), (true, false, true));
        assert_eq!(flags(receipt("failed", "3")), (true, true, false));
        assert_eq!(flags(receipt("rejected", "6")), (true, false, false));
        assert_eq!(flags(receipt("failed", "2")), (false, false, false));
        assert_eq!(flags(receipt("expired", "1")), (false, false, false));
    }

    #[test]
    fn receipts_without_our_reference_or_with_an_unknown_status_are_handled() {
        let foreign = form("messageId=X1&status=delivered&client-ref=someone-else");
        assert_eq!(
            provider(None).parse_status(&foreign).unwrap()[0].reference,
            None
        );
        let unknown = form("messageId=X1&status=teleported");
        assert!(matches!(
            provider(None).parse_status(&unknown),
            Err(WebhookError::Malformed(_))
        ));
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            body: Bytes::from(body.to_string()),
        }
    }

    fn answer(status: &str) -> Result<Option<String>, SendError> {
        read_reply(&reply(
            200,
            &format!(
                r#"{{"message-count":"1","messages":[{{"status":"{status}","error-text":"No route to 447400123456"}}]}}"#
            ),
        ))
    }

    #[test]
    fn send_answers_are_classed_by_each_parts_status() {
        let ok = r#"{"message-count":"2","messages":[{"to":"447400123456","message-id":"A1","status":"0"},{"message-id":"A2","status":"0"}]}"#;
        assert_eq!(read_reply(&reply(200, ok)), Ok(Some("A1".into())));
        assert_eq!(
            answer("1"),
            Err(SendError::RateLimited { retry_after: None })
        );
        assert!(matches!(answer("5"), Err(SendError::Transient { .. })));
        assert!(matches!(answer("9"), Err(SendError::Transient { .. })));
        assert!(matches!(
            answer("33"),
            Err(SendError::Permanent {
                invalid_number: true,
                ..
            })
        ));
        assert!(matches!(
            answer("6"),
            Err(SendError::Permanent {
                invalid_number: false,
                ..
            })
        ));
        assert!(matches!(
            answer("29"),
            Err(SendError::Permanent {
                invalid_number: false,
                ..
            })
        ));
        assert!(matches!(
            read_reply(&reply(502, "")),
            Err(SendError::Transient { .. })
        ));
        let Err(SendError::Permanent { reason, .. }) = answer("3") else {
            panic!()
        };
        assert!(!reason.contains("447400123456"), "{reason}");
    }
}
