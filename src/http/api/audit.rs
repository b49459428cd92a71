//! `GET /v1/audit`: who changed what in this organisation, and when, for
//! its admins. Oldest first, a page at a time: pass `next_after` back as
//! `after`.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{AuditEntry, AuditId};
use crate::http::error::{ApiError, ApiQuery, ErrorBody};
use crate::http::{Admin, AppState};
use crate::ingest::input::parse_instant;
use crate::store::AuditFilter;

const MAX_PAGE: u32 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries at or after this instant (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    from: Option<String>,
    /// Entries before this instant (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    to: Option<String>,
    /// Only this action.
    #[param(value_type = Option<crate::domain::AuditAction>)]
    action: Option<String>,
    /// Only this kind of target.
    #[param(value_type = Option<crate::domain::TargetKind>)]
    target_kind: Option<String>,
    /// Only this target id.
    target_id: Option<String>,
    /// Everything done to this person's data.
    #[param(value_type = Option<crate::domain::PersonId>)]
    person: Option<String>,
    /// The previous page's `next_after`.
    #[param(value_type = Option<AuditId>)]
    after: Option<String>,
    /// Entries per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    next_after: Option<AuditId>,
}

impl AuditQuery {
    fn filter(self) -> Result<AuditFilter, ApiError> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(bad(
                "limit",
                format!("{limit} must be between 1 and {MAX_PAGE}"),
            ));
        }
        let instant = |field: &str, v: Option<String>| {
            v.map(|v| parse_instant(&v).map_err(|e| bad(field, format!("{v:?} {e}"))))
                .transpose()
        };
        Ok(AuditFilter {
            from: instant("from", self.from)?,
            to: instant("to", self.to)?,
            action: parse(self.action, "action")?,
            target_kind: parse(self.target_kind, "target_kind")?,
            target_id: self.target_id,
            person: parse(self.person, "person")?,
            after: parse(self.after, "after")?,
            limit,
        })
    }
}

fn bad(field: &str, reason: String) -> ApiError {
    ApiError::BadRequest(format!("{field} {reason}"))
}

fn parse<T>(value: Option<String>, field: &str) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value
        .map(|v| v.parse().map_err(|e| bad(field, format!("{v:?}: {e}"))))
        .transpose()
}

/// Who created, changed, exported or deleted what, and when (admin).
#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "list_audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries, oldest first", body = AuditPage),
        (status = 400, description = "A query parameter is invalid", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = query.filter()?;
    let entries = state.store.audit_entries(caller.org_id, &filter).await?;
    let next_after = (entries.len() == filter.limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_after,
    }))
}
