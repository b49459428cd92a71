//! `POST /webhooks/{provider}/status`: delivery reports. Idempotent: a
//! replayed report, or one for a message already final, changes nothing.
//! A verified report that names a message this provider did not send, or
//! one no report can move, is ignored but still answered 200, so the
//! provider stops retrying it; `sms_delivery_reports_ignored_total` counts
//! those by reason.

use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use super::{Rejection, authenticate, refusal, reply};
use crate::dispatch::deliveries::{self, ReportOutcome};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};

/// A provider's delivery report, verified as that provider documents.
#[utoipa::path(
    method(get, post),
    path = "/{provider}/status",
    operation_id = "webhook_status",
    tag = "webhooks",
    params(("provider" = String, Path, description = "A provider's name from `dispatch.providers` (its `[providers.NAME]` table)")),
    request_body(
        content(
            (String = "application/x-www-form-urlencoded"),
            (String = "application/json"),
        ),
        description = "The provider's own delivery-report format, signed as it documents"
    ),
    responses(
        (status = 200, description = "Accepted, or verified and ignored (a report about a message this provider did not send, or one already final); the body is what the provider expects back (often empty)",
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
    let updates = provider.parse_status(&request).map_err(refusal)?;
    let now = state.ingest.planner().now();
    for update in &updates {
        let outcome = deliveries::apply(state.store.as_ref(), &name, update, now)
            .await
            .map_err(ApiError::from)?;
        if let ReportOutcome::Ignored(reason) = outcome {
            tracing::info!(provider = %name, provider_id = %update.provider_id, reason, "delivery report ignored");
            metrics::counter!("sms_delivery_reports_ignored_total", "provider" => name.clone(), "reason" => reason)
                .increment(1);
        }
    }
    metrics::counter!("sms_delivery_reports_total", "provider" => name)
        .increment(updates.len() as u64);
    Ok(reply(provider.webhook_reply()))
}
