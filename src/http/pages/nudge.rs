//! Scheduling a one-off text to a person: write a message or choose a
//! template, choose when, see it exactly as it will be sent (encoding,
//! segments, reading ease and any problem), then schedule it. The preview
//! and the scheduling run the same checks as the API's nudges; a typed
//! message is checked like a template.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::about_person::{person_of, person_page};
use super::dates;
use super::error::PageError;
use super::session::{SameOrigin, Staff};
use super::sign_in::{FieldError, detail};
use crate::domain::{MessageBody, Person, Secret, TemplateName};
use crate::http::AppState;
use crate::planner::{NudgeRequest, NudgeText, PlanError};
use crate::templates::{TemplateCatalogue, TypedCheck, TypedProblem};

/// How long a nudge stays worth sending after its time.
const NUDGE_LIFETIME: Duration = Duration::hours(24);
/// Staff nudges rank with ordinary reminders when a day is full.
const NUDGE_PRIORITY: u8 = 5;

#[derive(Deserialize, Default)]
pub(super) struct NudgeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    form_key: String,
    /// "write" or "template".
    #[serde(default)]
    what: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    confirm: Option<String>,
    /// "preview" or "schedule".
    #[serde(default)]
    action: String,
}

pub(super) async fn form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let person = person_of(&state, &staff, &id).await?;
    let form = NudgeForm {
        form_key: Secret::generate().expose().to_owned(),
        what: "write".into(),
        ..NudgeForm::default()
    };
    render(&state, &staff, &person, &form, Drawn::default())
}

pub(super) async fn submit(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<NudgeForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let person = person_of(&state, &staff, &id).await?;
    let (text, send_at, mut errors) = read(&state, &form);
    let (Some(text), Some(send_at)) = (text, send_at) else {
        return page(&state, &staff, &person, &form, Drawn::errors(errors));
    };
    let planner = state.ingest.planner();
    let preview = match planner.preview_nudge(&person, &text) {
        Ok(preview) => preview,
        Err(e) => {
            errors.push(plan_error(e)?);
            return page(&state, &staff, &person, &form, Drawn::errors(errors));
        }
    };
    if form.action != "schedule" || !preview.refusals.is_empty() {
        return page(
            &state,
            &staff,
            &person,
            &form,
            Drawn {
                errors,
                preview: Some(preview),
            },
        );
    }
    let request = NudgeRequest {
        person: person.id,
        text,
        send_at,
        expires_after: NUDGE_LIFETIME,
        priority: NUDGE_PRIORITY,
        key: Some(form.form_key.clone()).filter(|k| !k.is_empty() && k.len() <= 100),
    };
    match state.actions.nudge(&staff.session.caller(), request).await {
        Ok(planned) => Ok(Redirect::to(&format!("/texts/{}", planned.message.id)).into_response()),
        Err(e) => {
            errors.push(plan_error(e)?);
            page(
                &state,
                &staff,
                &person,
                &form,
                Drawn {
                    errors,
                    preview: Some(preview),
                },
            )
        }
    }
}

/// The text and the time the form asks for, or what is wrong with them.
fn read(
    state: &AppState,
    form: &NudgeForm,
) -> (Option<NudgeText>, Option<DateTime<Utc>>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let text = match form.what.as_str() {
        "write" => Some(NudgeText::Typed {
            body: MessageBody::new(form.body.clone()),
            confirmed: form.confirm.is_some(),
        }),
        "template" => match TemplateName::parse(&form.template) {
            Ok(name) => Some(NudgeText::Template {
                name,
                variables: Default::default(),
            }),
            Err(_) => {
                errors.push(FieldError::new("template", "Choose a template"));
                None
            }
        },
        _ => {
            errors.push(FieldError::new(
                "what-write",
                "Choose whether to write a message or use a template",
            ));
            None
        }
    };
    let send_at = when(state, form, &mut errors);
    (text, send_at, errors)
}

/// The date and time, read in the service's time zone.
fn when(state: &AppState, form: &NudgeForm, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let date = dates::read_day(&form.date);
    let time = dates::read_time(&form.time);
    let date = date
        .map_err(|e| errors.push(FieldError::new("date", e)))
        .ok()?;
    let time = time
        .map_err(|e| errors.push(FieldError::new("time", e)))
        .ok()?;
    let zone = state.casework.zone();
    Some(crate::planner::timing::local_instant(zone, date, time))
}

