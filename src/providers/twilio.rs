//! Twilio Programmable Messaging (API 2010-04-01), built against Twilio's
//! OpenAPI file (`CreateMessage`) and its webhook documentation.
//!
//! Sending is `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`
//! with HTTP Basic auth (Account SID, Auth Token) and a form body of `To`,
//! `Body`, `MessagingServiceSid` or `From`, and `StatusCallback` when the
//! daemon has a public URL. Twilio has no idempotency key for messages, so
//! a send is never retried after a 2xx, even if its body is unreadable.
//!
//! Errors are classed by Twilio's error `code` where one is known to mean
//! something for the message (21610: the person texted STOP to us on
//! Twilio; 21211, 21614: the `To` number is not a usable mobile), and by HTTP
//! status otherwise. Twilio asks integrators not to build logic on codes, as
//! it refines them; so only these few are special and everything else falls
//! back to the status class. 21612 (this To/From pair cannot be connected)
//! and 21408 (region not enabled on the account) are permanent but are not
//! the number's fault, so they do not mark it invalid.
//!
//! Webhooks (status callbacks and inbound texts) are signed with
//! `X-Twilio-Signature`, under the Auth Token or a SharedKey, over the URL
//! and the form parameters or (for JSON bodies) the body's hash: see
//! [`signing`]. Twilio does not echo our reference, so status updates are
//! matched by the message SID alone.

mod signing;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::http::{self, Reply, Transport, scrub};
use super::params::Params;
use super::{
    Accepted, DeliveryStatus, InboundSms, OutboundSms, Provider, SendError, StatusUpdate,
    WebhookError, WebhookReply, WebhookRequest,
};

pub use signing::{SETTINGS_HEADER, SIGNATURE_HEADER};

/// Error codes that mean the `To` number cannot receive texts.
const INVALID_TO: [u32; 2] = [21211, 21614];
/// "Attempt to send to unsubscribed recipient": they replied STOP.
const UNSUBSCRIBED: u32 = 21610;
/// "Too Many Requests".
const TOO_MANY_REQUESTS: u32 = 20429;

/// Who the text comes from: a Messaging Service picks the sender itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sender {
    Service(String),
    Number(String),
}

/// Twilio, sending through one account.
pub struct TwilioProvider {
    pub(crate) name: String,
    /// `…/Accounts/{AccountSid}/Messages.json`.
    pub(crate) endpoint: Url,
    pub(crate) account_sid: String,
    pub(crate) auth_token: SecretString,
    /// The secret of the SharedKey that Twilio's Webhooks configuration
    /// signs with, where the operator set one up.
    pub(crate) webhook_shared_key: Option<SecretString>,
    pub(crate) sender: Sender,
    /// Where Twilio should send status callbacks, if we can be reached.
    pub(crate) status_callback: Option<String>,
    pub(crate) transport: Transport,
}

impl TwilioProvider {
    fn form<'a>(&'a self, sms: &'a OutboundSms) -> Vec<(&'static str, &'a str)> {
        let mut form = vec![("To", sms.to.as_e164()), ("Body", sms.body.as_str())];
        match &self.sender {
            Sender::Service(sid) => form.push(("MessagingServiceSid", sid)),
            Sender::Number(from) => form.push(("From", from)),
        }
        if let Some(url) = &self.status_callback {
            form.push(("StatusCallback", url));
        }
        form
    }
}

