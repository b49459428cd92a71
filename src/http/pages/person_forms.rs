//! Changing a person and their events from their page: their details, a
//! release or appointment moved or cancelled, a new appointment, an outcome
//! reached. Each change goes through the same use case as the API (and so
//! re-plans exactly as it does), then the person's page says what changed
//! in their texts. The redirect carries only counts, never personal data.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use serde_json::{Value, json};

use super::about_person::{person_of, person_page};
use super::dates;
use super::error::PageError;
use super::session::{SameOrigin, Staff};
use super::sign_in::FieldError;
use crate::actions::TextChanges;
use crate::domain::{
    AppointmentKind, Event, EventDetail, EventId, EventRef, NewEvent, Person, PersonId,
};
use crate::http::AppState;
use crate::ingest::IngestError;
use crate::ingest::input::{EventPatch, FieldError as InputError, PersonPatch};
use crate::planner::PlanError;

/// What the person's page says after a change.
#[derive(Deserialize, Default)]
pub(super) struct Saved {
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

pub(super) fn saved_query(Query(saved): Query<Saved>) -> Saved {
    saved
}

fn saved(person: PersonId, what: &str, c: TextChanges) -> Response {
    let to = format!(
        "/people/{person}?saved={what}&planned={}&moved={}&cancelled={}",
        c.planned, c.moved, c.cancelled
    );
    Redirect::to(&to).into_response()
}

#[derive(Deserialize, Default)]
pub(super) struct DetailsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    language: String,
}

pub(super) async fn details_form(
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

pub(super) async fn details(
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
    match state
        .actions
        .change_person(&caller, person.id, &patch)
        .await
    {
        Ok((_, changes)) => Ok(saved(person.id, "details", changes)),
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

#[derive(Deserialize, Default)]
pub(super) struct EventForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    appointment_type: String,
    /// "save" or "cancel".
    #[serde(default)]
    action: String,
}

pub(super) async fn event_form(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, event)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    let (person, event) = person_and_event(&state, &staff, &id, &event).await?;
    let zone = state.casework.zone();
    let form = match &event.detail {
        EventDetail::Liberation { date, .. } => EventForm {
            date: dates::typed_day(*date),
            ..EventForm::default()
        },
        EventDetail::Appointment {
            starts_at, place, ..
        } => {
            let local = starts_at.with_timezone(&zone);
            EventForm {
                date: dates::typed_day(local.date_naive()),
                time: local.format("%H:%M").to_string(),
                place: place
                    .as_ref()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                ..EventForm::default()
            }
        }
    };
    render_event(&staff, &person, &event, &form, Vec::new())
}

pub(super) async fn event(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path((id, event)): Path<(String, String)>,
    Form(form): Form<EventForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let (person, event) = person_and_event(&state, &staff, &id, &event).await?;
    let patch = match event_patch(&state, &event.detail, &form) {
        Ok(patch) => patch,
        Err(errors) => {
            return Ok(render_event(&staff, &person, &event, &form, errors)?.into_response());
        }
    };
    let caller = staff.session.caller();
    match state
        .actions
        .change_event(&caller, person.id, event.id, &patch)
        .await
    {
        Ok((_, changes)) => Ok(saved(person.id, "event", changes)),
        Err(IngestError::Invalid(errors)) => {
            Ok(render_event(&staff, &person, &event, &form, field_errors(errors))?.into_response())
        }
        Err(e) => Err(ingest_error(e)),
    }
}

/// The change the form asks for: cancel, or a new date (and time and place).
fn event_patch(
    state: &AppState,
    detail: &EventDetail,
    form: &EventForm,
) -> Result<EventPatch, Vec<FieldError>> {
    if form.action == "cancel" {
        return Ok(EventPatch {
            status: Some("cancelled".into()),
            ..EventPatch::default()
        });
    }
    let mut errors = Vec::new();
    let date = read_date(&form.date, &mut errors);
    match detail {
        EventDetail::Liberation { .. } => {
            let date = date.ok_or(errors)?;
            Ok(EventPatch {
                date: Some(date.to_string()),
                ..EventPatch::default()
            })
        }
        EventDetail::Appointment { .. } => {
            let time = read_time(&form.time, &mut errors);
            let (Some(date), Some(time)) = (date, time) else {
                return Err(errors);
            };
            let starts_at =
                crate::planner::timing::local_instant(state.casework.zone(), date, time);
            Ok(EventPatch {
                starts_at: Some(starts_at.to_rfc3339()),
                place: Some(form.place.trim().to_owned()).filter(|p| !p.is_empty()),
                ..EventPatch::default()
            })
        }
    }
}

fn render_event(
    staff: &Staff,
    person: &Person,
    event: &Event,
    form: &EventForm,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    let (title, appointment) = match &event.detail {
        EventDetail::Liberation { .. } => ("Move or cancel the release".to_owned(), false),
        EventDetail::Appointment {
            appointment_type, ..
        } => (
            format!(
                "Move or cancel the {} appointment",
                appointment_type.as_str().replace('_', " ")
            ),
            true,
        ),
    };
    let values = json!({
        "appointment": appointment, "cancelled": event.detail.is_cancelled(),
        "date": form.date, "time": form.time, "place": form.place,
        "action": format!("/people/{}/events/{}", person.id, event.id),
    });
    render(staff, person, "event.html", &title, values, errors)
}

pub(super) async fn appointment_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    render_appointment(&staff, &person, &EventForm::default(), Vec::new())
}

