//! `/v1/people/{id}/outcomes` and `/v1/people/{id}/nudges`: staff record a
//! goal reached (which stops the nudges serving it) or schedule a one-off text.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::path_id;
use crate::domain::{Caller, Message, MessageBody, PersonId, PlainText, TemplateName};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson, ErrorBody};
use crate::ingest::input::{FieldError, parse_instant};
use crate::planner::{NudgeRequest, NudgeText};
use crate::templates::Variables;

/// A goal the person reached.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// The goal, as campaign rules (or `planner.extra_goals`) name it (e.g.
    /// `gp_registered`); any other is refused, listing the known ones.
    #[schema(value_type = TemplateName, example = "gp_registered")]
    goal: String,
}

/// A recorded goal and the texts it stopped.
#[derive(Serialize, ToSchema)]
pub struct OutcomeRecorded {
    goal: TemplateName,
    /// Waiting texts serving this goal that were cancelled.
    cancelled: usize,
}

/// Record a goal a person reached: waiting texts serving it are cancelled.
#[utoipa::path(
    post,
    path = "/people/{id}/outcomes",
    operation_id = "record_outcome",
    tag = "planning",
    params(("id" = PersonId, Path, description = "The person's id")),
    request_body = OutcomeInput,
    responses(
        (status = 200, description = "Recorded", body = OutcomeRecorded),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
        (status = 422, description = "The goal is not one the campaign rules or planner.extra_goals name", body = ErrorBody),
    )
)]
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
        .actions
        .record_outcome(&caller, person, goal.as_str())
        .await?;
    Ok(Json(OutcomeRecorded {
        goal,
        cancelled: report.cancelled,
    }))
}

/// A one-off text from staff: a template, or a message typed by staff.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"template": "week_checkin", "send_at": "2026-12-03T10:00:00Z"}))]
pub struct NudgeInput {
    /// The template to send (one in the person's language, or English).
    /// Templates Homeward sends itself (`optout_confirmation`,
    /// `optin_confirmation`, `help_reply`) are refused. Give this or `body`.
    #[schema(value_type = Option<TemplateName>, example = "week_checkin")]
    template: Option<String>,
    /// A message typed by staff instead of a template, checked like one: a
    /// disclosing word or a reference number is refused and named, links
    /// follow `templates.allow_links`, at most 3 segments.
    body: Option<String>,
    /// Send a typed `body` of 2 or 3 segments; without it such a text is
    /// refused, naming its segments.
    #[serde(default)]
    confirm_segments: bool,
    /// When to send it: RFC 3339 with an offset. It still waits for the
    /// sending window, caps and gaps.
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    send_at: String,
    /// Values for the template's own variables: plain text, as for a place
    /// (no emoji, control or direction characters, no leading = + - @; at
    /// most 200 characters).
    #[serde(default)]
    #[schema(inline)]
    variables: Variables,
    /// How long after `send_at` it is still worth sending (default 24).
    #[schema(minimum = 1, maximum = 168)]
    expires_after_hours: Option<i64>,
    /// 1 (most important) to 9 (default 5), when a daily cap forces a choice.
    #[schema(minimum = 1, maximum = 9)]
    priority: Option<u8>,
}

impl NudgeInput {
    fn parse(self, person: crate::domain::PersonId) -> Result<NudgeRequest, ApiError> {
        let mut errors = Vec::new();
        let text = self.text(&mut errors);
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
        match (text, send_at) {
            (Some(text), Some(send_at)) if errors.is_empty() => Ok(NudgeRequest {
                person,
                text,
                send_at,
                expires_after: Duration::hours(hours),
                priority,
                key: None,
            }),
            _ => Err(ApiError::Invalid(errors)),
        }
    }

    /// The template with its values, or the typed body: exactly one.
    fn text(&self, errors: &mut Vec<FieldError>) -> Option<NudgeText> {
        match (&self.template, &self.body) {
            (Some(template), None) => {
                let name = TemplateName::parse(template)
                    .map_err(|e| errors.push(FieldError::new("template", Some(template), e)))
                    .ok();
                let variables = plain_variables(&self.variables, errors);
                name.map(|name| NudgeText::Template { name, variables })
            }
            (None, Some(body)) if self.variables.is_empty() => Some(NudgeText::Typed {
                body: MessageBody::new(body.clone()),
                confirmed: self.confirm_segments,
            }),
            (None, Some(_)) => {
                errors.push(FieldError::new(
                    "variables",
                    None,
                    "are for templates; a typed body has none",
                ));
                None
            }
            _ => {
                errors.push(FieldError::new(
                    "template",
                    None,
                    "or body is required, but not both",
                ));
                None
            }
        }
    }
}

/// Each value checked like every text that reaches a message; a refusal
/// names the variable, never the value.
fn plain_variables(
    variables: &Variables,
    errors: &mut Vec<FieldError>,
) -> std::collections::BTreeMap<String, PlainText> {
    let mut checked = std::collections::BTreeMap::new();
    for (name, value) in variables {
        match PlainText::parse(value, PlainText::MAX) {
            Ok(text) => {
                checked.insert(name.clone(), text);
            }
            Err(e) => errors.push(FieldError::new(&format!("variables.{name}"), None, e)),
        }
    }
    checked
}

/// Plan a one-off text to a person.
#[utoipa::path(
    post,
    path = "/people/{id}/nudges",
    operation_id = "nudge",
    tag = "planning",
    params(("id" = PersonId, Path, description = "The person's id")),
    request_body = NudgeInput,
    responses(
        (status = 201, description = "The text, planned and rendered", body = Message),
        (status = 404, description = "No such person in this organisation", body = ErrorBody),
        (status = 422, description = "A field is invalid (a template Homeward sends itself, a variable that is not plain text, a typed body that is refused: the word or problem named), or the template cannot be rendered for this person", body = ErrorBody),
    )
)]
pub async fn nudge(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NudgeInput>,
) -> Result<impl IntoResponse, ApiError> {
    let request = input.parse(path_id(&id, "person")?)?;
    let message = state.actions.nudge(&caller, request).await?.message;
    Ok((StatusCode::CREATED, Json(message)))
}
