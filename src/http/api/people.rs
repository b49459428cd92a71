//! `/v1/people`: add, read, change and remove people.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::path_id;
use crate::domain::{Caller, PersonId, UpsertOutcome};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson};
use crate::ingest::input::{PersonInput, PersonPatch};
use crate::store::Page;

/// Add a person, or update them if their `external_ref` is known.
pub async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<PersonInput>,
) -> Result<impl IntoResponse, ApiError> {
    let person = input.parse().map_err(ApiError::Invalid)?;
    let (person, outcome) = state.ingest.upsert_person(caller.org_id, &person).await?;
    let status = match outcome {
        UpsertOutcome::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((
        status,
        Json(json!({ "outcome": outcome, "person": person })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<u32>,
    after: Option<String>,
}

const MAX_PAGE: u32 = 500;

/// People in id order, a page at a time: pass `next_after` back as `after`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} must be between 1 and {MAX_PAGE}"
        )));
    }
    let after = match query.after.as_deref() {
        Some(raw) => Some(
            raw.parse::<PersonId>()
                .map_err(|_| ApiError::BadRequest(format!("after {raw:?} is not a person id")))?,
        ),
        None => None,
    };
    let people = state
        .store
        .people(caller.org_id, Page { after, limit })
        .await?;
    let next_after = (people.len() == limit as usize)
        .then(|| people.last().map(|p| p.id))
        .flatten();
    Ok(Json(json!({ "people": people, "next_after": next_after })))
}

/// A person, with whether their number opted out or is paused.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let person = state
        .ingest
        .person(caller.org_id, path_id(&id, "person")?)
        .await?;
    let opt_out = state.store.suppression(&person.mobile).await?;
    let paused = state.store.number_paused_since(person.id).await?;
    let mut body = serde_json::to_value(&person).map_err(|e| ApiError::Unexpected(e.into()))?;
    body["opted_out"] = json!(opt_out.is_some());
    body["opted_out_since"] = json!(opt_out.map(|s| s.since));
    body["number_paused_since"] = json!(paused);
    Ok(Json(body))
}

/// Every text this person sent us, with what Homeward made of it.
pub async fn inbound(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let person = state
        .ingest
        .person(caller.org_id, path_id(&id, "person")?)
        .await?;
    let inbound = state
        .store
        .inbound_for_person(caller.org_id, person.id)
        .await?;
    Ok(Json(json!({ "inbound": inbound })))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PersonPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "person")?;
    let person = state
        .ingest
        .update_person(caller.org_id, id, &patch)
        .await?;
    Ok(Json(person))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, "person")?;
    if state.store.delete_person(caller.org_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("person"))
    }
}
