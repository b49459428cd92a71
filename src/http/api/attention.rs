//! `/v1/attention`: what needs a person on staff — replies that are not
//! keywords, "wrong number", numbers that failed for good, people whose
//! texts stopped arriving — until someone resolves it.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::actions::Resolution;
use crate::domain::{AttentionItem, Caller};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::store::AttentionQuery;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Include items already resolved.
    #[serde(default)]
    all: bool,
    /// Items per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The previous page's `next_after`.
    after: Option<String>,
}

const MAX_PAGE: u32 = 500;

/// A page of what needs a person on staff.
#[derive(Serialize, ToSchema)]
pub struct AttentionList {
    items: Vec<AttentionItem>,
    /// Pass as `after` for the next page; null on the last page.
    next_after: Option<String>,
}

/// Items that need a person on staff, oldest first, a page at a time
/// (pass `next_after` back as `after`); unresolved only unless `all`.
#[utoipa::path(
    get,
    path = "/attention",
    operation_id = "list_attention",
    tag = "attention",
    params(ListQuery),
    responses(
        (status = 200, description = "The items", body = AttentionList),
        (status = 400, description = "A query parameter is invalid", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} must be between 1 and {MAX_PAGE}"
        )));
    }
    let page = AttentionQuery {
        open_only: !query.all,
        after: query.after,
        // One more than a page: whether another page follows at all.
        ..AttentionQuery::open(limit + 1)
    };
    let org = caller.org_id;
    let mut items = state.store.attention(org, &page).await?;
    // Only an empty page can come of a cursor that names no item of ours.
    if let Some(after) = &page.after
        && items.is_empty()
        && state.store.attention_item(org, after).await?.is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "after {after:?} is not one of this organisation's attention items"
        )));
    }
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_after = more.then(|| items.last().map(|i| i.id.clone())).flatten();
    Ok(Json(AttentionList { items, next_after }))
}

/// How an item was dealt with.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// What was done (the first 500 characters are kept).
    #[serde(default)]
    note: String,
}

/// An item marked resolved.
#[derive(Serialize, ToSchema)]
pub struct Resolved {
    id: String,
    resolved: bool,
}

/// Mark an item resolved, with a note.
#[utoipa::path(
    post,
    path = "/attention/{id}/resolve",
    operation_id = "resolve_attention",
    tag = "attention",
    params(("id" = String, Path, description = "The item's id")),
    request_body = ResolveInput,
    responses(
        (status = 200, description = "Resolved", body = Resolved),
        (status = 404, description = "No such item in this organisation", body = ErrorBody),
        (status = 409, description = "The item was resolved already", body = ErrorBody),
    )
)]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ResolveInput>,
) -> Result<impl IntoResponse, ApiError> {
    match state.actions.resolve(&caller, &id, &input.note).await? {
        Resolution::NotFound => Err(ApiError::NotFound("attention item")),
        Resolution::AlreadyResolved => {
            Err(ApiError::Conflict("this item was resolved already".into()))
        }
        Resolution::Resolved => Ok(Json(Resolved { id, resolved: true })),
    }
}
