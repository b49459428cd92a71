//! Bearer-token authentication. The presented token is hashed and looked up;
//! the result names the organisation whose data this request may touch.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::domain::{Caller, TokenHash};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or(ApiError::Unauthorized)?;
        let caller = state.store.caller_for_token(&TokenHash::of(token)).await?;
        let caller = caller.ok_or(ApiError::Unauthorized)?;
        tracing::Span::current().record("org", tracing::field::display(caller.org_id));
        Ok(caller)
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