#[async_trait]
impl Provider for TwilioProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, SendError> {
        let request = self
            .transport
            .client
            .post(self.endpoint.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&self.form(sms));
        let reply = self.transport.execute(request).await?;
        if !reply.status.is_success() {
            return Err(classify(&reply));
        }
        let sid = serde_json::from_slice::<Created>(&reply.body)
            .ok()
            .map(|created| created.sid)
            .filter(|sid| !sid.is_empty());
        if sid.is_none() {
            tracing::warn!(provider = %self.name, reference = %sms.reference, "Twilio accepted a text without a readable sid");
        }
        Ok(Accepted {
            provider_id: sid.unwrap_or_else(|| sms.reference.to_string()),
        })
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        let keys = signing::Keys {
            provider: &self.name,
            auth_token: &self.auth_token,
            shared_key: self.webhook_shared_key.as_ref(),
        };
        signing::verify(request, &keys)
    }

    fn parse_status(&self, request: &WebhookRequest) -> Result<Vec<StatusUpdate>, WebhookError> {
        let params = Params::from_request(request)?;
        let status = delivery_status(params.require("MessageStatus")?, params.get("ErrorCode"))?;
        Ok(vec![StatusUpdate {
            provider_id: params.require("MessageSid")?.to_string(),
            reference: None,
            status,
        }])
    }

    fn parse_inbound(&self, request: &WebhookRequest) -> Result<InboundSms, WebhookError> {
        let params = Params::from_request(request)?;
        let provider_id = params
            .get("MessageSid")
            .or_else(|| params.get("SmsSid"))
            .ok_or_else(|| WebhookError::Malformed("`MessageSid` is missing".into()))?;
        Ok(InboundSms {
            provider_id: provider_id.to_string(),
            from: params.require("From")?.to_string(),
            to: params.require("To")?.to_string(),
            // A text with only a picture has no body; it is still a reply.
            text: params.get("Body").unwrap_or_default().to_string(),
            received_at: None,
        })
    }

    /// An empty TwiML response: "received, send no reply".
    fn webhook_reply(&self) -> WebhookReply {
        WebhookReply {
            content_type: "application/xml",
            body: r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#.into(),
        }
    }
}

/// The part of Twilio's 201 body we need.
#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// Twilio's REST error body (https://www.twilio.com/docs/usage/twilios-response).
#[derive(Deserialize, Default)]
struct TwilioError {
    code: Option<u32>,
    message: Option<String>,
}

fn classify(reply: &Reply) -> SendError {
    let error: TwilioError = serde_json::from_slice(&reply.body).unwrap_or_default();
    let reason = match (error.code, error.message.as_deref()) {
        (Some(code), Some(message)) => scrub(&format!("Twilio error {code}: {message}")),
        (Some(code), None) => format!("Twilio error {code}"),
        (None, _) => "Twilio gave no error code".to_string(),
    };
    if reply.status == StatusCode::TOO_MANY_REQUESTS || error.code == Some(TOO_MANY_REQUESTS) {
        return SendError::RateLimited {
            retry_after: reply.retry_after,
        };
    }
    match error.code {
        Some(UNSUBSCRIBED) => SendError::OptedOut { reason },
        Some(code) if INVALID_TO.contains(&code) && reply.status.is_client_error() => {
            SendError::Permanent {
                reason,
                invalid_number: true,
            }
        }
        _ => http::by_status(reply.status, reply.retry_after, reason),
    }
}

/// What a status callback's `MessageStatus` and `ErrorCode` mean for us.
fn delivery_status(status: &str, error_code: Option<&str>) -> Result<DeliveryStatus, WebhookError> {
    match status {
        "queued" | "sending" | "sent" | "accepted" | "scheduled" | "partially_delivered" => {
            Ok(DeliveryStatus::InProgress)
        }
        "delivered" | "read" => Ok(DeliveryStatus::Delivered),
        "undelivered" | "failed" | "canceled" => Ok(failure(status, error_code)),
        other => Err(WebhookError::Malformed(format!(
            "unknown MessageStatus {:?}",
            scrub(other)
        ))),
    }
}

