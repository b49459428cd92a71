//! The audit trail, filtered by what was done, to what and when.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page;
use crate::domain::{Actor, AuditAction, AuditEntry, TargetKind, UserId};
use crate::http::AppState;
use crate::http::pages::dates;
use crate::http::pages::error::PageError;
use crate::http::pages::session::StaffAdmin;
use crate::http::pages::sign_in::FieldError;
use crate::store::AuditFilter;

/// Audit entries per page.
const AUDIT_PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub(in crate::http::pages) struct AuditQuery {
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

pub(in crate::http::pages) async fn audit(
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
