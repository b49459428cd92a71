//! `POST /webhooks/{provider}/inbound`: texts people send us. A replayed
//! webhook (the same provider id again) is processed once.

use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use super::{Rejection, authenticate, refusal, reply};
use crate::http::AppState;
use crate::http::error::ApiError;

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
