//! One-time links: the first run's setup (the organisation and its first
//! admin) and choosing a password for a new account. The token is in the
//! query string (`/setup?token=…`), which the request log never records.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::PageError;
use super::session::{SameOrigin, check_form_token, pre_sign_in_page};
use super::sign_in::{FieldError, signed_in_response};
use crate::accounts::{AccountError, PasswordError};
use crate::domain::LinkPurpose;
use crate::http::AppState;

#[derive(Deserialize)]
pub(super) struct Link {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SetupForm {
    csrf_token: String,
    organisation: String,
    email: String,
    new_password: String,
    confirm_password: String,
}

pub(super) async fn form(
    State(state): State<AppState>,
    Query(link): Query<Link>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let usable = state.accounts.link(&link.token).await? == Some(LinkPurpose::Setup);
    page(
        &state,
        &headers,
        "setup.html",
        usable,
        &SetupForm::default(),
        Vec::new(),
    )
}

pub(super) async fn submit(
    State(state): State<AppState>,
    _: SameOrigin,
    Query(link): Query<Link>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, PageError> {
    check_form_token(&headers, &form.csrf_token)?;
    let done = state
        .accounts
        .complete_setup(
            &link.token,
            &form.organisation,
            &form.email,
            &form.new_password,
            &form.confirm_password,
        )
        .await;
    match done {
        Ok((_, signed_in)) => Ok(signed_in_response(&state, &signed_in, "/")),
        Err(AccountError::LinkUnusable) => {
            page(&state, &headers, "setup.html", false, &form, Vec::new())
        }
        Err(AccountError::Store(e)) => Err(e.into()),
        Err(e) => page(
            &state,
            &headers,
            "setup.html",
            true,
            &form,
            vec![field_error(e)],
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordForm {
    csrf_token: String,
    new_password: String,
    confirm_password: String,
}

pub(super) async fn password_form(
    State(state): State<AppState>,
    Query(link): Query<Link>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let usable = matches!(
        state.accounts.link(&link.token).await?,
        Some(LinkPurpose::SetPassword(_))
    );
    page(
        &state,
        &headers,
        "set_password.html",
        usable,
        &SetupForm::default(),
        Vec::new(),
    )
}

pub(super) async fn password_submit(
    State(state): State<AppState>,
    _: SameOrigin,
    Query(link): Query<Link>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    check_form_token(&headers, &form.csrf_token)?;
    let done = state
        .accounts
        .set_password(&link.token, &form.new_password, &form.confirm_password)
        .await;
    let kept = SetupForm::default();
    match done {
        Ok(_) => Ok(Redirect::to("/sign-in").into_response()),
        Err(AccountError::LinkUnusable) => page(
            &state,
            &headers,
            "set_password.html",
            false,
            &kept,
            Vec::new(),
        ),
        Err(AccountError::Store(e)) => Err(e.into()),
        Err(e) => page(
            &state,
            &headers,
            "set_password.html",
            true,
            &kept,
            vec![field_error(e)],
        ),
    }
}

/// Which field an account error belongs beside.
fn field_error(e: AccountError) -> FieldError {
    let field = match &e {
        AccountError::Email(_) | AccountError::EmailTaken => "email",
        AccountError::OrgName(_) => "organisation",
        AccountError::Password(PasswordError::Mismatch) => "confirm_password",
        _ => "new_password",
    };
    FieldError::new(field, e)
}

fn page(
    state: &AppState,
    headers: &HeaderMap,
    template: &'static str,
    usable: bool,
    form: &SetupForm,
    errors: Vec<FieldError>,
) -> Result<Response, PageError> {
    let values = json!({
        "usable": usable,
        "errors": errors,
        "organisation": form.organisation,
        "email": form.email,
    });
    pre_sign_in_page(state, headers, template, values)
}
