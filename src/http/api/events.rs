//! `/v1/people/{id}/events`: liberations and appointments.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::path_id;
use crate::domain::{AuditTarget, Caller, Event, EventId, PersonId, UpsertOutcome};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson, ErrorBody};
use crate::ingest::input::{EventInput, EventPatch};

/// An event added or updated, and which of the two happened.
#[derive(Serialize, ToSchema)]
pub struct EventUpserted {
    outcome: UpsertOutcome,
    event: Event,
}

/// Add an event, or update it if its `event_ref` is known for this person.
#[utoipa::path(
    post,
    path = "/people/{id}/events",
    operation_id = "upsert_event",
    tag = "events",
    params(("id" = PersonId, Path, description = "The person's id")),
    request_body = EventInput,
    responses(
        (status = 201, description = "The event was added", body = EventUpserted),
        (status = 200, description = "The reference was known: updated, or unchanged", body = EventUpserted),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
        (status = 422, description = "A field is invalid (the body names each one)", body = ErrorBody),
    )
)]
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
    let target = AuditTarget::event(person, event.id);
    state.audit.record_upsert(&caller, outcome, target).await?;
    let status = match outcome {
        UpsertOutcome::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(EventUpserted { outcome, event })))
}

/// A person's events.
#[derive(Serialize, ToSchema)]
pub struct EventList {
    events: Vec<Event>,
}

/// A person's liberations and appointments.
#[utoipa::path(
    get,
    path = "/people/{id}/events",
    operation_id = "list_events",
    tag = "events",
    params(("id" = PersonId, Path, description = "The person's id")),
    responses(
        (status = 200, description = "The person's events", body = EventList),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
    )
)]
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
    Ok(Json(EventList { events }))
}

/// One event.
#[utoipa::path(
    get,
    path = "/people/{id}/events/{event_id}",
    operation_id = "show_event",
    tag = "events",
    params(
        ("id" = PersonId, Path, description = "The person's id"),
        ("event_id" = EventId, Path, description = "The event's id"),
    ),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "No such person or event in this organisation", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    patch,
    path = "/people/{id}/events/{event_id}",
    operation_id = "update_event",
    tag = "events",
    params(
        ("id" = PersonId, Path, description = "The person's id"),
        ("event_id" = EventId, Path, description = "The event's id"),
    ),
    request_body = EventPatch,
    responses(
        (status = 200, description = "The event as it is now", body = Event),
        (status = 404, description = "No such person or event in this organisation", body = ErrorBody),
        (status = 422, description = "A field is invalid (the body names each one)", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, event_id)): Path<(String, String)>,
    ApiJson(patch): ApiJson<EventPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let (person, event) = (path_id(&id, "person")?, path_id(&event_id, "event")?);
    let event = state
        .actions
        .change_event(&caller, person, event, &patch)
        .await?;
    Ok(Json(event))
}
