//! Bearer-token authentication and roles. The presented token is hashed and
//! looked up; the result names the organisation whose data this request may
//! touch, and the token's role. A handler that takes [`Admin`] instead of
//! [`Caller`] cannot be reached with a staff token: the type is the check.
//!
//! The look-up compares SHA-256 hashes in the database, not secrets: a
//! timing difference there could only tell an attacker about the hash of
//! what they sent, which says nothing about any real token (256 random
//! bits). Revocation takes effect on the next request, since nothing here is
//! cached between requests.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};

use super::AppState;
use super::error::ApiError;
use crate::domain::{Caller, Credential, Role, TokenHash, TokenId};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Once per request, however many extractors ask.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(*caller);
        }
        let token = bearer_token(parts).ok_or(ApiError::Unauthorized)?;
        let caller = state.store.caller_for_token(&TokenHash::of(token)).await?;
        let caller = caller.ok_or(ApiError::Unauthorized)?;
        tracing::Span::current().record("org", tracing::field::display(caller.org_id));
        let Credential::Token(token_id) = caller.via else {
            return Err(ApiError::Unauthorized);
        };
        state
            .api_limit
            .check(token_id)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
        state.token_use.note(state, token_id).await;
        parts.extensions.insert(caller);
        Ok(caller)
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A caller whose token has the admin role.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.role {
            Role::Admin => Ok(Self(caller)),
            Role::Staff => Err(ApiError::Forbidden(
                "this needs an admin token; this token's role is staff".into(),
            )),
        }
    }
}

/// When each token was last seen, written to the store at most once per
/// token every [`TokenUse::EVERY`] minutes, so authentication stays a read.
#[derive(Default)]
pub struct TokenUse(Mutex<HashMap<TokenId, DateTime<Utc>>>);

impl TokenUse {
    const EVERY: i64 = 5;

    async fn note(&self, state: &AppState, token: TokenId) {
        let now = state.clock.now();
        if !self.is_due(token, now) {
            return;
        }
        // A failure here must not fail the request: "last used" is a hint.
        if let Err(e) = state.store.note_token_used(token, now).await {
            tracing::warn!(error = %e, "could not note a token's use");
        }
    }

    /// Whether `token`'s use is worth writing down, noting that it will be.
    fn is_due(&self, token: TokenId, now: DateTime<Utc>) -> bool {
        let mut seen = self.0.lock().expect("token use lock");
        let due = seen
            .get(&token)
            .is_none_or(|last| now - *last >= Duration::minutes(Self::EVERY));
        if due {
            seen.insert(token, now);
        }
        due
    }
}
