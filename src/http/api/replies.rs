//! `/v1/people/{id}/replies`: staff answer a person with a text they type,
//! checked like a template (no disclosing word, no reference number, links
//! as `templates.allow_links` says) and sent at once within sending hours.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;

use super::path_id;
use crate::domain::{Caller, Message, MessageBody, PersonId};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson, ErrorBody};
use crate::planner::ReplyRequest;

/// The longest `Idempotency-Key` kept.
const MAX_KEY: usize = 100;

/// A reply to a person.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Hi, it's Anna from the support team. I'll call you at 2pm."}))]
pub struct ReplyInput {
    /// The text, as the person will read it: plain text, at most 3 segments.
    body: String,
    /// Send a text of 2 or 3 segments (each costs as much as a text);
    /// without it such a text is refused, naming its segments.
    #[serde(default)]
    confirm_segments: bool,
}

/// Send a typed reply to a person.
///
/// Sent at once within sending hours, or at the next opening; never to a
/// number that opted out; not held back by the daily cap. Send an
/// `Idempotency-Key` header to make a retried request send nothing twice:
/// the same key for the same person returns the text already planned.
#[utoipa::path(
    post,
    path = "/people/{id}/replies",
    operation_id = "reply",
    tag = "planning",
    params(
        ("id" = PersonId, Path, description = "The person's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Any string up to 100 characters; a repeat returns the first reply"),
    ),
    request_body = ReplyInput,
    responses(
        (status = 201, description = "The reply, planned to go now or at the next opening of sending hours", body = Message),
        (status = 400, description = "The Idempotency-Key header is not 1 to 100 visible ASCII characters", body = ErrorBody),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
        (status = 422, description = "The text is refused (a disclosing word or a reference number, named; a link; too long; several segments not confirmed), or the person has opted out", body = ErrorBody),
    )
)]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ReplyInput>,
) -> Result<impl IntoResponse, ApiError> {
    let request = ReplyRequest {
        person: path_id(&id, "person")?,
        body: MessageBody::new(input.body),
        key: idempotency_key(&headers)?,
        confirmed: input.confirm_segments,
    };
    let replied = state.actions.reply(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(replied.message)))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.trim().is_empty() && key.len() <= MAX_KEY => Ok(Some(key.to_owned())),
        _ => Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters"
        ))),
    }
}
