//! Admin pages: staff accounts (invite, change role, disable: a disabled
//! or re-roled account's sessions end at once), API tokens (made with the
//! secret shown once, revoked), and the audit trail with filters. Admins
//! only; every change is on the audit trail.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::dates;
use super::error::PageError;
use super::render::Page;
use super::session::{SameOrigin, StaffAdmin};
use super::sign_in::{FieldError, detail};
use crate::accounts::{AccountError, MAX_TOKEN_LABEL};
use crate::domain::{Actor, AuditAction, AuditEntry, Role, TargetKind, TokenId, User, UserId};
use crate::http::AppState;
use crate::store::AuditFilter;

/// Audit entries per page.
const AUDIT_PAGE: u32 = 50;

fn page<'a>(
    staff: &'a StaffAdmin,
    template: &'static str,
    trail: &'a [(&'a str, &'a str)],
) -> Page<'a> {
    Page {
        template,
        nav: "admin",
        session: Some(&staff.0.session),
        trail,
    }
}

fn by(staff: &StaffAdmin) -> Actor {
    Actor::User {
        user_id: staff.0.session.user.id,
    }
}

pub(super) async fn users(
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
pub(super) struct InviteForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub(super) async fn invite_form(staff: StaffAdmin) -> Result<Html<String>, PageError> {
    render_invite(&staff, &InviteForm::default(), Vec::new(), None)
}

pub(super) async fn invite(
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

pub(super) async fn user(
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
pub(super) struct RoleForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: String,
}

pub(super) async fn set_role(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: StaffAdmin,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    staff.0.check_csrf(&form.csrf_token)?;
    let user = find_user(&state, &staff, &id).await?;
    let role = form
        .role
        .parse::<Role>()
        .map_err(|_| PageError::Forbidden)?;
    if user.id == staff.0.session.user.id {
        // An admin cannot lock themselves out of these pages.
        return Err(PageError::Forbidden);
    }
    state
        .accounts
        .set_role(user.org_id, user.id, role, by(&staff))
        .await?;
    Ok(Redirect::to(&format!("/admin/users/{}", user.id)).into_response())
}

#[derive(Deserialize)]
pub(super) struct TokenOnly {
    #[serde(default)]
    csrf_token: String,
}

pub(super) async fn disable(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: StaffAdmin,
    Path(id): Path<String>,
    Form(form): Form<TokenOnly>,
) -> Result<Response, PageError> {
    staff.0.check_csrf(&form.csrf_token)?;
    let user = find_user(&state, &staff, &id).await?;
    if user.id == staff.0.session.user.id {
        return Err(PageError::Forbidden);
    }
    state
        .accounts
        .disable(user.org_id, user.id, by(&staff))
        .await?;
    Ok(Redirect::to(&format!("/admin/users/{}", user.id)).into_response())
}

async fn find_user(state: &AppState, staff: &StaffAdmin, id: &str) -> Result<User, PageError> {
    let id: UserId = id.parse().map_err(|_| PageError::NotFound)?;
    let users = state.accounts.users(staff.0.session.user.org_id).await?;
    users
        .into_iter()
        .find(|u| u.id == id)
        .ok_or(PageError::NotFound)
}

#[derive(Deserialize, Default)]
pub(super) struct TokenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    role: String,
}

pub(super) async fn tokens(
    State(state): State<AppState>,
    staff: StaffAdmin,
) -> Result<Html<String>, PageError> {
    render_tokens(&state, &staff, &TokenForm::default(), Vec::new(), None).await
}

pub(super) async fn create_token(
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

pub(super) async fn revoke_token(
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

#[derive(Deserialize, Default)]
pub(super) struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    after: Option<String>,
}

pub(super) async fn audit(
    State(state): State<AppState>,
    staff: StaffAdmin,
    Query(query): Query<AuditQuery>,
) -> Result<Html<String>, PageError> {
    let zone = state.casework.zone();
    let mut errors = Vec::new();
    let mut day = |raw: &str, field: &'static str| match raw.trim() {
        "" => None,
        raw => dates::read_day(raw)
            .map_err(|e| errors.push(FieldError::new(field, e)))
            .ok(),
    };
    let (from, to) = (day(&query.from, "from"), day(&query.to, "to"));
    let start =
        |d: NaiveDate| crate::planner::timing::local_instant(zone, d, chrono::NaiveTime::MIN);
    let filter = AuditFilter {
        from: from.map(start),
        to: to.and_then(|d| d.succ_opt()).map(start),
        action: query.action.parse::<AuditAction>().ok(),
        target_kind: query.kind.parse::<TargetKind>().ok(),
        after: query.after.as_deref().and_then(|a| a.parse().ok()),
        limit: AUDIT_PAGE,
        ..AuditFilter::default()
    };
    let org = staff.0.session.user.org_id;
    let entries = state.store.audit_entries(org, &filter).await?;
    let emails: HashMap<UserId, String> = state
        .accounts
        .users(org)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email.as_str().to_owned()))
        .collect();
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| audit_row(e, &emails, zone))
        .collect();
    let next = (entries.len() == AUDIT_PAGE as usize)
        .then(|| entries.last().map(|e| next_page(&query, &e.id.to_string())))
        .flatten();
    let values = json!({
        "title": "Audit trail",
        "rows": rows, "errors": errors, "next": next,
        "action": query.action, "kind": query.kind, "from": query.from, "to": query.to,
        "actions": AuditAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "kinds": TargetKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
    });
    let trail = [("/", "Today"), ("", "Audit trail")];
    page(&staff, "audit.html", &trail).render(values)
}

fn next_page(query: &AuditQuery, after: &str) -> String {
    let pairs = [
        ("action", query.action.as_str()),
        ("kind", query.kind.as_str()),
        ("from", query.from.as_str()),
        ("to", query.to.as_str()),
        ("after", after),
    ];
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("/admin/audit?{query}")
}

fn audit_row(e: &AuditEntry, emails: &HashMap<UserId, String>, zone: chrono_tz::Tz) -> Value {
    let who = match e.actor {
        Actor::User { user_id } => emails
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| "A removed account".into()),
        Actor::Token { token_id } => format!("API token {token_id}"),
        Actor::Cli => "Command line".into(),
        Actor::System => "Homeward".into(),
    };
    let target = match e.target.person_id {
        Some(person) => {
            json!({ "text": e.target.kind.as_str(), "href": format!("/people/{person}") })
        }
        None => json!(e.target.kind.as_str()),
    };
    json!([
        dates::when(e.at, zone),
        who,
        e.action.as_str().replace('_', " "),
        target,
        e.detail.clone().unwrap_or_default()
    ])
}
