//! `POST /webhooks/{provider}/inbound`: texts people send us. A replayed
//! webhook (the same provider id again) is processed once.

use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use super::{Rejection, authenticate, refusal, reply};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};

/// A text a person sent, passed on by a provider and verified as it documents.
#[utoipa::path(
    method(get, post),
    path = "/{provider}/inbound",
    operation_id = "webhook_inbound",
    tag = "webhooks",
    params(("provider" = String, Path, description = "A provider's name from `dispatch.providers` (its `[providers.NAME]` table)")),
    request_body(
        content(
            (String = "application/x-www-form-urlencoded"),
            (String = "application/json"),
        ),
        description = "The provider's own inbound-message format, signed as it documents"
    ),
    responses(
        (status = 200, description = "Accepted; the body is what the provider expects back (often empty)",
            content((String = "text/plain"), (String = "application/xml"))),
        (status = 400, description = "Verified, but not a request this provider sends", body = ErrorBody),
        (status = 403, description = "The signature or token is missing or wrong: nothing was changed", body = ErrorBody),
        (status = 404, description = "No provider of this name is configured, or it sends no such webhook", body = ErrorBody),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let (provider, request) = authenticate(&state, &name, &uri, headers, body)?;
    let sms = provider.parse_inbound(&request).map_err(refusal)?;
    let received = state.replies.receive(&name, &sms).await;
    let received = received.map_err(|e| ApiError::Unexpected(e.into()))?;
    tracing::info!(provider = %name, ?received, "inbound text");
    Ok(reply(provider.webhook_reply()))
}
