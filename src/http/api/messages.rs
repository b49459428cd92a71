//! `/v1/messages`: what was planned, sent, delivered, failed or blocked,
//! with each message's history; staff can cancel a text still waiting.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::domain::{
    AuditAction, AuditTarget, Caller, Message, MessageId, MessageState, PersonId, Transition,
};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiQuery, ErrorBody, parse_json};
use crate::ingest::input::parse_instant;
use crate::store::MessageFilter;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this person's texts.
    #[param(value_type = Option<PersonId>)]
    person: Option<String>,
    /// Only texts in this state.
    #[param(value_type = Option<MessageState>)]
    state: Option<String>,
    /// Only texts sent (or to be sent) at or after this instant (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    from: Option<String>,
    /// Only texts sent (or to be sent) before this instant (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    to: Option<String>,
    /// At most this many, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
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

/// Texts, in send-time order.
#[derive(Serialize, ToSchema)]
pub struct MessageList {
    messages: Vec<Message>,
}

/// Messages in send-time order, filtered by person, state and time range.
#[utoipa::path(
    get,
    path = "/messages",
    operation_id = "list_messages",
    tag = "messages",
    params(ListQuery),
    responses(
        (status = 200, description = "The texts that match", body = MessageList),
        (status = 400, description = "A query parameter is invalid", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let messages = state
        .store
        .messages(caller.org_id, &query.filter()?)
        .await?;
    Ok(Json(MessageList { messages }))
}

/// A text and its history.
#[derive(Serialize, ToSchema)]
pub struct MessageDetail {
    message: Message,
    /// Every change of state, oldest first.
    history: Vec<Transition>,
}

/// One message with every state it passed through.
#[utoipa::path(
    get,
    path = "/messages/{id}",
    operation_id = "show_message",
    tag = "messages",
    params(("id" = MessageId, Path, description = "The message's id")),
    responses(
        (status = 200, description = "The text and its history", body = MessageDetail),
        (status = 404, description = "No such message in this organisation", body = ErrorBody),
    )
)]
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
    Ok(Json(MessageDetail { message, history }))
}

/// Why staff cancel a text (optional, as is the whole body).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Kept in the text's history (the first 200 characters).
    reason: Option<String>,
}

/// Cancel a text that has not gone yet; one already sent is left as it is.
#[utoipa::path(
    post,
    path = "/messages/{id}/cancel",
    operation_id = "cancel_message",
    tag = "messages",
    params(("id" = MessageId, Path, description = "The message's id")),
    request_body(content = Option<CancelInput>, description = "Optional: an empty body cancels without a reason"),
    responses(
        (status = 200, description = "The text, now cancelled", body = Message),
        (status = 404, description = "No such message in this organisation", body = ErrorBody),
        (status = 409, description = "The text is no longer waiting", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "message")?;
    let body = body?;
    // The body is optional: an empty POST (or `null`) cancels without a reason.
    let input: CancelInput = if body.is_empty() {
        CancelInput::default()
    } else {
        parse_json::<Option<CancelInput>>(&body)?.unwrap_or_default()
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
        .await?
        .ok_or(ApiError::NotFound("message"))?;
    let target = AuditTarget::message(message.person_id, message.id);
    state
        .audit
        .record(&caller, AuditAction::Cancelled, target)
        .await?;
    Ok(Json(message))
}
