//! The staff pages: HTML rendered on the server, served at `/` on the API's
//! port, working without JavaScript (the design system's script only
//! enhances). Handlers are thin: read the form or path, call a use case
//! (`accounts`, `casework`, the same ones the API uses), render.
//!
//! Templates are tera, the engine the SMS templates already use, with HTML
//! auto-escaping on (every template ends in `.html`), compiled into the
//! binary with the vendored Scottish Government Design System (`assets/`).
//!
//! Safety on every page: a server-side session (see `session`), a CSRF token
//! on every form and an `Origin` check on every POST, `Cache-Control:
//! no-store`, a Content-Security-Policy without inline script,
//! `X-Frame-Options: DENY` and `Referrer-Policy: same-origin`. URLs carry
//! ids only: a search is a POST, and one-time links put their token in the
//! query string, which the request log never records.

mod about_person;
mod admin;
mod assets;
mod dates;
mod error;
mod headers;
mod inbox;
mod labels;
mod lists;
mod nudge;
mod people;
mod person_forms;
mod render;
mod session;
mod setup;
mod sign_in;
mod stop_texts;
mod templates_page;
mod today;
mod upload;

use axum::Router;
use axum::routing::{get, post};

pub use error::not_found;
pub use session::SESSION_COOKIE;

use super::AppState;

pub(super) fn router(server: &crate::config::ServerSettings) -> Router<AppState> {
    // An uploaded file may be as large as an import through the API.
    let upload = Router::new()
        .route("/upload", get(upload::form).post(upload::check))
        .layer(axum::extract::DefaultBodyLimit::max(
            server.max_import_bytes,
        ));
    Router::new()
        .route("/", get(today::show))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/account", get(sign_in::account))
        .route("/setup", get(setup::form).post(setup::submit))
        .route(
            "/set-password",
            get(setup::password_form).post(setup::password_submit),
        )
        .route("/people", get(people::list).post(people::search))
        .route("/people/{id}", get(people::show))
        .route("/people/{id}/nudge", get(nudge::form).post(nudge::submit))
        .route(
            "/people/{id}/details",
            get(person_forms::details_form).post(person_forms::details),
        )
        .route(
            "/people/{id}/events/{event}",
            get(person_forms::event_form).post(person_forms::event),
        )
        .route(
            "/people/{id}/appointments",
            get(person_forms::appointment_form).post(person_forms::appointment),
        )
        .route(
            "/people/{id}/outcome",
            get(person_forms::outcome_form).post(person_forms::outcome),
        )
        .route(
            "/people/{id}/stop-texts",
            get(stop_texts::stop_form).post(stop_texts::stop),
        )
        .route(
            "/people/{id}/allow-texts",
            get(stop_texts::allow_form).post(stop_texts::allow),
        )
        .route("/texts/{id}", get(people::text))
        .route("/attention", get(inbox::list))
        .route("/attention/{id}", get(inbox::show))
        .route("/attention/{id}/reply", post(inbox::reply))
        .route("/attention/{id}/resolve", post(inbox::resolve))
        .route("/opt-outs", get(lists::opt_outs))
        .route("/templates", get(templates_page::show))
        .route("/admin/users", get(admin::users))
        .route(
            "/admin/users/new",
            get(admin::invite_form).post(admin::invite),
        )
        .route("/admin/users/{id}", get(admin::user))
        .route("/admin/users/{id}/role", post(admin::set_role))
        .route("/admin/users/{id}/disable", post(admin::disable))
        .route(
            "/admin/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/admin/audit", get(admin::audit))
        .route("/upload/confirm", post(upload::confirm))
        .merge(upload)
        .route("/assets/{*path}", get(assets::serve))
        .layer(axum::middleware::from_fn(headers::secure))
}
