//! API tokens: made with the secret shown once, revoked.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::users::TokenOnly;
use super::{by, page};
use crate::accounts::MAX_TOKEN_LABEL;
use crate::domain::{Role, TokenId};
use crate::http::AppState;
use crate::http::pages::dates;
use crate::http::pages::error::PageError;
use crate::http::pages::session::{SameOrigin, StaffAdmin};
use crate::http::pages::sign_in::FieldError;

#[derive(Deserialize, Default)]
pub(in crate::http::pages) struct TokenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    role: String,
}

pub(in crate::http::pages) async fn tokens(
    State(state): State<AppState>,
    staff: StaffAdmin,
) -> Result<Html<String>, PageError> {
    render_tokens(&state, &staff, &TokenForm::default(), Vec::new(), None).await
}

pub(in crate::http::pages) async fn create_token(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: StaffAdmin,
    Form(form): Form<TokenForm>,
) -> Result<Html<String>, PageError> {
    staff.0.check_csrf(&form.csrf_token)?;
    let mut errors = Vec::new();
    let label = form.label.trim();
    if label.is_empty() || label.chars().count() > MAX_TOKEN_LABEL {
        errors.push(FieldError::new(
            "label",
            format!("Enter what the token is for, in {MAX_TOKEN_LABEL} characters or fewer"),
        ));
    }
    let role = form.role.parse::<Role>().ok();
    if role.is_none() {
        errors.push(FieldError::new(
            "role-staff",
            "Choose what the token may do",
        ));
    }
    let (Some(role), true) = (role, errors.is_empty()) else {
        return render_tokens(&state, &staff, &form, errors, None).await;
    };
    let org = staff.0.session.user.org_id;
    let made = state
        .accounts
        .create_token(org, role, Some(label.to_owned()), by(&staff))
        .await?;
    render_tokens(
        &state,
        &staff,
        &TokenForm::default(),
        Vec::new(),
        Some(made),
    )
    .await
}

pub(in crate::http::pages) async fn revoke_token(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: StaffAdmin,
    Path(id): Path<String>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    staff.0.check_csrf(&form.csrf_token)?;
    let id: TokenId = id.parse().map_err(|_| PageError::NotFound)?;
    let org = staff.0.session.user.org_id;
    match state.accounts.revoke_token(org, id, by(&staff)).await? {
        None => Err(PageError::NotFound),
        Some(_) => Ok(Redirect::to("/admin/tokens").into_response()),
    }
}

async fn render_tokens(
    state: &AppState,
    staff: &StaffAdmin,
    form: &TokenForm,
    errors: Vec<FieldError>,
    made: Option<(TokenId, crate::domain::TokenSecret)>,
) -> Result<Html<String>, PageError> {
    let zone = state.casework.zone();
    let tokens = state.accounts.tokens(staff.0.session.user.org_id).await?;
    let rows: Vec<Value> = tokens
        .iter()
        .map(|t| {
            json!({
                "id": t.id.to_string(),
                "label": t.label.clone().unwrap_or_else(|| "No label".into()),
                "role": t.role.as_str(),
                "made": dates::day_of(t.created_at, zone),
                "used": t.last_used_at.map_or_else(|| "Never".to_owned(), |at| dates::day_of(at, zone)),
                "revoked": t.revoked_at.map(|at| dates::day_of(at, zone)),
            })
        })
        .collect();
    let values = json!({
        "title": "API tokens",
        "tokens": rows, "label": form.label, "role": form.role, "errors": errors,
        "secret": made.as_ref().map(|(_, s)| s.expose().to_owned()),
    });
    let trail = [("/", "Today"), ("", "API tokens")];
    page(staff, "tokens.html", &trail).render(values)
}
