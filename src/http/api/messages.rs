//! `/v1/messages`: what was planned, sent, delivered, failed or blocked,
//! with each message's history; staff can cancel a text still waiting.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::path_id;
use crate::domain::{Caller, MessageState, PersonId};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::ingest::input::parse_instant;
use crate::store::MessageFilter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    person: Option<String>,
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

impl ListQuery {
    fn filter(&self) -> Result<MessageFilter, ApiError> {
        let bad = |field: &str, reason: String| ApiError::BadRequest(format!("{field} {reason}"));
        let person = match &self.person {
            Some(p) => Some(
                p.parse::<PersonId>()
                    .map_err(|_| bad("person", format!("{p:?} is not a person id")))?,
            ),
            None => None,
        };
        let state = match &self.state {
            Some(s) => Some(
                s.parse::<MessageState>()
                    .map_err(|e| bad("state", e.to_string()))?,
            ),
            None => None,
        };
        let instant = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|v| parse_instant(v).map_err(|e| bad(field, format!("{v:?} {e}"))))
                .transpose()
        };
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(bad("limit", format!("{limit} must be between 1 and 1000")));
        }
        Ok(MessageFilter {
            person,
            state,
            from: instant("from", &self.from)?,
            to: instant("to", &self.to)?,
            limit,
        })
    }
}

/// Messages in send-time order, filtered by person, state and time range.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let messages = state
        .store
        .messages(caller.org_id, &query.filter()?)
        .await?;
    Ok(Json(json!({ "messages": messages })))
}

/// One message with every state it passed through.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "message")?;
    let message = state
        .store
        .message(caller.org_id, id)
        .await?
        .ok_or(ApiError::NotFound("message"))?;
    let history = state.store.transitions(id).await?;
    Ok(Json(json!({ "message": message, "history": history })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    reason: Option<String>,
}

/// Cancel a text that has not gone yet; one already sent is left as it is.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "message")?;
    // The body is optional: an empty POST cancels without a reason.
    let input: CancelInput = if body.is_empty() {
        CancelInput::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Unprocessable(format!("the body: {e}")))?
    };
    let reason = match input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(r) => format!(
            "cancelled by staff: {}",
            r.chars().take(200).collect::<String>()
        ),
        None => "cancelled by staff".to_owned(),
    };
    let current = state.store.message(caller.org_id, id).await?;
    let current = current.ok_or(ApiError::NotFound("message"))?;
    if !current.state.is_waiting() {
        let was = current.state;
        return Err(ApiError::Conflict(format!(
            "the message is already {was}; only a waiting text can be cancelled"
        )));
    }
    let now = state.ingest.planner().now();
    let message = state
        .store
        .cancel_message(caller.org_id, id, &reason, now)
        .await?;
    Ok(Json(message.ok_or(ApiError::NotFound("message"))?))
}
