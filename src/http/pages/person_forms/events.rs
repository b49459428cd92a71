//! A release or appointment moved or cancelled, and a new appointment.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{change_then_show, field_errors, ingest_error, render};
use super::{read_date, read_time};
use crate::domain::{AppointmentKind, Event, EventDetail, EventId, EventRef, NewEvent, Person};
use crate::http::AppState;
use crate::http::pages::about_person::person_of;
use crate::http::pages::dates;
use crate::http::pages::error::PageError;
use crate::http::pages::session::{SameOrigin, Staff};
use crate::http::pages::sign_in::FieldError;
use crate::ingest::IngestError;
use crate::ingest::input::EventPatch;

#[derive(Deserialize, Default)]
pub(in crate::http::pages) struct EventForm {
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

pub(in crate::http::pages) async fn event_form(
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

pub(in crate::http::pages) async fn event(
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
    let change = state
        .actions
        .change_event(&caller, person.id, event.id, &patch);
    match change_then_show(&state, &person, "event", change).await {
        Ok(shown) => Ok(shown),
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

pub(in crate::http::pages) async fn appointment_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    render_appointment(&staff, &person, &EventForm::default(), Vec::new())
}

pub(in crate::http::pages) async fn appointment(
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
    let change = state.actions.add_event(&caller, person.id, &event);
    match change_then_show(&state, &person, "event", change).await {
        Ok(shown) => Ok(shown),
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
        .map(|k| json!({ "value": k.as_str(), "label": crate::http::pages::labels::appointment(*k) }))
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
