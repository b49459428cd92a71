//! Every error the daemon answers over HTTP is JSON in the [`ErrorBody`]
//! shape, the API's and the webhooks' alike. Handlers already answer that
//! way; this catches the errors made before or around them: axum's own
//! rejections (a body over the limit, a method a route does not take), the
//! request timeout, and anything a layer answers in plain text or with no
//! body at all. Their text is not passed on, since it may quote the input;
//! each status gets a fixed sentence instead.
//!
//! Only errors hyper answers by itself, before a request reaches the router
//! (a request head too large or never finished), stay as hyper sends them.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::error::{ErrorBody, is_json};

/// Rewrite a non-JSON error response as an [`ErrorBody`], keeping its
/// status and headers (`Allow`, `Retry-After`).
pub async fn as_json(response: Response) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    if !is_error || is_json(response.headers()) || is_html(response.headers()) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (error, message) = describe(status);
    let body = ErrorBody {
        error,
        message: message.to_owned(),
        fields: None,
    };
    let body = serde_json::to_vec(&body).expect("an error body serialises");
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// A staff page's own error page.
fn is_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// The stable code and a sentence for a person, by status.
fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request could not be read"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "a valid credential is required"),
        StatusCode::FORBIDDEN => ("forbidden", "this request is not allowed"),
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not take this method; the Allow header lists those it does",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took longer than the server allows; send it again",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "the request body is larger than this endpoint accepts",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "this endpoint does not take a body of this content type",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "the request could not be used"),
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests; try again later"),
        s if s.is_client_error() => ("bad_request", "the request could not be served"),
        _ => ("internal", "something went wrong on our side"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_plain_text_error_becomes_json_and_keeps_its_headers() {
        let plain = (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET,HEAD")],
            "Method Not Allowed: quoting 07400 123456",
        )
            .into_response();
        let response = as_json(plain).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = body_of(response).await;
        assert_eq!(body["error"], "method_not_allowed");
        assert!(!body.to_string().contains("07400"), "{body}");
    }

    #[tokio::test]
    async fn successes_and_json_errors_pass_unchanged() {
        let twiml = (
            [(header::CONTENT_TYPE, "application/xml")],
            "<Response></Response>",
        )
            .into_response();
        let response = as_json(twiml).await;
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/xml");
        let json = (
            StatusCode::CONFLICT,
            axum::Json(serde_json::json!({"error": "conflict"})),
        )
            .into_response();
        let body = body_of(as_json(json).await).await;
        assert_eq!(body["error"], "conflict");
    }
}
