//! Changing a person and their events from their page: their details, a
//! release or appointment moved or cancelled, a new appointment, an outcome
//! reached. Each change goes through the same use case as the API (and so
//! re-plans exactly as it does), then the person's page says what changed
//! in their texts. The redirect carries only counts, never personal data.

mod details;
mod events;
mod outcome;

pub(super) use details::{details, details_form};
pub(super) use events::{appointment, appointment_form, event, event_form};
pub(super) use outcome::{outcome, outcome_form};

use axum::extract::Query;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use serde_json::Value;

use super::about_person::person_page;
use super::dates;
use super::error::PageError;
use super::session::Staff;
use super::sign_in::FieldError;
use crate::actions::TextChanges;
use crate::domain::{Person, PersonId};
use crate::http::AppState;
use crate::ingest::IngestError;
use crate::ingest::input::FieldError as InputError;
use crate::store::StoreError;

/// What the person's page says after a change.
#[derive(Deserialize, Default)]
pub(in crate::http::pages) struct Saved {
    saved: Option<String>,
    #[serde(default)]
    planned: usize,
    #[serde(default)]
    moved: usize,
    #[serde(default)]
    cancelled: usize,
}

impl Saved {
    /// The confirmation for the person's page, if it follows a change.
    pub fn message(&self) -> Option<(&'static str, String)> {
        let title = match self.saved.as_deref()? {
            "details" => "Details saved",
            "event" => "Saved",
            "outcome" => "Outcome recorded",
            _ => return None,
        };
        let changes = TextChanges {
            planned: self.planned,
            moved: self.moved,
            cancelled: self.cancelled,
        };
        Some((title, changes.describe()))
    }
}

pub(in crate::http::pages) fn saved_query(Query(saved): Query<Saved>) -> Saved {
    saved
}

/// Make `change` to `person`'s case, then go back to their page saying what
/// it did to their texts (`what` names the change there). The change's own
/// error is returned for the form to show.
async fn change_then_show<T, E: From<StoreError>>(
    state: &AppState,
    person: &Person,
    what: &str,
    change: impl Future<Output = Result<T, E>>,
) -> Result<Response, E> {
    let actions = &state.actions;
    let (_, changes) = actions
        .tracking_texts(person.org_id, person.id, change)
        .await?;
    Ok(saved(person.id, what, changes))
}

fn saved(person: PersonId, what: &str, c: TextChanges) -> Response {
    let to = format!(
        "/people/{person}?saved={what}&planned={}&moved={}&cancelled={}",
        c.planned, c.moved, c.cancelled
    );
    Redirect::to(&to).into_response()
}

fn read_date(raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    dates::read_day(raw)
        .map_err(|e| errors.push(FieldError::new("date", e)))
        .ok()
}

fn read_time(raw: &str, errors: &mut Vec<FieldError>) -> Option<NaiveTime> {
    dates::read_time(raw)
        .map_err(|e| errors.push(FieldError::new("time", e)))
        .ok()
}

/// The use case's field errors, beside the page's fields.
fn field_errors(errors: Vec<InputError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            let field = match e.field.as_str() {
                "first_name" => "first_name",
                "mobile" => "mobile",
                "language" => "language",
                "place" => "place",
                "starts_at" => "time",
                _ => "date",
            };
            let label = field.replace('_', " ");
            FieldError::new(field, format!("The {label} {}", e.reason))
        })
        .collect()
}

fn ingest_error(e: IngestError) -> PageError {
    match e {
        IngestError::NotFound(_) => PageError::NotFound,
        other => PageError::internal(other),
    }
}

fn render(
    staff: &Staff,
    person: &Person,
    template: &'static str,
    title: &str,
    values: Value,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    person_page(staff, person, (template, title), values, errors)
}
