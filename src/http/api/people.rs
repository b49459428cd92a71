//! `/v1/people`: add, read, change and remove people.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::domain::{AuditAction, AuditTarget, Caller, Inbound, Person, PersonId, UpsertOutcome};
use crate::http::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::http::{Admin, AppState};
use crate::ingest::input::{PersonInput, PersonPatch};
use crate::store::Page;

/// A person added or updated, and which of the two happened.
#[derive(Serialize, ToSchema)]
pub struct PersonUpserted {
    outcome: UpsertOutcome,
    person: Person,
}

/// Add a person, or update them if their `external_ref` is known.
#[utoipa::path(
    post,
    path = "/people",
    operation_id = "upsert_person",
    tag = "people",
    request_body = PersonInput,
    responses(
        (status = 201, description = "The person was added", body = PersonUpserted),
        (status = 200, description = "The reference was known: updated, or unchanged", body = PersonUpserted),
        (status = 422, description = "A field is invalid (the body names each one)", body = ErrorBody),
    )
)]
pub async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<PersonInput>,
) -> Result<impl IntoResponse, ApiError> {
    let person = state.ingest.check_person(&input)?;
    let (person, outcome) = state.ingest.upsert_person(caller.org_id, &person).await?;
    let target = AuditTarget::person(person.id);
    state.audit.record_upsert(&caller, outcome, target).await?;
    let status = match outcome {
        UpsertOutcome::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(PersonUpserted { outcome, person })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// People per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The previous page's `next_after`.
    #[param(value_type = Option<PersonId>)]
    after: Option<String>,
}

const MAX_PAGE: u32 = 500;

/// One page of people.
#[derive(Serialize, ToSchema)]
pub struct PeoplePage {
    people: Vec<Person>,
    /// Pass as `after` for the next page; null on the last page.
    next_after: Option<PersonId>,
}

/// People in id order, a page at a time: pass `next_after` back as `after`.
#[utoipa::path(
    get,
    path = "/people",
    operation_id = "list_people",
    tag = "people",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of people", body = PeoplePage),
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
    Ok(Json(PeoplePage { people, next_after }))
}

/// A person, with whether texts to their number are stopped.
#[derive(Serialize, ToSchema)]
pub struct PersonDetail {
    #[serde(flatten)]
    person: Person,
    /// The number is on the opt-out list.
    opted_out: bool,
    opted_out_since: Option<DateTime<Utc>>,
    /// Texts are paused since a provider said the number is invalid, until
    /// staff change it.
    number_paused_since: Option<DateTime<Utc>>,
}

/// A person, with whether their number opted out or is paused.
#[utoipa::path(
    get,
    path = "/people/{id}",
    operation_id = "show_person",
    tag = "people",
    params(("id" = PersonId, Path, description = "The person's id")),
    responses(
        (status = 200, description = "The person", body = PersonDetail),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
    )
)]
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
    Ok(Json(PersonDetail {
        person,
        opted_out: opt_out.is_some(),
        opted_out_since: opt_out.map(|s| s.since),
        number_paused_since: paused,
    }))
}

/// The texts a person sent.
#[derive(Serialize, ToSchema)]
pub struct InboundList {
    inbound: Vec<Inbound>,
}

/// Every text this person sent us, with what Homeward made of it.
#[utoipa::path(
    get,
    path = "/people/{id}/inbound",
    operation_id = "list_person_inbound",
    tag = "people",
    params(("id" = PersonId, Path, description = "The person's id")),
    responses(
        (status = 200, description = "The person's texts to us, oldest first", body = InboundList),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
    )
)]
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
    Ok(Json(InboundList { inbound }))
}

/// Change a person's first name, mobile or language; fields left out stay.
#[utoipa::path(
    patch,
    path = "/people/{id}",
    operation_id = "update_person",
    tag = "people",
    params(("id" = PersonId, Path, description = "The person's id")),
    request_body = PersonPatch,
    responses(
        (status = 200, description = "The person as they are now", body = Person),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
        (status = 422, description = "A field is invalid (the body names each one)", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PersonPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "person")?;
    let person = state.actions.change_person(&caller, id, &patch).await?;
    Ok(Json(person))
}

/// Everything held about a person, for a subject access request: admins
/// only, since it gathers everything in one place.
#[utoipa::path(
    get,
    path = "/people/{id}/export",
    operation_id = "export_person",
    tag = "people",
    params(("id" = PersonId, Path, description = "The person's id")),
    responses(
        (status = 200, description = "Everything held about the person", body = crate::privacy::SubjectExport),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "person")?;
    let export = state.privacy.export(caller.org_id, id).await?;
    let target = AuditTarget::person(id);
    state
        .audit
        .record(&caller, AuditAction::Exported, target)
        .await?;
    Ok(Json(export))
}

/// Erase a person and everything about them: admins only, since it cannot
/// be undone. The answer says what was removed, and what was kept and why.
#[utoipa::path(
    delete,
    path = "/people/{id}",
    operation_id = "erase_person",
    tag = "people",
    params(("id" = PersonId, Path, description = "The person's id")),
    responses(
        (status = 200, description = "Erased; what was kept, and why", body = crate::privacy::Erasure),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "person")?;
    let erasure = state.privacy.erase(caller.org_id, id).await?;
    let e = &erasure.erased;
    let note = format!(
        "{} events, {} texts, {} replies, {} attention items",
        e.events, e.messages, e.replies, e.attention_items
    );
    let target = AuditTarget::person(id);
    state
        .audit
        .record_noted(&caller, AuditAction::Deleted, target, note)
        .await?;
    Ok(Json(erasure))
}
