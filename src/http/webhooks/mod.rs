//! `/webhooks/{provider}/…`: what providers tell us. Each request is
//! verified exactly as its provider documents (signature or token) before
//! anything is read; a bad or missing one is a 403 that changes nothing.

mod inbound;
mod status;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;

use super::AppState;
use super::error::ErrorBody;
use crate::providers::{Provider, WebhookError, WebhookReply, WebhookRequest};

/// The webhooks' part of the API description.
#[derive(utoipa::OpenApi)]
#[openapi(paths(status::receive, inbound::receive))]
pub struct Description;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{provider}/status",
            post(status::receive).get(status::receive),
        )
        .route(
            "/{provider}/inbound",
            post(inbound::receive).get(inbound::receive),
        )
}

/// The URL the provider called, as it saw it: signatures cover it, and the
/// daemon may sit behind a proxy that rewrote the host. `uri` must be the
/// original one, before routing stripped the `/webhooks` prefix.
fn public_url(state: &AppState, uri: &Uri, headers: &HeaderMap) -> String {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    match &state.public_base_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}{path}")
        }
    }
}

/// Find the provider and check the request is really from it.
fn authenticate(
    state: &AppState,
    name: &str,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(std::sync::Arc<dyn Provider>, WebhookRequest), Rejection> {
    let Some(provider) = state.dispatcher.provider(name) else {
        return Err(Rejection(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no provider named {name:?} is configured"),
        ));
    };
    let request = WebhookRequest {
        url: public_url(state, uri, &headers),
        headers,
        body,
    };
    match provider.verify(&request) {
        Ok(()) => Ok((provider, request)),
        Err(e) => {
            tracing::warn!(provider = name, error = %e, "webhook refused");
            Err(refusal(e))
        }
    }
}

/// A webhook turned away, rendered as a small JSON error.
pub struct Rejection(StatusCode, &'static str, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.1,
            message: self.2,
            fields: None,
        };
        (self.0, axum::Json(body)).into_response()
    }
}

impl From<crate::http::error::ApiError> for Rejection {
    fn from(e: crate::http::error::ApiError) -> Self {
        tracing::error!(error = format!("{e:#}"), "webhook failed");
        Rejection(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side".into(),
        )
    }
}

fn refusal(e: WebhookError) -> Rejection {
    match e {
        WebhookError::Unauthenticated => {
            Rejection(StatusCode::FORBIDDEN, "forbidden", e.to_string())
        }
        WebhookError::Malformed(_) => {
            Rejection(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
        }
        WebhookError::Unsupported(_) => {
            Rejection(StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
    }
}

fn reply(r: WebhookReply) -> Response {
    ([(header::CONTENT_TYPE, r.content_type)], r.body).into_response()
}
