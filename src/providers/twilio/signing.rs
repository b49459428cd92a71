//! How Twilio signs its webhooks, and the check that it did.
//!
//! Twilio's webhook security page and its SDKs' `RequestValidator`
//! (twilio-node `validateRequest`/`validateRequestWithBody`, twilio-python
//! `RequestValidator.validate`) define one signature with three variants:
//!
//! * `X-Twilio-Signature` = Base64(HMAC(key, data)), where `data` is the
//!   full URL Twilio called, including its query.
//! * A form body: `data` is the URL followed by every POST parameter's
//!   name and value, sorted by name (then value, for repeated names).
//! * Any other body (JSON): Twilio adds `bodySHA256` (the body's SHA-256,
//!   lowercase hex) to the URL's query, signs the URL alone, and the
//!   receiver checks the body against that hash.
//!
//! The key and hash: by default the account's Auth Token with HMAC-SHA1.
//! When a Webhook Rule of Twilio's Webhooks configuration API (public beta)
//! matches the URL, Twilio signs with that rule's SharedKey secret and the
//! Setting's algorithm instead, and says so in
//! `X-Twilio-Webhooks-Signature-Settings: key=<key>,algorithm=HMAC_SHA256`;
//! only the hash changes, the signed data is the same (twilio-node's
//! `WebhookSignatureValidation` example). A request with that header is
//! checked with the configured shared key alone, one without it with the
//! Auth Token alone, as twilio-node's middleware does. An algorithm not
//! named here is refused. Twilio's validators also accept the URL with its
//! default port added or removed, since proxies differ in what they pass
//! on; so do we.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::Hmac;
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use url::Url;

use super::super::params::Params;
use super::super::signature::{hmac, same};
use super::super::{WebhookError, WebhookRequest};

/// The header Twilio signs its webhooks with.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// Present when a SharedKey, not the Auth Token, signed the webhook.
pub const SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";
/// The query parameter carrying a non-form body's SHA-256.
const BODY_HASH: &str = "bodySHA256";

/// The HMAC's hash, as the signature settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
}

/// What the signature covers besides the URL.
enum Signed {
    /// A form body's (or a GET's empty) parameters.
    Form(Params),
    /// A non-form body, vouched for by the URL's `bodySHA256`.
    Body { hash: String },
}

/// The keys a Twilio provider may be signed with.
pub(crate) struct Keys<'a> {
    pub provider: &'a str,
    pub auth_token: &'a SecretString,
    pub shared_key: Option<&'a SecretString>,
}

