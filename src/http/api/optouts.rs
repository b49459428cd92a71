//! `/v1/optouts`: the numbers of this organisation's people that must not be
//! texted. Staff may add one, or remove one with a reason (audited); the
//! person's own START always works.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::path_id;
use crate::domain::{Caller, Person};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson};
use crate::ingest::input::FieldError;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let suppressions = state.store.suppressions(Some(caller.org_id)).await?;
    let mut out = Vec::with_capacity(suppressions.len());
    for s in suppressions {
        let people: Vec<_> = state.store.people_by_mobile(&s.mobile).await?;
        let mine: Vec<_> = people
            .iter()
            .filter(|p| p.org_id == caller.org_id)
            .map(|p| p.id)
            .collect();
        out.push(json!({ "mobile": s.mobile, "source": s.source, "reason": s.reason, "since": s.since, "people": mine }));
    }
    Ok(Json(json!({ "optouts": out })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOutInput {
    person_id: String,
    reason: String,
}

/// Stop texts to a person's number, e.g. after they asked in person.
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<OptOutInput>,
) -> Result<impl IntoResponse, ApiError> {
    let person = person(&state, &caller, &input.person_id).await?;
    let reason = required_reason(&input.reason)?;
    let now = state.ingest.planner().now();
    let source = format!("staff:{}", caller.token_id);
    state
        .store
        .suppress(&person.mobile, &source, &reason, now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "person_id": person.id, "opted_out": true })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveInput {
    reason: String,
}

/// Take a person's number off the list: only with a reason, which is kept.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RemoveInput>,
) -> Result<impl IntoResponse, ApiError> {
    let person = person(&state, &caller, &id).await?;
    let reason = required_reason(&input.reason)?;
    let now = state.ingest.planner().now();
    let actor = caller.token_id.to_string();
    let removed = state
        .store
        .unsuppress(&person.mobile, "staff", &reason, Some(&actor), now)
        .await?;
    if !removed {
        return Err(ApiError::NotFound("opt-out for this person"));
    }
    Ok(Json(json!({ "person_id": person.id, "opted_out": false })))
}

async fn person(state: &AppState, caller: &Caller, id: &str) -> Result<Person, ApiError> {
    Ok(state
        .ingest
        .person(caller.org_id, path_id(id, "person")?)
        .await?)
}

fn required_reason(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        let error = FieldError::new("reason", None, "is required (at most 500 characters)");
        return Err(ApiError::Invalid(vec![error]));
    }
    Ok(reason.to_owned())
}
