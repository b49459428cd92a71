//! `/v1/optouts`: the numbers of this organisation's people that must not be
//! texted. Staff may add one; only an admin may remove one, with a reason
//! (audited), since that means texting someone who may have said stop. The
//! person's own START always works.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::path_id;
use crate::actions::OptOutError;
use crate::domain::{Caller, PersonId};
use crate::http::error::{ApiError, ApiJson, ErrorBody};
use crate::http::{Admin, AppState};
use crate::ingest::input::FieldError;

/// An opted-out number and this organisation's people with it.
#[derive(Serialize, ToSchema)]
pub struct OptOutEntry {
    /// Who put it there: `reply` (the person), `staff:<token id>` (`staff:user:<id>` from the web pages), or a
    /// provider's name.
    source: String,
    reason: String,
    since: DateTime<Utc>,
    people: Vec<PersonId>,
}

/// The opted-out numbers of this organisation's people.
#[derive(Serialize, ToSchema)]
pub struct OptOutList {
    optouts: Vec<OptOutEntry>,
}

/// This organisation's people's opted-out numbers.
#[utoipa::path(
    get,
    path = "/optouts",
    operation_id = "list_optouts",
    tag = "opt-outs",
    responses((status = 200, description = "The opted-out numbers", body = OptOutList))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    // Only keyed hashes of numbers are kept; the list names this
    // organisation's people whose number is on it.
    let suppressions = state.store.suppressions(Some(caller.org_id)).await?;
    let out = suppressions
        .into_iter()
        .map(|s| OptOutEntry {
            source: s.source,
            reason: s.reason,
            since: s.since,
            people: s.people,
        })
        .collect();
    Ok(Json(OptOutList { optouts: out }))
}

/// Whose number to stop texting, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutInput {
    #[schema(value_type = PersonId)]
    person_id: String,
    /// Why (required, at most 500 characters); kept with the opt-out.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// A person's number's opt-out, as it is now.
#[derive(Serialize, ToSchema)]
pub struct OptOutChanged {
    person_id: PersonId,
    opted_out: bool,
}

/// Stop texts to a person's number, e.g. after they asked in person.
#[utoipa::path(
    post,
    path = "/optouts",
    operation_id = "add_optout",
    tag = "opt-outs",
    request_body = OptOutInput,
    responses(
        (status = 201, description = "The number is opted out", body = OptOutChanged),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<OptOutInput>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&input.person_id, "person")?;
    let person = state.actions.stop_texts(&caller, id, &input.reason).await?;
    Ok((
        StatusCode::CREATED,
        Json(OptOutChanged {
            person_id: person.id,
            opted_out: true,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "asked in person to have texts again"}))]
pub struct RemoveInput {
    /// Why (required, at most 500 characters); kept in the opt-out log.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// Take a person's number off the list: only with a reason, which is kept.
#[utoipa::path(
    delete,
    path = "/optouts/{person_id}",
    operation_id = "remove_optout",
    tag = "opt-outs",
    params(("person_id" = PersonId, Path, description = "The person whose number may be texted again")),
    request_body = RemoveInput,
    responses(
        (status = 200, description = "The number is off the list", body = OptOutChanged),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such person, or their number is not opted out", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RemoveInput>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "person")?;
    let person = state
        .actions
        .allow_texts(&caller, id, &input.reason)
        .await?;
    Ok(Json(OptOutChanged {
        person_id: person.id,
        opted_out: false,
    }))
}

impl From<OptOutError> for ApiError {
    fn from(e: OptOutError) -> Self {
        match e {
            OptOutError::NoPerson => Self::NotFound("person"),
            OptOutError::NotOptedOut => Self::NotFound("opt-out for this person"),
            OptOutError::NotAdmin => Self::Forbidden(e.to_string()),
            OptOutError::Reason => Self::Invalid(vec![FieldError::new(
                "reason",
                None,
                "is required (at most 500 characters)",
            )]),
            OptOutError::Store(e) => e.into(),
        }
    }
}
