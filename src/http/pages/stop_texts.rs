//! Stopping every text to a person's number (any staff member), and
//! allowing texts again (admins only), each with a reason: the pages for
//! `actions::stop_texts` and `actions::allow_texts`, as the API allows.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::about_person::{person_of, person_page};
use super::error::PageError;
use super::session::{SameOrigin, Staff, StaffAdmin};
use super::sign_in::FieldError;
use crate::actions::OptOutError;
use crate::domain::Person;
use crate::http::AppState;

/// Which of the two changes a page makes.
#[derive(Clone, Copy)]
enum Change {
    Stop,
    Allow,
}

impl Change {
    fn title(self, person: &Person) -> String {
        let name = person.first_name.as_str();
        match self {
            Self::Stop => format!("Stop all texts to {name}"),
            Self::Allow => format!("Allow texts to {name} again"),
        }
    }

    fn values(self) -> serde_json::Value {
        match self {
            Self::Stop => json!({
                "path": "stop-texts",
                "button": "Stop all texts",
                "explain": "No text of any kind will go to this number from now on, including texts already planned. The person can start them again by texting START, or an admin can allow them again here.",
                "hint": "For example: asked on the phone to have no more texts. Do not write anything about their offence or their health.",
            }),
            Self::Allow => json!({
                "path": "allow-texts",
                "button": "Allow texts again",
                "explain": "This person's number asked for no more texts, or staff stopped them. Only allow texts again if the person has asked for them. Texts already stopped stay stopped; new ones will be sent.",
                "hint": "For example: asked in person on 3 December to have texts again.",
            }),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ReasonForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn stop_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    render(&staff, &person, Change::Stop, "", Vec::new())
}

pub(super) async fn stop(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let person = person_of(&state, &staff, &id).await?;
    let caller = staff.session.caller();
    let done = state
        .actions
        .stop_texts(&caller, person.id, &form.reason)
        .await;
    answer(done, &staff, &person, Change::Stop, &form.reason)
}

pub(super) async fn allow_form(
    State(state): State<AppState>,
    StaffAdmin(staff): StaffAdmin,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    render(&staff, &person, Change::Allow, "", Vec::new())
}

pub(super) async fn allow(
    State(state): State<AppState>,
    _: SameOrigin,
    StaffAdmin(staff): StaffAdmin,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let person = person_of(&state, &staff, &id).await?;
    let caller = staff.session.caller();
    let done = state
        .actions
        .allow_texts(&caller, person.id, &form.reason)
        .await;
    answer(done, &staff, &person, Change::Allow, &form.reason)
}

/// On to the person's page, or the form again with what was wrong.
fn answer(
    done: Result<Person, OptOutError>,
    staff: &Staff,
    person: &Person,
    change: Change,
    reason: &str,
) -> Result<Response, PageError> {
    let error = match done {
        Ok(_) | Err(OptOutError::NotOptedOut) => {
            // Done, or done already by someone else: the person's page shows which.
            let to = format!("/people/{}", person.id);
            return Ok(Redirect::to(&to).into_response());
        }
        Err(OptOutError::Reason) => "Enter a reason, in 500 characters or fewer",
        Err(OptOutError::NoPerson) => return Err(PageError::NotFound),
        Err(OptOutError::NotAdmin) => return Err(PageError::Forbidden),
        Err(OptOutError::Store(e)) => return Err(e.into()),
    };
    let errors = vec![FieldError::new("reason", error)];
    Ok(render(staff, person, change, reason, errors)?.into_response())
}

fn render(
    staff: &Staff,
    person: &Person,
    change: Change,
    reason: &str,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    let href = format!("/people/{}", person.id);
    let title = change.title(person);
    let mut values = change.values();
    values["action"] = format!("{href}/{}", values["path"].as_str().unwrap_or("")).into();
    values["reason"] = reason.into();
    person_page(staff, person, ("stop_texts.html", &title), values, errors)
}