/// Whether `request` is signed by Twilio as documented, with the key its
/// headers say it used.
pub(crate) fn verify(request: &WebhookRequest, keys: &Keys<'_>) -> Result<(), WebhookError> {
    let given = header(request, SIGNATURE_HEADER).ok_or(WebhookError::Unauthenticated)?;
    let (key, algorithm) = match header(request, SETTINGS_HEADER) {
        None => (keys.auth_token, Algorithm::HmacSha1),
        Some(settings) => {
            let algorithm = settings_algorithm(settings).ok_or(WebhookError::Unauthenticated)?;
            let Some(key) = keys.shared_key else {
                tracing::warn!(
                    provider = keys.provider,
                    "a Twilio webhook is signed with a SharedKey, but providers.{}.webhook_shared_key is not set",
                    keys.provider
                );
                return Err(WebhookError::Unauthenticated);
            };
            (key, algorithm)
        }
    };
    let (params, body_hash) = match signed_content(request)? {
        Signed::Form(params) => (params, None),
        Signed::Body { hash } => (Params::default(), Some(hash)),
    };
    let key = key.expose_secret();
    let signed = url_variants(&request.url).iter().any(|url| {
        let expected = signature(algorithm, key, url, &params);
        same(expected.as_bytes(), given.as_bytes())
    });
    let body_ok =
        body_hash.is_none_or(|hash| same(body_sha256(&request.body).as_bytes(), hash.as_bytes()));
    (signed && body_ok)
        .then_some(())
        .ok_or(WebhookError::Unauthenticated)
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The algorithm named in `X-Twilio-Webhooks-Signature-Settings`
/// (`key=…,algorithm=HMAC_SHA256`); `None` if it names none we know.
pub fn settings_algorithm(settings: &str) -> Option<Algorithm> {
    let algorithm = settings.split(',').find_map(|part| {
        let (name, value) = part.split_once('=')?;
        (name.trim() == "algorithm").then(|| value.trim())
    })?;
    match algorithm {
        "HMAC_SHA1" => Some(Algorithm::HmacSha1),
        "HMAC_SHA256" => Some(Algorithm::HmacSha256),
        _ => None,
    }
}

/// A URL with `bodySHA256` signs the URL and the body's hash; any other
/// signs the URL and the form parameters.
fn signed_content(request: &WebhookRequest) -> Result<Signed, WebhookError> {
    let url = Url::parse(&request.url).map_err(|_| WebhookError::Unauthenticated)?;
    if let Some((_, hash)) = url.query_pairs().find(|(name, _)| name == BODY_HASH) {
        return Ok(Signed::Body {
            hash: hash.into_owned(),
        });
    }
    // A GET carries its parameters in the URL, which is signed as is.
    if request.body.is_empty() {
        return Ok(Signed::Form(Params::default()));
    }
    Params::from_form(&request.body)
        .map(Signed::Form)
        .map_err(|_| WebhookError::Unauthenticated)
}

/// A body's SHA-256 as lowercase hex, as Twilio puts it in `bodySHA256`.
pub fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// `X-Twilio-Signature` for a request to `url` with form `params` (empty
/// for a body signed by its hash), under `key` with `algorithm`.
pub fn signature(algorithm: Algorithm, key: &str, url: &str, params: &Params) -> String {
    let mut pairs: Vec<&(String, String)> = params.pairs().iter().collect();
    // Sorted by name, then value for repeated names, as Twilio's own SDKs do.
    pairs.sort();
    pairs.dedup();
    let mut data = url.to_string();
    for (name, value) in pairs {
        data.push_str(name);
        data.push_str(value);
    }
    let parts = [data.as_bytes()];
    let mac = match algorithm {
        Algorithm::HmacSha1 => hmac::<Hmac<Sha1>>(key.as_bytes(), &parts),
        Algorithm::HmacSha256 => hmac::<Hmac<Sha256>>(key.as_bytes(), &parts),
    };
    BASE64.encode(mac)
}

/// The URL as received, without its port, and with its (default) port.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    let Ok(parsed) = Url::parse(url) else {
        return variants;
    };
    let mut without = parsed.clone();
    let without = without.set_port(None).ok().map(|()| without.to_string());
    let with = match (parsed.host(), parsed.port_or_known_default()) {
        (Some(host), Some(port)) => {
            let rest = &parsed[url::Position::BeforePath..];
            Some(format!("{}://{host}:{port}{rest}", parsed.scheme()))
        }
        _ => None,
    };
    for variant in [without, with].into_iter().flatten() {
        if !variants.contains(&variant) {
            variants.push(variant);
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    // Twilio's published examples (twilio-python tests/unit/test_request_validator.py).
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn form(body: &str) -> Params {
        Params::from_form(body.as_bytes()).unwrap()
    }

    #[test]
    fn the_signature_matches_twilios_published_example() {
        let params = form(
            "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309",
        );
        assert_eq!(
            signature(Algorithm::HmacSha1, TOKEN, URL, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }

    #[test]
    fn repeated_parameters_are_signed_in_value_order_like_twilios_sdks() {
        let params = form("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234");
        assert_eq!(
            signature(Algorithm::HmacSha1, TOKEN, URL, &params),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn a_json_body_is_signed_by_its_hash_in_the_url_as_in_twilios_example() {
        let body = r#"{"property": "value", "boolean": true}"#;
        let hash = body_sha256(body.as_bytes());
        assert_eq!(
            hash,
            "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        let url = format!("{URL}&bodySHA256={hash}");
        assert_eq!(
            signature(Algorithm::HmacSha1, TOKEN, &url, &Params::default()),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        );
    }

    #[test]
    fn the_settings_header_names_the_algorithm_among_its_other_fields() {
        let read = settings_algorithm;
        assert_eq!(
            read("key=webhooks_sharedkey_01,algorithm=HMAC_SHA256"),
            Some(Algorithm::HmacSha256)
        );
        assert_eq!(
            read("algorithm=HMAC_SHA1, key=k"),
            Some(Algorithm::HmacSha1)
        );
        assert_eq!(read("key=k,algorithm=HMAC_SHA512"), None);
        assert_eq!(read("key=k,algorithm=hmac_sha256"), None);
        assert_eq!(read("key=k"), None);
        assert_eq!(read(""), None);
    }

    #[test]
    fn url_variants_add_or_drop_the_port_once_each() {
        assert_eq!(
            url_variants("https://h.example/p?q=1"),
            ["https://h.example/p?q=1", "https://h.example:443/p?q=1"]
        );
        assert_eq!(
            url_variants("http://h.example:8080/p"),
            ["http://h.example:8080/p", "http://h.example/p"]
        );
    }
}
