//! Webhook parameters as name/value pairs, however they arrived: a URL
//! query (GET), a form body, or a flat JSON object.
//!
//! Providers add parameters without notice (Twilio says so outright), so
//! nothing here rejects a name it does not know; signatures need every
//! parameter exactly as sent, so nothing is dropped either.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use bytes::Bytes;
use serde_json::Value;

use super::{WebhookError, WebhookRequest};

/// The parameters of one webhook, in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parameters from wherever this request carries them: the body when
    /// there is one (JSON or form, by content type), else the URL query.
    pub fn from_request(request: &WebhookRequest) -> Result<Self, WebhookError> {
        if request.body.iter().all(u8::is_ascii_whitespace) {
            Self::from_query(&request.url)
        } else if is_json(&request.headers, &request.body) {
            Self::from_json(&request.body)
        } else {
            Self::from_form(&request.body)
        }
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    pub fn from_form(body: &[u8]) -> Result<Self, WebhookError> {
        serde_urlencoded::from_bytes(body)
            .map(Self)
            .map_err(|e| WebhookError::Malformed(format!("not a form body: {e}")))
    }

    pub fn from_query(url: &str) -> Result<Self, WebhookError> {
        let url = url::Url::parse(url)
            .map_err(|e| WebhookError::Malformed(format!("unreadable request URL: {e}")))?;
        Ok(Self(url.query_pairs().into_owned().collect()))
    }

    /// A flat JSON object's members; strings as they are, other scalars
    /// in their JSON spelling, and nested values left out.
    pub fn from_json(body: &Bytes) -> Result<Self, WebhookError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| WebhookError::Malformed(format!("not JSON: {e}")))?;
        let Value::Object(members) = value else {
            return Err(WebhookError::Malformed("not a JSON object".into()));
        };
        let pairs = members
            .into_iter()
            .filter_map(|(name, value)| match value {
                Value::String(text) => Some((name, text)),
                Value::Number(_) | Value::Bool(_) => Some((name, value.to_string())),
                Value::Null | Value::Array(_) | Value::Object(_) => None,
            })
            .collect();
        Ok(Self(pairs))
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> Result<&str, WebhookError> {
        self.get(name)
            .ok_or_else(|| WebhookError::Malformed(format!("`{name}` is missing")))
    }
}

/// Whether a body is JSON: by its content type, or by its first byte when
/// a provider sends none.
fn is_json(headers: &HeaderMap, body: &[u8]) -> bool {
    match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(kind) => kind.to_ascii_lowercase().contains("json"),
        None => body.trim_ascii_start().starts_with(b"{"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn request(url: &str, content_type: Option<&str>, body: &str) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        if let Some(kind) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(kind).unwrap());
        }
        WebhookRequest {
            url: url.into(),
            headers,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn a_get_request_carries_its_parameters_in_the_query() {
        let params =
            Params::from_request(&request("https://h/x?a=1&b=two%20words", None, "")).unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), Some("two words"));
    }

    #[test]
    fn form_and_json_bodies_are_read_by_content_type() {
        let form = request(
            "https://h/x",
            Some("application/x-www-form-urlencoded"),
            "a=1&b=%2B44",
        );
        assert_eq!(Params::from_request(&form).unwrap().get("b"), Some("+44"));
        let json = request(
            "https://h/x",
            Some("application/json; charset=utf-8"),
            r#"{"a":"1","n":2,"t":true,"o":{}}"#,
        );
        let params = Params::from_request(&json).unwrap();
        assert_eq!(params.get("n"), Some("2"));
        assert_eq!(params.get("t"), Some("true"));
        assert_eq!(params.get("o"), None);
    }

    #[test]
    fn a_json_body_without_a_content_type_is_still_json() {
        let json = request("https://h/x", None, r#" {"a":"1"}"#);
        assert_eq!(Params::from_request(&json).unwrap().get("a"), Some("1"));
    }

    #[test]
    fn unreadable_bodies_are_malformed() {
        let json = request("https://h/x", Some("application/json"), "[1,2]");
        assert!(matches!(
            Params::from_request(&json),
            Err(WebhookError::Malformed(_))
        ));
        let json = request("https://h/x", Some("application/json"), "{");
        assert!(matches!(
            Params::from_request(&json),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn missing_and_empty_values_are_reported_by_name() {
        let params = Params::from_form(b"a=&b=1").unwrap();
        assert_eq!(params.require("b"), Ok("1"));
        assert_eq!(
            params.require("a"),
            Err(WebhookError::Malformed("`a` is missing".into()))
        );
    }
}
