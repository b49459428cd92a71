//! Signing in and out, and the account page (sign out everywhere).

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::PageError;
use super::render::Page;
use super::session::{
    FORM_COOKIE, PeerAddress, SESSION_COOKIE, SameOrigin, Staff, check_form_token, cookie,
    pre_sign_in_page, secure_cookies, set_cookie,
};
use crate::accounts::{SignInError, SignedIn};
use crate::http::AppState;

/// One row of a summary list.
pub(super) fn detail(key: &str, value: impl ToString) -> serde_json::Value {
    json!({ "key": key, "value": value.to_string() })
}

/// An error shown beside its field and in the summary at the top.
#[derive(Debug, Serialize)]
pub(super) struct FieldError {
    pub field_id: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field_id: &'static str, message: impl ToString) -> Self {
        Self {
            field_id,
            message: message.to_string(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        if state.accounts.session(&session).await?.is_some() {
            return Ok(Redirect::to("/").into_response());
        }
    }
    sign_in_page(&state, &headers, "", Vec::new())
}

pub(super) async fn submit(
    State(state): State<AppState>,
    _: SameOrigin,
    PeerAddress(address): PeerAddress,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    check_form_token(&headers, &form.csrf_token)?;
    let mut errors = Vec::new();
    if form.email.trim().is_empty() {
        errors.push(FieldError::new("email", "Enter your email address"));
    }
    if form.password.is_empty() {
        errors.push(FieldError::new("password", "Enter your password"));
    }
    if !errors.is_empty() {
        return sign_in_page(&state, &headers, &form.email, errors);
    }
    match state
        .accounts
        .sign_in(&form.email, &form.password, &address)
        .await
    {
        Ok(signed_in) => {
            end_old_session(&state, &headers).await;
            Ok(signed_in_response(&state, &signed_in, "/"))
        }
        Err(SignInError::Store(e)) => Err(e.into()),
        Err(refused) => {
            let errors = vec![FieldError::new("email", refused)];
            sign_in_page(&state, &headers, &form.email, errors)
        }
    }
}

/// Sign this browser in: a new session cookie, the pre-sign-in form cookie
/// gone, and on to `to` (303, so a refresh does not post again).
pub(super) fn signed_in_response(state: &AppState, signed_in: &SignedIn, to: &str) -> Response {
    let secure = secure_cookies(state);
    let mut response = Redirect::to(to).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, signed_in.secret.expose(), secure),
    );
    headers.append(header::SET_COOKIE, set_cookie(FORM_COOKIE, "", secure));
    response
}

/// A browser signing in again gets a new session id; the old one ends.
async fn end_old_session(state: &AppState, headers: &HeaderMap) {
    let Some(old) = cookie(headers, SESSION_COOKIE) else {
        return;
    };
    if let Ok(Some(session)) = state.accounts.session(&old).await {
        if let Err(e) = state.accounts.sign_out(&old, &session, false).await {
            tracing::warn!(error = %e, "could not end the session replaced at sign-in");
        }
    }
}

fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let values = json!({ "errors": errors, "email": email });
    pre_sign_in_page(state, headers, "sign_in.html", values)
}

#[derive(Deserialize)]
pub(super) struct SignOutForm {
    #[serde(default)]
    csrf_token: String,
    /// Present (any value) to end every session of this user.
    everywhere: Option<String>,
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Form(form): Form<SignOutForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let everywhere = form.everywhere.is_some();
    state
        .accounts
        .sign_out(&staff.cookie, &staff.session, everywhere)
        .await?;
    let mut response = Redirect::to("/sign-in").into_response();
    let gone = set_cookie(SESSION_COOKIE, "", secure_cookies(&state));
    response.headers_mut().append(header::SET_COOKIE, gone);
    Ok(response)
}

pub(super) async fn account(staff: Staff) -> Result<Response, PageError> {
    let user = &staff.session.user;
    let trail = [("/", "Today"), ("", "Your account")];
    let page = Page {
        template: "account.html",
        nav: "account",
        session: Some(&staff.session),
        trail: &trail,
    };
    let details = [
        detail("Email address", user.email.as_str()),
        detail("Role", user.role.as_str()),
    ];
    Ok(page.render(json!({ "details": details }))?.into_response())
}
