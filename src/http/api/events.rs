//! `/v1/people/{id}/events`: liberations and appointments.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use super::path_id;
use crate::domain::{Caller, UpsertOutcome};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson};
use crate::ingest::input::{EventInput, EventPatch};

/// Add an event, or update it if its `event_ref` is known for this person.
pub async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<EventInput>,
) -> Result<impl IntoResponse, ApiError> {
    let person = path_id(&id, "person")?;
    let event = input.parse().map_err(ApiError::Invalid)?;
    let (event, outcome) = state
        .ingest
        .upsert_event(caller.org_id, person, &event)
        .await?;
    let status = match outcome {
        UpsertOutcome::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(json!({ "outcome": outcome, "event": event }))))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let person = state
        .ingest
        .person(caller.org_id, path_id(&id, "person")?)
        .await?;
    let events = state.store.events(caller.org_id, person.id).await?;
    Ok(Json(json!({ "events": events })))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (person, event) = (path_id(&id, "person")?, path_id(&event_id, "event")?);
    let event = state.store.event(caller.org_id, person, event).await?;
    event.map(Json).ok_or(ApiError::NotFound("event"))
}

/// Change an event; `{"status": "cancelled"}` cancels it.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, event_id)): Path<(String, String)>,
    ApiJson(patch): ApiJson<EventPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let (person, event) = (path_id(&id, "person")?, path_id(&event_id, "event")?);
    let event = state
        .ingest
        .update_event(caller.org_id, person, event, &patch)
        .await?;
    Ok(Json(event))
}
