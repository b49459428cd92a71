//! `/v1/tokens`: an organisation's API tokens, for its admins. A listing
//! never shows a secret or a hash; a revoked token is refused from its very
//! next request.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::path_id;
use crate::domain::{Actor, ApiToken, TokenId};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{Admin, AppState};

/// This organisation's tokens: never a secret or a hash.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    tokens: Vec<ApiToken>,
}

/// A token revoked (or revoked already).
#[derive(Serialize, ToSchema)]
pub struct TokenRevoked {
    id: TokenId,
    revoked: bool,
}

/// This organisation's API tokens (admin).
#[utoipa::path(
    get,
    path = "/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The tokens, oldest first", body = TokenList),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<impl IntoResponse, ApiError> {
    let tokens = state.accounts.tokens(caller.org_id).await?;
    Ok(Json(TokenList { tokens }))
}

/// Revoke a token of this organisation (this one included). Revoking it
/// again changes nothing.
#[utoipa::path(
    post,
    path = "/tokens/{id}/revoke",
    operation_id = "revoke_token",
    tag = "tokens",
    params(("id" = TokenId, Path, description = "The token's id")),
    responses(
        (status = 200, description = "The token is refused from its next request", body = TokenRevoked),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such token in this organisation", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: TokenId = path_id(&id, "token")?;
    let by = Actor::from(&caller);
    match state.accounts.revoke_token(caller.org_id, id, by).await? {
        None => Err(ApiError::NotFound("token")),
        Some(_) => Ok(Json(TokenRevoked { id, revoked: true })),
    }
}