/// Twilio's delivery error codes (https://www.twilio.com/docs/api/errors):
/// 30005 unknown handset and 30006 landline or unreachable carrier mean the
/// number cannot take texts; 30004 blocked and 30007 filtered will not
/// change on a retry; 30003 (phone off) and 30008 (unknown) might.
fn failure(status: &str, error_code: Option<&str>) -> DeliveryStatus {
    let code = error_code.and_then(|c| c.trim().parse::<u32>().ok());
    let (permanent, invalid_number, opted_out) = match code {
        Some(UNSUBSCRIBED) => (true, false, true),
        Some(21211 | 21614 | 30005 | 30006) => (true, true, false),
        Some(21408 | 21612 | 30004 | 30007) => (true, false, false),
        _ => (status == "canceled", false, false),
    };
    let reason = match code {
        Some(code) => format!("Twilio {status}, error {code}"),
        None => format!("Twilio {status}"),
    };
    DeliveryStatus::Failed {
        reason,
        permanent,
        invalid_number,
        opted_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use axum::http::{HeaderMap, HeaderValue};
    use bytes::Bytes;
    use std::sync::Arc;
    use std::time::Duration;

    // Twilio's published example (twilio-python tests/unit/test_request_validator.py).
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const EXPECTED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    const FORM: &str = "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309";
    // The same file's JSON-body example: the body, its hash in the URL, and
    // the signature over that URL alone.
    const JSON_BODY: &str = r#"{"property": "value", "boolean": true}"#;
    const JSON_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    const JSON_SIGNED: &str = "a9nBmqA0ju/hNViExpshrM61xv4=";
    // A SharedKey secret; Twilio publishes no example for it, so the
    // signatures below were computed independently, with Python's hmac.
    const SHARED_KEY: &str = "shared-key-secret";
    const SHARED_SHA256_FORM: &str = "E5VnwNBwyz0tCHTP5Dkbb6TefPRbPKoGqFaaypGFqwI=";
    const SHARED_SHA256_JSON: &str = "kt38OGXLpzMfLLEImyoqFjqqhmjr8Q/M9v4AtD0Ukdg=";
    const SHARED_SHA1_FORM: &str = "JZ3+sKp4qI8PcVObzMqSfc13Puc=";

    fn provider() -> TwilioProvider {
        TwilioProvider {
            name: "twilio".into(),
            endpoint: Url::parse("https://api.twilio.com/x").unwrap(),
            account_sid: format!("AC{}", "0".repeat(32)),
            auth_token: TOKEN.to_string().into(),
            webhook_shared_key: Some(SHARED_KEY.to_string().into()),
            sender: Sender::Number("+447700900000".into()),
            status_callback: None,
            transport: Transport {
                client: reqwest::Client::new(),
                clock: Arc::new(SystemClock),
            },
        }
    }

    fn request(url: &str, body: &str, signature: Option<&str>) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        if let Some(signature) = signature {
            headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        }
        WebhookRequest {
            url: url.into(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    fn with_settings(mut request: WebhookRequest, settings: &str) -> WebhookRequest {
        let value = HeaderValue::from_str(settings).unwrap();
        request.headers.insert(SETTINGS_HEADER, value);
        request
    }

    #[test]
    fn a_json_webhook_signed_with_body_sha256_is_accepted_as_twilio_documents() {
        let json = request(JSON_URL, JSON_BODY, Some(JSON_SIGNED));
        assert_eq!(provider().verify(&json), Ok(()));
    }

    #[test]
    fn a_json_webhook_whose_body_does_not_match_its_hash_is_unauthenticated() {
        let tampered = JSON_BODY.replace("true", "false");
        let wrong_hash = JSON_URL.replace("=0a1f", "=1a1f");
        for bad in [
            request(JSON_URL, &tampered, Some(JSON_SIGNED)),
            request(&wrong_hash, JSON_BODY, Some(JSON_SIGNED)),
            request(JSON_URL, JSON_BODY, Some(EXPECTED)),
            request(URL, JSON_BODY, Some(JSON_SIGNED)),
        ] {
            assert_eq!(provider().verify(&bad), Err(WebhookError::Unauthenticated));
        }
    }

    #[test]
    fn a_webhook_signed_with_a_shared_key_is_checked_with_that_key_and_its_algorithm() {
        let settings = "key=webhooks_sharedkey_01,algorithm=HMAC_SHA256";
        let form = with_settings(request(URL, FORM, Some(SHARED_SHA256_FORM)), settings);
        assert_eq!(provider().verify(&form), Ok(()));
        let json = with_settings(
            request(JSON_URL, JSON_BODY, Some(SHARED_SHA256_JSON)),
            settings,
        );
        assert_eq!(provider().verify(&json), Ok(()));
        let sha1 = "key=webhooks_sharedkey_01,algorithm=HMAC_SHA1";
        let sha1 = with_settings(request(URL, FORM, Some(SHARED_SHA1_FORM)), sha1);
        assert_eq!(provider().verify(&sha1), Ok(()));
    }

    #[test]
    fn the_settings_header_decides_the_key_and_an_unknown_algorithm_is_refused() {
        let sha256 = "key=webhooks_sharedkey_01,algorithm=HMAC_SHA256";
        let without_key = TwilioProvider {
            webhook_shared_key: None,
            ..provider()
        };
        for (provider, bad) in [
            // Signed with the Auth Token, but claiming a shared key.
            (
                provider(),
                with_settings(request(URL, FORM, Some(EXPECTED)), sha256),
            ),
            // Signed with the shared key, but without saying so.
            (provider(), request(URL, FORM, Some(SHARED_SHA256_FORM))),
            // The right hash under another algorithm's name.
            (
                provider(),
                with_settings(
                    request(URL, FORM, Some(SHARED_SHA256_FORM)),
                    "key=k,algorithm=HMAC_SHA512",
                ),
            ),
            (
                provider(),
                with_settings(request(URL, FORM, Some(SHARED_SHA256_FORM)), "key=k"),
            ),
            // No shared key configured to check it with.
            (
                without_key,
                with_settings(request(URL, FORM, Some(SHARED_SHA256_FORM)), sha256),
            ),
        ] {
            assert_eq!(provider.verify(&bad), Err(WebhookError::Unauthenticated));
        }
    }

    #[test]
    fn a_correctly_signed_form_webhook_is_accepted() {
        assert_eq!(
            provider().verify(&request(URL, FORM, Some(EXPECTED))),
            Ok(())
        );
    }

    #[test]
    fn the_url_may_gain_or_lose_its_default_port_on_the_way() {
        // Also from twilio-python: the same request signed with ":443" in the URL,
        // and a proxy that passes on a port Twilio did not sign.
        let with_port = request(URL, FORM, Some("kvajT1Ptam85bY51eRf/AJRuM3w="));
        assert_eq!(provider().verify(&with_port), Ok(()));
        let received_with_port = URL.replace(".com", ".com:1234");
        assert_eq!(
            provider().verify(&request(&received_with_port, FORM, Some(EXPECTED))),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_missing_or_replayed_elsewhere_signature_is_unauthenticated() {
        let tampered = FORM.replace("Digits=1234", "Digits=9999");
        for bad in [
            request(URL, &tampered, Some(EXPECTED)),
            request(URL, FORM, Some("RSOYDt4T1cUTdK1PDd93/VVr8B8")),
            request(URL, FORM, None),
            request(
                "https://mycompany.com/other.php?foo=1&bar=2",
                FORM,
                Some(EXPECTED),
            ),
        ] {
            assert_eq!(provider().verify(&bad), Err(WebhookError::Unauthenticated));
        }
    }

    #[test]
    fn status_callbacks_map_twilio_statuses_and_error_codes() {
        let status = |form: &str| {
            let updates = provider().parse_status(&request(URL, form, None)).unwrap();
            assert_eq!(updates[0].provider_id, "SM1");
            assert_eq!(updates[0].reference, None);
            updates[0].status.clone()
        };
        let failed = |permanent, invalid_number, opted_out| (permanent, invalid_number, opted_out);
        let flags = |s: DeliveryStatus| match s {
            DeliveryStatus::Failed {
                permanent,
                invalid_number,
                opted_out,
                ..
            } => (permanent, invalid_number, opted_out),
            other => panic!("not a failure: {other:?}"),
        };
        assert_eq!(
            status("MessageSid=SM1&MessageStatus=sent&SmsStatus=sent&NewKey=1"),
            DeliveryStatus::InProgress
        );
        assert_eq!(
            status("MessageSid=SM1&MessageStatus=delivered"),
            DeliveryStatus::Delivered
        );
        assert_eq!(
            flags(status(
                "MessageSid=SM1&MessageStatus=failed&ErrorCode=21610"
            )),
            failed(true, false, true)
        );
        assert_eq!(
            flags(status(
                "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30006"
            )),
            failed(true, true, false)
        );
        assert_eq!(
            flags(status(
                "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30007"
            )),
            failed(true, false, false)
        );
        assert_eq!(
            flags(status(
                "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003"
            )),
            failed(false, false, false)
        );
        assert_eq!(
            flags(status("MessageSid=SM1&MessageStatus=undelivered")),
            failed(false, false, false)
        );
    }

    #[test]
    fn malformed_status_callbacks_are_refused() {
        for form in [
            "MessageStatus=delivered",
            "MessageSid=SM1",
            "MessageSid=SM1&MessageStatus=lost",
        ] {
            let result = provider().parse_status(&request(URL, form, None));
            assert!(matches!(result, Err(WebhookError::Malformed(_))), "{form}");
        }
    }

    #[test]
    fn inbound_texts_are_read_from_post_or_get() {
        let form = "ToCountry=GB&MessageSid=SM9&From=%2B447400123456&To=%2B447700900000&Body=Stop&NumMedia=0";
        let inbound = provider().parse_inbound(&request(URL, form, None)).unwrap();
        assert_eq!(
            (inbound.provider_id.as_str(), inbound.from.as_str()),
            ("SM9", "+447400123456")
        );
        assert_eq!(inbound.text, "Stop");
        let get = format!("https://h/webhooks/twilio/inbound?{form}");
        assert_eq!(
            provider()
                .parse_inbound(&request(&get, "", None))
                .unwrap()
                .text,
            "Stop"
        );
        let no_sender =
            provider().parse_inbound(&request(URL, "MessageSid=SM9&To=x&Body=hi", None));
        assert!(matches!(no_sender, Err(WebhookError::Malformed(_))));
    }

    fn reply(status: u16, code: Option<u32>) -> Reply {
        let body = match code {
            Some(code) => format!(
                r#"{{"code":{code},"message":"The 'To' number +447400123456 is not valid","more_info":"https://www.twilio.com/docs/errors/{code}","status":{status}}}"#
            ),
            None => String::new(),
        };
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: Some(Duration::from_secs(3)),
            body: Bytes::from(body),
        }
    }

    #[test]
    fn send_errors_are_classed_by_code_then_status() {
        assert!(matches!(
            classify(&reply(400, Some(21610))),
            SendError::OptedOut { .. }
        ));
        assert!(matches!(
            classify(&reply(400, Some(21211))),
            SendError::Permanent {
                invalid_number: true,
                ..
            }
        ));
        assert!(matches!(
            classify(&reply(400, Some(21614))),
            SendError::Permanent {
                invalid_number: true,
                ..
            }
        ));
        assert!(matches!(
            classify(&reply(400, Some(21612))),
            SendError::Permanent {
                invalid_number: false,
                ..
            }
        ));
        let limited = SendError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(classify(&reply(429, Some(20429))), limited);
        assert_eq!(classify(&reply(400, Some(20429))), limited);
        assert!(matches!(
            classify(&reply(500, Some(20500))),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            classify(&reply(503, None)),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            classify(&reply(401, Some(20003))),
            SendError::Transient { .. }
        ));
    }

    #[test]
    fn error_reasons_never_quote_the_number() {
        let SendError::Permanent { reason, .. } = classify(&reply(400, Some(21211))) else {
            panic!("not permanent");
        };
        assert!(reason.contains("21211"), "{reason}");
        assert!(!reason.contains("+447400123456"), "{reason}");
    }

    #[test]
    fn webhooks_are_answered_with_empty_twiml() {
        let reply = provider().webhook_reply();
        assert_eq!(reply.content_type, "application/xml");
        assert_eq!(
            reply.body,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
        );
    }
}
