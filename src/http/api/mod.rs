//! The `/v1` API for staff systems. Every handler takes a [`Caller`] (or an
//! [`Admin`], a caller with the admin role), so no route can be reached
//! without a valid token, and passes `caller.org_id` to the use case, so no
//! route can reach another organisation's data. Every handler that changes
//! something records it with [`AuditLog::record`] once the change is made.
//!
//! [`Caller`]: crate::domain::Caller
//! [`Admin`]: crate::http::Admin
//! [`AuditLog::record`]: crate::audit::AuditLog::record

mod attention;
mod audit;
mod events;
mod imports;
mod messages;
mod optouts;
mod people;
mod plans;
mod replies;
mod tokens;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use super::AppState;
use super::error::ApiError;
use crate::config::ServerSettings;

pub fn router(server: &ServerSettings) -> Router<AppState> {
    let imports = Router::new()
        .route("/imports/releases", post(imports::releases))
        .route("/imports/appointments", post(imports::appointments))
        .layer(DefaultBodyLimit::max(server.max_import_bytes));
    Router::new()
        .route("/people", get(people::list).post(people::upsert))
        .route(
            "/people/{id}",
            get(people::show)
                .patch(people::update)
                .delete(people::erase),
        )
        .route("/people/{id}/export", get(people::export))
        .route(
            "/people/{id}/events",
            get(events::list).post(events::upsert),
        )
        .route(
            "/people/{id}/events/{event_id}",
            get(events::show).patch(events::update),
        )
        .route("/people/{id}/outcomes", post(plans::record_outcome))
        .route("/people/{id}/nudges", post(plans::nudge))
        .route("/people/{id}/replies", post(replies::reply))
        .route("/messages", get(messages::list))
        .route("/messages/{id}", get(messages::show))
        .route("/messages/{id}/cancel", post(messages::cancel))
        .route("/people/{id}/inbound", get(people::inbound))
        .route("/optouts", get(optouts::list).post(optouts::add))
        .route("/optouts/{person_id}", delete(optouts::remove))
        .route("/attention", get(attention::list))
        .route("/attention/{id}/resolve", post(attention::resolve))
        .route("/tokens", get(tokens::list))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/audit", get(audit::list))
        .merge(imports)
}

/// The `/v1` part of the API description: every handler above, by its
/// `#[utoipa::path]`. A route added to the router but not here fails the
/// `openapi` integration test.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    people::upsert,
    people::list,
    people::show,
    people::update,
    people::erase,
    people::export,
    people::inbound,
    events::upsert,
    events::list,
    events::show,
    events::update,
    plans::record_outcome,
    plans::nudge,
    replies::reply,
    messages::list,
    messages::show,
    messages::cancel,
    optouts::list,
    optouts::add,
    optouts::remove,
    attention::list,
    attention::resolve,
    imports::releases,
    imports::appointments,
    tokens::list,
    tokens::revoke,
    audit::list,
))]
pub struct Description;

/// Parse an id from the path; an id that cannot exist is simply not found.
fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}