/// A refusal from planning, beside the field it is about.
fn plan_error(e: PlanError) -> Result<FieldError, PageError> {
    Ok(match e {
        PlanError::Invalid(why) if why.starts_with("send_at is in the past") => {
            FieldError::new("date", "The date and time must be in the future")
        }
        PlanError::Invalid(why) if why.starts_with("send_at") => FieldError::new(
            "date",
            format!("The date {}", why.trim_start_matches("send_at ")),
        ),
        PlanError::Refused { reason, .. } => {
            FieldError::new("template", format!("That template {reason}"))
        }
        PlanError::Template(_) => FieldError::new(
            "template",
            "That template needs details this person does not have (such as an appointment); choose another",
        ),
        PlanError::TextRefused(problems) => {
            let words: Vec<String> = problems.iter().map(ToString::to_string).collect();
            FieldError::new("body", words.join(". "))
        }
        other => return Err(other.into()),
    })
}

/// What the page shows besides the form: problems, and the preview.
#[derive(Default)]
struct Drawn {
    errors: Vec<FieldError>,
    preview: Option<TypedCheck>,
}

impl Drawn {
    fn errors(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            preview: None,
        }
    }
}

fn page(
    state: &AppState,
    staff: &Staff,
    person: &Person,
    form: &NudgeForm,
    drawn: Drawn,
) -> Result<Response, PageError> {
    Ok(render(state, staff, person, form, drawn)?.into_response())
}

fn render(
    state: &AppState,
    staff: &Staff,
    person: &Person,
    form: &NudgeForm,
    drawn: Drawn,
) -> Result<Html<String>, PageError> {
    let mut errors = drawn.errors;
    let preview = drawn.preview.map(|p| {
        let field = if form.what == "template" {
            "template"
        } else {
            "body"
        };
        errors.extend(p.refusals.iter().map(|r| FieldError::new(field, r)));
        preview_values(&p, form)
    });
    let href = format!("/people/{}", person.id);
    let title = format!("Send a text to {}", person.first_name.as_str());
    let values = json!({
        "action": format!("{href}/nudge"),
        "form": {
            "form_key": form.form_key, "what": form.what, "body": form.body,
            "template": form.template, "date": form.date, "time": form.time,
        },
        "templates": templates(state, person),
        "preview": preview,
        "today": dates::day_of(state.clock.now(), state.casework.zone()),
    });
    person_page(staff, person, ("nudge.html", &title), values, errors)
}

fn preview_values(p: &TypedCheck, form: &NudgeForm) -> Value {
    let segments = p.analysis.segments;
    let english = p.readability.flesch_reading_ease;
    let length = format!(
        "{segments} {}",
        if segments == 1 { "text" } else { "texts" }
    );
    json!({
        "text": p.text.as_str(),
        "facts": [
            detail("Length", length),
            detail("Characters", p.analysis.encoding.label()),
            detail("Reading ease", format!("{english:.0} (60 or more is plain English)")),
        ],
        "ok": p.refusals.is_empty(),
        "ask_confirm": !p.warnings.is_empty(),
        "confirmed": form.confirm.is_some(),
        "warnings": p.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "several": p.warnings.iter().any(|w| matches!(w, TypedProblem::Segments { .. })),
    })
}

/// The templates staff may send this person (those that need no appointment).
fn templates(state: &AppState, person: &Person) -> Vec<Value> {
    let planner = state.ingest.planner();
    let catalogue: &TemplateCatalogue = planner.catalogue();
    catalogue
        .nudgeable()
        .into_iter()
        .filter(|name| {
            planner
                .render(name, person, None, &Default::default())
                .is_ok()
        })
        .map(|name| {
            let description = catalogue
                .resolve(name, &person.language)
                .and_then(|t| t.description.clone())
                .unwrap_or_default();
            let label = super::labels::template(name.as_str());
            json!({ "name": name.as_str(), "label": format!("{label}: {description}") })
        })
        .collect()
}
