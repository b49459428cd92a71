//! `/v1/people/{id}/outcomes` and `/v1/people/{id}/nudges`: staff record a
//! goal reached (which stops the nudges serving it) or schedule a one-off text.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::path_id;
use crate::domain::{Caller, TemplateName};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson};
use crate::ingest::input::{FieldError, parse_instant};
use crate::planner::NudgeRequest;
use crate::templates::Variables;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    goal: String,
}

pub async fn record_outcome(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> Result<impl IntoResponse, ApiError> {
    let person = path_id(&id, "person")?;
    let goal = TemplateName::parse(&input.goal)
        .map_err(|e| ApiError::Invalid(vec![FieldError::new("goal", Some(&input.goal), e)]))?;
    let report = state
        .ingest
        .planner()
        .record_outcome(caller.org_id, person, goal.as_str())
        .await?;
    Ok(Json(
        json!({ "goal": goal.as_str(), "cancelled": report.cancelled }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NudgeInput {
    template: String,
    send_at: String,
    #[serde(default)]
    variables: Variables,
    expires_after_hours: Option<i64>,
    priority: Option<u8>,
}

impl NudgeInput {
    fn parse(self, person: crate::domain::PersonId) -> Result<NudgeRequest, ApiError> {
        let mut errors = Vec::new();
        let template = TemplateName::parse(&self.template)
            .map_err(|e| errors.push(FieldError::new("template", Some(&self.template), e)))
            .ok();
        let send_at = parse_instant(&self.send_at)
            .map_err(|e| errors.push(FieldError::new("send_at", Some(&self.send_at), e)))
            .ok();
        let hours = self.expires_after_hours.unwrap_or(24);
        if !(1..=168).contains(&hours) {
            errors.push(FieldError::new(
                "expires_after_hours",
                Some(&hours.to_string()),
                "must be 1 to 168",
            ));
        }
        let priority = self.priority.unwrap_or(5);
        if !(1..=9).contains(&priority) {
            errors.push(FieldError::new(
                "priority",
                Some(&priority.to_string()),
                "must be 1 to 9",
            ));
        }
        match (template, send_at) {
            (Some(template), Some(send_at)) if errors.is_empty() => Ok(NudgeRequest {
                person,
                template,
                variables: self.variables,
                send_at,
                expires_after: Duration::hours(hours),
                priority,
            }),
            _ => Err(ApiError::Invalid(errors)),
        }
    }
}

pub async fn nudge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NudgeInput>,
) -> Result<impl IntoResponse, ApiError> {
    let request = input.parse(path_id(&id, "person")?)?;
    let message = state.ingest.planner().nudge(caller.org_id, request).await?;
    Ok((StatusCode::CREATED, Json(message)))
}