pub(super) async fn appointment(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<EventForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let person = person_of(&state, &staff, &id).await?;
    let mut errors = Vec::new();
    let kind = form.appointment_type.parse::<AppointmentKind>().ok();
    if kind.is_none() {
        errors.push(FieldError::new(
            "appointment_type",
            "Choose what the appointment is for",
        ));
    }
    let date = read_date(&form.date, &mut errors);
    let time = read_time(&form.time, &mut errors);
    let place = match form.place.trim() {
        "" => None,
        p => crate::domain::Place::parse(p)
            .map_err(|e| errors.push(FieldError::new("place", format!("The place {e}"))))
            .ok(),
    };
    let (Some(kind), Some(date), Some(time), true) = (kind, date, time, errors.is_empty()) else {
        return Ok(render_appointment(&staff, &person, &form, errors)?.into_response());
    };
    let starts_at = crate::planner::timing::local_instant(state.casework.zone(), date, time);
    let reference = format!("appointment-{}", starts_at.format("%Y%m%d-%H%M"));
    let event = NewEvent {
        event_ref: EventRef::parse(&reference).map_err(PageError::internal)?,
        detail: EventDetail::Appointment {
            starts_at,
            place,
            appointment_type: kind,
            status: crate::domain::AppointmentStatus::Scheduled,
        },
    };
    let caller = staff.session.caller();
    match state.actions.add_event(&caller, person.id, &event).await {
        Ok((_, _, changes)) => Ok(saved(person.id, "event", changes)),
        Err(IngestError::Invalid(errors)) => {
            Ok(render_appointment(&staff, &person, &form, field_errors(errors))?.into_response())
        }
        Err(e) => Err(ingest_error(e)),
    }
}

fn render_appointment(
    staff: &Staff,
    person: &Person,
    form: &EventForm,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    let kinds: Vec<Value> = AppointmentKind::ALL
        .iter()
        .map(|k| json!({ "value": k.as_str(), "label": super::labels::appointment(*k) }))
        .collect();
    let values = json!({
        "kinds": kinds, "kind": form.appointment_type, "date": form.date, "time": form.time,
        "place": form.place, "action": format!("/people/{}/appointments", person.id),
    });
    render(
        staff,
        person,
        "appointment.html",
        "Add an appointment",
        values,
        errors,
    )
}

#[derive(Deserialize, Default)]
pub(super) struct OutcomeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    goal: String,
}

pub(super) async fn outcome_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    render_outcome(&state, &staff, &person, "", Vec::new())
}

pub(super) async fn outcome(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let person = person_of(&state, &staff, &id).await?;
    let caller = staff.session.caller();
    match state
        .actions
        .record_outcome(&caller, person.id, &form.goal)
        .await
    {
        Ok((_, changes)) => Ok(saved(person.id, "outcome", changes)),
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
        .map(|g| json!({ "value": g, "label": super::people::goal_words(g) }))
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

async fn person_and_event(
    state: &AppState,
    staff: &Staff,
    id: &str,
    event: &str,
) -> Result<(Person, Event), PageError> {
    let person = person_of(state, staff, id).await?;
    let event: EventId = event.parse().map_err(|_| PageError::NotFound)?;
    let found = state
        .casework
        .event(staff.session.user.org_id, person.id, event)
        .await?;
    Ok((person, found.ok_or(PageError::NotFound)?))
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
