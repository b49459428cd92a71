//! One error type for every endpoint, rendered as JSON that says what was
//! wrong. Unexpected failures are logged once, here, with their whole cause
//! chain, and the caller sees only that something failed on our side.
//!
//! Error bodies name the field and say what is wrong, but never echo a
//! personal value back: field values are filtered where they are made
//! ([`FieldError::new`]), and the JSON and query-string extractors here drop
//! the values serde quotes in its messages.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::ingest::IngestError;
use crate::ingest::input::FieldError;
use crate::planner::PlanError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid API token is required: send 'Authorization: Bearer <token>'")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{}", join(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests with this token; try again in {} s", retry_after_secs(*.retry_after))]
    TooManyRequests { retry_after: Duration },
    #[error("something went wrong on our side; it has been logged")]
    Unexpected(#[from] anyhow::Error),
}

/// Whole seconds to wait, rounded up so a client that waits exactly this
/// long is let in.
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unexpected(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The body of every error response, from the API and the webhooks alike.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What kind of mistake, as a stable code: `unauthorized`, `forbidden`,
    /// `not_found`, `method_not_allowed`, `bad_request`, `invalid_fields`,
    /// `unprocessable`, `conflict`, `too_large`, `unsupported_media_type`,
    /// `rate_limited`, `timeout` or `internal`.
    #[schema(example = "invalid_fields")]
    pub error: &'static str,
    /// What was wrong, in a sentence for a person.
    pub message: String,
    /// With `invalid_fields`: each field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Unexpected(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        let fields = match &self {
            Self::Invalid(fields) => Some(fields.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: code,
            message,
            fields,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            Self::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            Self::TooManyRequests { retry_after } => {
                headers.insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(retry_after_secs(retry_after)),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::NotFound(what) => Self::NotFound(what),
            IngestError::Invalid(fields) => Self::Invalid(fields),
            IngestError::Store(e) => e.into(),
            IngestError::Plan(e) => e.into(),
        }
    }
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::NotFound(what) => Self::NotFound(what),
            PlanError::Invalid(reason) => Self::Unprocessable(reason),
            PlanError::Refused {
                field,
                value,
                reason,
            } => Self::Invalid(vec![FieldError::new(field, Some(&value), reason)]),
            PlanError::Template(e) => Self::Unprocessable(e.to_string()),
            PlanError::TextRefused(problems) => Self::Invalid(
                problems
                    .iter()
                    .map(|p| FieldError::new("body", None, p))
                    .collect(),
            ),
            PlanError::OptedOut => Self::Unprocessable(PlanError::OptedOut.to_string()),
            PlanError::Store(e) => e.into(),
        }
    }
}

impl From<crate::privacy::PrivacyError> for ApiError {
    fn from(e: crate::privacy::PrivacyError) -> Self {
        match e {
            crate::privacy::PrivacyError::NotFound => ApiError::NotFound("person"),
            crate::privacy::PrivacyError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("the store failed"))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::TooLarge("the request body is larger than this endpoint accepts".into())
        } else {
            Self::BadRequest(e.body_text())
        }
    }
}

/// `Json` whose rejections are [`ApiError`]s, so a bad body gets the same
/// JSON error shape as every other mistake.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "send JSON with 'Content-Type: application/json'".into(),
            ));
        }
        let body = Bytes::from_request(req, state).await?;
        parse_json(&body).map(Self)
    }
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Read a JSON body: malformed JSON is a 400, JSON of the wrong shape a 422
/// naming the field (by its path) but not the value found there.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_data() {
            let path = e.path().to_string();
            let what = without_values(&inner.to_string());
            let what = if path == "." {
                what
            } else {
                format!("{path}: {what}")
            };
            ApiError::Unprocessable(format!("the JSON body does not fit: {what}"))
        } else {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// `Query` whose rejections are [`ApiError`]s (a 400 in the usual JSON shape).
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::try_from_uri(&parts.uri).map_err(|rejection| {
            let text = rejection.body_text();
            let text = text
                .strip_prefix("Failed to deserialize query string: ")
                .unwrap_or(&text);
            ApiError::BadRequest(format!("the query string: {}", without_values(text)))
        })?;
        Ok(Self(value))
    }
}

/// serde's messages quote the value they refused (`invalid type: string
/// "Alex", expected u8`); keep what kind of value it was and what was
/// expected, and drop the value itself.
fn without_values(message: &str) -> String {
    for lead in ["invalid type: ", "invalid value: ", "unknown variant "] {
        let Some(at) = message.find(lead) else {
            continue;
        };
        let (head, rest) = message.split_at(at);
        let rest = &rest[lead.len()..];
        // The value comes first and may itself contain ", expected ".
        let (given, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
        let kind = given.split(['`', '"', '\'']).next().unwrap_or("").trim();
        let mut out = format!("{head}{}", lead.trim_end_matches([':', ' ']));
        if !kind.is_empty() {
            out.push_str(&format!(": {kind}"));
        }
        if !expected.is_empty() {
            out.push_str(&format!(", expected {expected}"));
        }
        return out;
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_lose_the_values_they_quote() {
        let cases = [
            (
                "mobile: invalid type: integer `7400123456`, expected a string at line 1 column 20",
                "mobile: invalid type: integer, expected a string at line 1 column 20",
            ),
            (
                "invalid type: string \"Seán, expected x\", expected u8",
                "invalid type: string, expected u8",
            ),
            (
                "unknown variant `07400 123456`, expected `a` or `b`",
                "unknown variant, expected `a` or `b`",
            ),
            (
                "unknown field `nickname`, expected one of `a`, `b`",
                "unknown field `nickname`, expected one of `a`, `b`",
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(without_values(given), expected);
        }
    }

    #[test]
    fn a_mistyped_field_is_named_without_its_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Input {
            mobile: String,
        }
        let error = parse_json::<Input>(br#"{"mobile": 7400123456}"#).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("mobile: invalid type: integer"),
            "{message}"
        );
        assert!(!message.contains("7400123456"), "{message}");
        assert!(matches!(
            parse_json::<Input>(b"{\"mobile\": "),
            Err(ApiError::BadRequest(_))
        ));
    }
}
