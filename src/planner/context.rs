//! The values a template is rendered with for one person and one event.
//!
//! Only what the text needs: a first name and when and where to go. Nothing
//! that identifies the person (a prison number, an establishment) is ever
//! offered to a template, so no template can leak it.

use chrono_tz::Tz;

use crate::domain::{AppointmentKind, EventDetail, Person};
use crate::templates::Variables;

/// What an appointment's service is called in a text: everyday words, and
/// never anything that hints at justice or supervision.
pub fn service_words(kind: AppointmentKind) -> &'static str {
    match kind {
        AppointmentKind::Gp => "doctor (GP)",
        AppointmentKind::AddictionService => "drug and alcohol support",
        AppointmentKind::Housing => "housing",
        AppointmentKind::JusticeSocialWork => "support worker",
        AppointmentKind::MentalHealth => "mental health",
        AppointmentKind::Dentist => "dentist",
        AppointmentKind::Pharmacy => "pharmacy",
        AppointmentKind::Benefits => "benefits",
        AppointmentKind::Other => "next",
    }
}

/// Said in place of an appointment's place when none was given.
pub const NO_PLACE: &str = "as in your letter";

pub fn variables(person: &Person, event: Option<&EventDetail>, zone: Tz) -> Variables {
    let mut vars = Variables::new();
    vars.insert("first_name".into(), person.first_name.as_str().to_owned());
    if let Some(EventDetail::Appointment {
        starts_at,
        place,
        appointment_type,
        ..
    }) = event
    {
        let local = starts_at.with_timezone(&zone);
        vars.insert(
            "appointment_day".into(),
            local.format("%A %-d %B").to_string(),
        );
        vars.insert(
            "appointment_time".into(),
            local.format("%-I:%M%P").to_string(),
        );
        vars.insert(
            "place".into(),
            place.as_ref().map_or(NO_PLACE, |p| p.as_str()).to_owned(),
        );
        vars.insert(
            "service".into(),
            service_words(*appointment_type).to_owned(),
        );
    }
    vars
}
