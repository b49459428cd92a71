//! Staff accounts: the list, inviting someone (the set-password link shown
//! once), one account's page with its role and "disable".

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{by, page};
use crate::accounts::AccountError;
use crate::domain::{Role, User, UserId};
use crate::http::AppState;
use crate::http::pages::dates;
use crate::http::pages::error::PageError;
use crate::http::pages::session::{SameOrigin, StaffAdmin};
use crate::http::pages::sign_in::{FieldError, detail};

pub(in crate::http::pages) async fn users(
    State(state): State<AppState>,
    staff: StaffAdmin,
) -> Result<Html<String>, PageError> {
    let zone = state.casework.zone();
    let users = state.accounts.users(staff.0.session.user.org_id).await?;
    let rows: Vec<Value> = users
        .iter()
        .map(|u| {
            json!([
                { "text": u.email.as_str(), "href": format!("/admin/users/{}", u.id) },
                role_words(u.role),
                dates::day_of(u.created_at, zone),
                status(u),
            ])
        })
        .collect();
    let trail = [("/", "Today"), ("", "Staff accounts")];
    page(&staff, "users.html", &trail).render(json!({ "rows": rows }))
}

fn status(u: &User) -> Value {
    match (u.disabled_at, &u.password_hash) {
        (Some(_), _) => json!({ "tag": "Disabled", "colour": "grey" }),
        (None, None) => json!({ "tag": "Invited", "colour": "yellow" }),
        (None, Some(_)) => json!({ "tag": "Active", "colour": "green" }),
    }
}

fn role_words(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin: also manages accounts and tokens",
        Role::Staff => "Staff",
    }
}

#[derive(Deserialize, Default)]
pub(in crate::http::pages) struct InviteForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub(in crate::http::pages) async fn invite_form(
    staff: StaffAdmin,
) -> Result<Html<String>, PageError> {
    render_invite(&staff, &InviteForm::default(), Vec::new(), None)
}

pub(in crate::http::pages) async fn invite(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: StaffAdmin,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    staff.0.check_csrf(&form.csrf_token)?;
    let Some(role) = form.role.parse::<Role>().ok() else {
        let errors = vec![FieldError::new("role-staff", "Choose what they may do")];
        return Ok(render_invite(&staff, &form, errors, None)?.into_response());
    };
    let org = staff.0.session.user.org_id;
    match state
        .accounts
        .invite(org, &form.email, role, by(&staff))
        .await
    {
        Ok((_, secret)) => {
            let link = format!(
                "{}/set-password?token={}",
                base_url(&state, &headers),
                secret.expose()
            );
            Ok(render_invite(&staff, &form, Vec::new(), Some(link))?.into_response())
        }
        Err(e @ (AccountError::Email(_) | AccountError::EmailTaken)) => {
            let errors = vec![FieldError::new("email", e)];
            Ok(render_invite(&staff, &form, errors, None)?.into_response())
        }
        Err(e) => Err(PageError::internal(e)),
    }
}

/// Where this site is, for a link sent by email: `server.public_base_url`,
/// or the address this request came to.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    state
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{host}"))
        .trim_end_matches('/')
        .to_owned()
}

fn render_invite(
    staff: &StaffAdmin,
    form: &InviteForm,
    errors: Vec<FieldError>,
    link: Option<String>,
) -> Result<Html<String>, PageError> {
    let trail = [
        ("/", "Today"),
        ("/admin/users", "Staff accounts"),
        ("", "Invite someone"),
    ];
    let values = json!({
        "title": "Invite someone", "email": form.email, "role": form.role, "errors": errors, "link": link,
    });
    page(staff, "user_invite.html", &trail).render(values)
}

pub(in crate::http::pages) async fn user(
    State(state): State<AppState>,
    staff: StaffAdmin,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let user = find_user(&state, &staff, &id).await?;
    let zone = state.casework.zone();
    let myself = user.id == staff.0.session.user.id;
    let values = json!({
        "id": user.id.to_string(),
        "email": user.email.as_str(),
        "role": user.role.as_str(),
        "myself": myself,
        "disabled": user.disabled_at.is_some(),
        "details": [
            detail("Email address", user.email.as_str()),
            detail("Role", role_words(user.role)),
            detail("Added", dates::day_of(user.created_at, zone)),
            detail("Status", status(&user)["tag"].as_str().unwrap_or("")),
        ],
    });
    let trail = [
        ("/", "Today"),
        ("/admin/users", "Staff accounts"),
        ("", user.email.as_str()),
    ];
    page(&staff, "user.html", &trail).render(values)
}

#[derive(Deserialize)]
pub(in crate::http::pages) struct RoleForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: String,
}

pub(in crate::http::pages) async fn set_role(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: StaffAdmin,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    staff.0.check_csrf(&form.csrf_token)?;
    let user = other_user(&state, &staff, &id).await?;
    let role = form
        .role
        .parse::<Role>()
        .map_err(|_| PageError::Forbidden)?;
    state
        .accounts
        .set_role(user.org_id, user.id, role, by(&staff))
        .await?;
    Ok(Redirect::to(&format!("/admin/users/{}", user.id)).into_response())
}

#[derive(Deserialize)]
pub(in crate::http::pages) struct TokenOnly {
    #[serde(default)]
    pub csrf_token: String,
}

pub(in crate::http::pages) async fn disable(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: StaffAdmin,
    Path(id): Path<String>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    staff.0.check_csrf(&form.csrf_token)?;
    let user = other_user(&state, &staff, &id).await?;
    state
        .accounts
        .disable(user.org_id, user.id, by(&staff))
        .await?;
    Ok(Redirect::to(&format!("/admin/users/{}", user.id)).into_response())
}

async fn find_user(state: &AppState, staff: &StaffAdmin, id: &str) -> Result<User, PageError> {
    let id: UserId = id.parse().map_err(|_| PageError::NotFound)?;
    let org = staff.0.session.user.org_id;
    state
        .accounts
        .user(org, id)
        .await?
        .ok_or(PageError::NotFound)
}

/// An account of the organisation other than the admin's own: an admin
/// cannot lock themselves out of these pages.
async fn other_user(state: &AppState, staff: &StaffAdmin, id: &str) -> Result<User, PageError> {
    let user = find_user(state, staff, id).await?;
    if user.id == staff.0.session.user.id {
        return Err(PageError::Forbidden);
    }
    Ok(user)
}
