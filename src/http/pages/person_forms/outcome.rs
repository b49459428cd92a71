//! An outcome the person reached, such as registering with a GP.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{change_then_show, render};
use crate::domain::Person;
use crate::http::AppState;
use crate::http::pages::about_person::person_of;
use crate::http::pages::error::PageError;
use crate::http::pages::session::{SameOrigin, Staff};
use crate::http::pages::sign_in::FieldError;
use crate::planner::PlanError;

#[derive(Deserialize, Default)]
pub(in crate::http::pages) struct OutcomeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    goal: String,
}

pub(in crate::http::pages) async fn outcome_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    render_outcome(&state, &staff, &person, "", Vec::new())
}

pub(in crate::http::pages) async fn outcome(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let person = person_of(&state, &staff, &id).await?;
    let caller = staff.session.caller();
    let change = state.actions.record_outcome(&caller, person.id, &form.goal);
    match change_then_show(&state, &person, "outcome", change).await {
        Ok(shown) => Ok(shown),
        Err(PlanError::Refused { .. }) => {
            let errors = vec![FieldError::new("goal", "Choose the outcome")];
            Ok(render_outcome(&state, &staff, &person, &form.goal, errors)?.into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn render_outcome(
    state: &AppState,
    staff: &Staff,
    person: &Person,
    goal: &str,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    let goals: Vec<Value> = state
        .ingest
        .planner()
        .goals()
        .map(|g| json!({ "value": g, "label": crate::http::pages::people::goal_words(g) }))
        .collect();
    let values =
        json!({ "goals": goals, "goal": goal, "action": format!("/people/{}/outcome", person.id) });
    render(
        staff,
        person,
        "outcome.html",
        "Record an outcome",
        values,
        errors,
    )
}
