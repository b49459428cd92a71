//! What a page answers when it cannot show what was asked: a redirect to
//! sign in, or a plain-English error page. Internal details go to the log,
//! never to the page.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use tera::Context;

use crate::store::StoreError;

#[derive(Debug)]
pub enum PageError {
    /// No live session: go and sign in.
    SignIn,
    /// Signed in, but this is not for this role (or the form's CSRF token or
    /// origin was wrong: nothing was changed).
    Forbidden,
    NotFound,
    Internal(String),
}

impl PageError {
    pub(super) fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::planner::PlanError> for PageError {
    fn from(e: crate::planner::PlanError) -> Self {
        match e {
            crate::planner::PlanError::NotFound(_) => Self::NotFound,
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::SignIn => return Redirect::to("/sign-in").into_response(),
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Internal(why) => {
                tracing::error!(error = %why, "a staff page failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        error_page(status)
    }
}

fn error_page(status: StatusCode) -> Response {
    let mut context = Context::new();
    context.insert("status", &status.as_u16());
    match super::render::render("error.html", &context) {
        Ok(page) => (status, page).into_response(),
        Err(_) => (
            status,
            [(header::CONTENT_TYPE, "text/plain")],
            "Sorry, there is a problem with the service",
        )
            .into_response(),
    }
}

/// The answer for a page address that does not exist.
pub async fn not_found() -> Response {
    let mut response = error_page(StatusCode::NOT_FOUND);
    super::headers::apply(response.headers_mut(), false);
    response
}
