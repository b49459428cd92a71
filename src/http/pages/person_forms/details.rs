//! A person's details: first name, mobile (a new number lifts a pause) and
//! the language of their texts.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{change_then_show, field_errors, ingest_error, render};
use crate::domain::Person;
use crate::http::AppState;
use crate::http::pages::about_person::person_of;
use crate::http::pages::error::PageError;
use crate::http::pages::session::{SameOrigin, Staff};
use crate::http::pages::sign_in::FieldError;
use crate::ingest::IngestError;
use crate::ingest::input::PersonPatch;

#[derive(Deserialize, Default)]
pub(in crate::http::pages) struct DetailsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    language: String,
}

pub(in crate::http::pages) async fn details_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    let form = DetailsForm {
        first_name: person.first_name.as_str().to_owned(),
        mobile: person.mobile.as_e164().to_owned(),
        language: person.language.as_str().to_owned(),
        ..DetailsForm::default()
    };
    render_details(&staff, &person, &form, Vec::new())
}

pub(in crate::http::pages) async fn details(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<DetailsForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let person = person_of(&state, &staff, &id).await?;
    let patch = PersonPatch {
        first_name: Some(form.first_name.clone()),
        mobile: Some(form.mobile.clone()),
        language: Some(form.language.clone()),
    };
    let caller = staff.session.caller();
    let change = state.actions.change_person(&caller, person.id, &patch);
    match change_then_show(&state, &person, "details", change).await {
        Ok(shown) => Ok(shown),
        Err(IngestError::Invalid(errors)) => {
            Ok(render_details(&staff, &person, &form, field_errors(errors))?.into_response())
        }
        Err(e) => Err(ingest_error(e)),
    }
}

fn render_details(
    staff: &Staff,
    person: &Person,
    form: &DetailsForm,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    let values = json!({
        "first_name": form.first_name, "mobile": form.mobile, "language": form.language,
    });
    render(
        staff,
        person,
        "person_details.html",
        "Change details",
        values,
        errors,
    )
}
