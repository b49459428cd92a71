//! `/v1/attention`: what needs a person on staff — replies that are not
//! keywords, "wrong number", numbers that failed for good, people whose
//! texts stopped arriving — until someone resolves it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use crate::domain::Caller;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    all: bool,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let items = state.store.attention(caller.org_id, !query.all).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    #[serde(default)]
    note: String,
}

pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResolveInput>,
) -> Result<impl IntoResponse, ApiError> {
    let now = state.ingest.planner().now();
    let by = caller.token_id.to_string();
    let note: String = input.note.trim().chars().take(500).collect();
    match state
        .store
        .resolve_attention(caller.org_id, &id, &by, &note, now)
        .await?
    {
        None => Err(ApiError::NotFound("attention item")),
        Some(false) => Err(ApiError::Conflict("this item was resolved already".into())),
        Some(true) => Ok(Json(json!({ "id": id, "resolved": true }))),
    }
}
