//! What callers send, and how it becomes domain values.
//!
//! The JSON API and the CSV importer share these shapes, so a field is
//! checked the same way whichever door it came through. Every problem is
//! collected (not just the first), each naming its field and the reason, and
//! the value given where that value is not personal (see [`FieldError::new`]).

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{
    AppointmentKind, AppointmentStatus, Establishment, EventDetail, EventKind, EventRef,
    ExternalRef, FirstName, Language, LiberationStatus, MobilePolicy, NewEvent, NewPerson, Place,
    mask,
};

/// One field that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field (or CSV column) at fault.
    pub field: String,
    /// The value given, where it is not personal: a mobile is masked, and
    /// names, references and free text are left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong, completing a sentence that starts with the field.
    pub reason: String,
}

impl FieldError {
    /// `value` is kept only as far as [`shown`] allows: errors reach staff
    /// systems, their logs and terminals, where a person's number or name
    /// has no business being.
    pub fn new(field: &str, value: Option<&str>, reason: impl fmt::Display) -> Self {
        Self {
            field: field.to_owned(),
            value: value.and_then(|v| shown(field, v)),
            reason: reason.to_string(),
        }
    }
}

/// What an error may say back about a refused value: dates, times, codes
/// and words from a fixed list help the caller find the mistake and say
/// nothing about a person; a mobile is masked as logs show it; anything
/// else (names, references such as prison numbers, free text, fields added
/// later) is left out.
fn shown(field: &str, value: &str) -> Option<String> {
    match field {
        "mobile" => Some(mask(value.trim())),
        "date"
        | "release_date"
        | "starts_at"
        | "time"
        | "send_at"
        | "status"
        | "kind"
        | "appointment_type"
        | "language"
        | "event_ref"
        | "template"
        | "goal"
        | "expires_after_hours"
        | "priority" => Some(value.to_owned()),
        _ => None,
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} {:?} {}", self.field, value, self.reason),
            None => write!(f, "{} {}", self.field, self.reason),
        }
    }
}

/// Collects field problems so a caller hears about all of them at once.
#[derive(Default)]
pub(crate) struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub(crate) fn check<T, E: fmt::Display>(
        &mut self,
        field: &str,
        value: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed
            .map_err(|e| self.errors.push(FieldError::new(field, Some(value), e)))
            .ok()
    }

    pub(crate) fn optional<T, E: fmt::Display>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Some(None),
            Some(v) => self.check(field, v, parse(v)).map(Some),
        }
    }

    pub(crate) fn required<'v>(&mut self, field: &str, value: Option<&'v str>) -> Option<&'v str> {
        let found = value.filter(|v| !v.trim().is_empty());
        if found.is_none() {
            self.refuse(field, None, "is required");
        }
        found
    }

    pub(crate) fn refuse(&mut self, field: &str, value: Option<&str>, reason: impl fmt::Display) {
        self.errors.push(FieldError::new(field, value, reason));
    }

    pub(crate) fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// A person as `POST /v1/people` and the releases CSV describe them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"external_ref": "SPS-2001", "first_name": "Sam", "mobile": "07400 123460"}))]
pub struct PersonInput {
    #[schema(value_type = ExternalRef)]
    pub external_ref: String,
    #[schema(value_type = FirstName)]
    pub first_name: String,
    /// A mobile number as typed: digits (of any script), spaces and
    /// `+ ( ) - .`, with or without the country code (the first of
    /// `ingest.allowed_regions`, GB by default, is assumed). It must be a
    /// mobile in one of the allowed countries; it is stored in E.164.
    #[schema(example = "07400 123456")]
    pub mobile: String,
    /// Default `en`.
    #[serde(default)]
    #[schema(value_type = Option<Language>)]
    pub language: Option<String>,
}

impl PersonInput {
    /// Check every field; `mobiles` says which numbers Homeward may text.
    pub fn parse(&self, mobiles: &MobilePolicy) -> Result<NewPerson, Vec<FieldError>> {
        let mut c = Checker::default();
        let external_ref = c.check(
            "external_ref",
            &self.external_ref,
            ExternalRef::parse(&self.external_ref),
        );
        let first_name = c.check(
            "first_name",
            &self.first_name,
            FirstName::parse(&self.first_name),
        );
        let mobile = c.check("mobile", &self.mobile, mobiles.parse(&self.mobile));
        let language = c.optional("language", self.language.as_deref(), Language::parse);
        c.finish()?;
        match (external_ref, first_name, mobile, language) {
            (Some(external_ref), Some(first_name), Some(mobile), Some(language)) => Ok(NewPerson {
                external_ref,
                first_name,
                mobile,
                language: language.unwrap_or_default(),
            }),
            _ => unreachable!("every missing value was recorded as an error"),
        }
    }
}

/// Changes to a person (`PATCH /v1/people/{id}`). The external reference is
/// the person's identity for upserts, so it cannot be changed here.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"first_name": "Sam", "language": "pl"}))]
pub struct PersonPatch {
    #[schema(value_type = Option<FirstName>)]
    pub first_name: Option<String>,
    /// A mobile number as typed: digits (of any script), spaces and
    /// `+ ( ) - .`, with or without the country code (the first of
    /// `ingest.allowed_regions`, GB by default, is assumed). It must be a
    /// mobile in one of the allowed countries; it is stored in E.164.
    #[schema(example = "07400 123456")]
    pub mobile: Option<String>,
    #[schema(value_type = Option<Language>)]
    pub language: Option<String>,
}

impl PersonPatch {
    pub fn apply(
        &self,
        current: &NewPerson,
        mobiles: &MobilePolicy,
    ) -> Result<NewPerson, Vec<FieldError>> {
        let mut c = Checker::default();
        let first_name = c.optional("first_name", self.first_name.as_deref(), FirstName::parse);
        let mobile = c.optional("mobile", self.mobile.as_deref(), |m| mobiles.parse(m));
        let language = c.optional("language", self.language.as_deref(), Language::parse);
        c.finish()?;
        let mut next = current.clone();
        if let Some(Some(v)) = first_name {
            next.first_name = v;
        }
        if let Some(Some(v)) = mobile {
            next.mobile = v;
        }
        if let Some(Some(v)) = language {
            next.language = v;
        }
        Ok(next)
    }
}

/// An event as `POST /v1/people/{id}/events` and the CSV files describe it.
/// Liberations take `date` (and optionally `establishment`); appointments
/// take `starts_at`, `appointment_type` (and optionally `place`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event_ref": "liberation", "kind": "liberation", "date": "2026-12-01", "status": "confirmed"}))]
pub struct EventInput {
    #[schema(value_type = EventRef)]
    pub event_ref: String,
    #[schema(value_type = EventKind)]
    pub kind: String,
    /// A liberation's status (`expected`, `confirmed`, `released`,
    /// `cancelled`; default `expected`) or an appointment's (`scheduled`,
    /// `attended`, `missed`, `cancelled`; default `scheduled`).
    pub status: Option<String>,
    /// A liberation's local date: `YYYY-MM-DD` (or `DD/MM/YYYY`).
    #[schema(value_type = Option<NaiveDate>)]
    pub date: Option<String>,
    /// A liberation's establishment (staff-facing only).
    #[schema(value_type = Option<Establishment>)]
    pub establishment: Option<String>,
    /// An appointment's start: RFC 3339 with an offset.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<String>,
    /// Where an appointment is.
    #[schema(value_type = Option<Place>)]
    pub place: Option<String>,
    #[schema(value_type = Option<AppointmentKind>)]
    pub appointment_type: Option<String>,
}

impl EventInput {
    pub fn parse(&self) -> Result<NewEvent, Vec<FieldError>> {
        let mut c = Checker::default();
        let event_ref = c.check(
            "event_ref",
            &self.event_ref,
            EventRef::parse(&self.event_ref),
        );
        let kind = c.check("kind", &self.kind, self.kind.parse::<EventKind>());
        let detail = kind.and_then(|kind| self.detail(kind, &mut c));
        c.finish()?;
        match (event_ref, detail) {
            (Some(event_ref), Some(detail)) => Ok(NewEvent { event_ref, detail }),
            _ => unreachable!("every missing value was recorded as an error"),
        }
    }

    fn detail(&self, kind: EventKind, c: &mut Checker) -> Option<EventDetail> {
        let patch = EventPatch {
            status: self.status.clone(),
            date: self.date.clone(),
            establishment: self.establishment.clone(),
            starts_at: self.starts_at.clone(),
            place: self.place.clone(),
            appointment_type: self.appointment_type.clone(),
        };
        match kind {
            EventKind::Liberation => patch.liberation(None, c),
            EventKind::Appointment => patch.appointment(None, c),
        }
    }
}

/// Changes to an event (`PATCH /v1/people/{id}/events/{event_id}`); a
/// status of `cancelled` cancels it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "released"}))]
pub struct EventPatch {
    /// The new status, from the event's own kind's list; `cancelled`
    /// cancels it.
    pub status: Option<String>,
    /// A liberation's local date: `YYYY-MM-DD` (or `DD/MM/YYYY`).
    #[schema(value_type = Option<NaiveDate>)]
    pub date: Option<String>,
    #[schema(value_type = Option<Establishment>)]
    pub establishment: Option<String>,
    /// An appointment's start: RFC 3339 with an offset.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<String>,
    #[schema(value_type = Option<Place>)]
    pub place: Option<String>,
    #[schema(value_type = Option<AppointmentKind>)]
    pub appointment_type: Option<String>,
}

impl EventPatch {
    pub fn apply(&self, current: &EventDetail) -> Result<EventDetail, Vec<FieldError>> {
        let mut c = Checker::default();
        let next = match current {
            EventDetail::Liberation { .. } => self.liberation(Some(current), &mut c),
            EventDetail::Appointment { .. } => self.appointment(Some(current), &mut c),
        };
        c.finish()?;
        Ok(next.expect("no errors means a detail"))
    }

    fn liberation(&self, current: Option<&EventDetail>, c: &mut Checker) -> Option<EventDetail> {
        for (field, value) in [
            ("starts_at", &self.starts_at),
            ("place", &self.place),
            ("appointment_type", &self.appointment_type),
        ] {
            if value.is_some() {
                c.refuse(
                    field,
                    value.as_deref(),
                    "is for appointments; a liberation has a date",
                );
            }
        }
        let (old_date, old_establishment, old_status) = match current {
            Some(EventDetail::Liberation {
                date,
                establishment,
                status,
            }) => (Some(*date), establishment.clone(), *status),
            _ => (None, None, LiberationStatus::Expected),
        };
        let date = match (&self.date, old_date) {
            (None, Some(old)) => Some(old),
            (value, _) => c
                .required("date", value.as_deref())
                .and_then(|v| c.check("date", v, parse_local_date(v))),
        };
        let establishment = c.optional(
            "establishment",
            self.establishment.as_deref(),
            Establishment::parse,
        );
        let status = c.optional(
            "status",
            self.status.as_deref(),
            str::parse::<LiberationStatus>,
        );
        Some(EventDetail::Liberation {
            date: date?,
            establishment: establishment?.or(old_establishment),
            status: status?.unwrap_or(old_status),
        })
    }

    fn appointment(&self, current: Option<&EventDetail>, c: &mut Checker) -> Option<EventDetail> {
        for (field, value) in [("date", &self.date), ("establishment", &self.establishment)] {
            if value.is_some() {
                c.refuse(
                    field,
                    value.as_deref(),
                    "is for liberations; an appointment has starts_at",
                );
            }
        }
        let (old_at, old_place, old_type, old_status) = match current {
            Some(EventDetail::Appointment {
                starts_at,
                place,
                appointment_type,
                status,
            }) => (
                Some(*starts_at),
                place.clone(),
                Some(*appointment_type),
                *status,
            ),
            _ => (None, None, None, AppointmentStatus::Scheduled),
        };
        let starts_at = match (&self.starts_at, old_at) {
            (None, Some(old)) => Some(old),
            (value, _) => c
                .required("starts_at", value.as_deref())
                .and_then(|v| c.check("starts_at", v, parse_instant(v))),
        };
        let kind = match (&self.appointment_type, old_type) {
            (None, Some(old)) => Some(old),
            (value, _) => c
                .required("appointment_type", value.as_deref())
                .and_then(|v| c.check("appointment_type", v, v.parse::<AppointmentKind>())),
        };
        let place = c.optional("place", self.place.as_deref(), Place::parse);
        let status = c.optional(
            "status",
            self.status.as_deref(),
            str::parse::<AppointmentStatus>,
        );
        Some(EventDetail::Appointment {
            starts_at: starts_at?,
            place: place?.or(old_place),
            appointment_type: kind?,
            status: status?.unwrap_or(old_status),
        })
    }
}

/// Why a date or time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error("is not a date; write it as YYYY-MM-DD (e.g. 2026-12-01) or DD/MM/YYYY")]
    NotADate,
    #[error("is outside the years {0}..={1}")]
    OutOfRange(i32, i32),
    #[error("has no time zone; add Z or an offset, e.g. 2026-12-03T14:30:00+00:00")]
    NoZone,
    #[error("is not a date and time; write it as RFC 3339, e.g. 2026-12-03T14:30:00+00:00")]
    NotAnInstant,
}

const YEARS: (i32, i32) = (2000, 2100);

/// A calendar date as staff write it: ISO `2026-12-01` or UK `01/12/2026`.
pub fn parse_local_date(value: &str) -> Result<NaiveDate, WhenError> {
    let value = value.trim();
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%d/%m/%Y"))
        .map_err(|_| WhenError::NotADate)?;
    in_range(date)
}

/// An instant with its offset; a local time without one is refused, since
/// guessing the zone would move an appointment by an hour half the year.
pub fn parse_instant(value: &str) -> Result<DateTime<Utc>, WhenError> {
    let value = value.trim();
    match DateTime::parse_from_rfc3339(value) {
        Ok(at) => {
            in_range(at.date_naive())?;
            Ok(at.with_timezone(&Utc))
        }
        Err(_)
            if NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").is_ok()
                || NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M").is_ok()
                || NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M").is_ok() =>
        {
            Err(WhenError::NoZone)
        }
        Err(_) => Err(WhenError::NotAnInstant),
    }
}

fn in_range(date: NaiveDate) -> Result<NaiveDate, WhenError> {
    use chrono::Datelike;
    if (YEARS.0..=YEARS.1).contains(&date.year()) {
        Ok(date)
    } else {
        Err(WhenError::OutOfRange(YEARS.0, YEARS.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(mobile: &str) -> PersonInput {
        PersonInput {
            external_ref: "P1".into(),
            first_name: "Seán".into(),
            mobile: mobile.into(),
            language: None,
        }
    }

    #[test]
    fn a_person_defaults_to_english() {
        let p = person("07400 123456").parse(&MobilePolicy::uk()).unwrap();
        assert_eq!(p.language.as_str(), "en");
        assert_eq!(p.first_name.as_str(), "Seán");
    }

    #[test]
    fn every_bad_field_is_reported_naming_only_values_that_are_not_personal() {
        let mut input = person("0141 496 0000");
        input.external_ref = "SPS 1001".into();
        input.first_name = "J0hn".into();
        input.language = Some("klingon".into());
        let errors = input.parse(&MobilePolicy::uk()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["external_ref", "first_name", "mobile", "language"]);
        let values: Vec<_> = errors.iter().map(|e| e.value.as_deref()).collect();
        assert_eq!(values, [None, None, Some("0141 4****000"), Some("klingon")]);
        let shown = errors.iter().map(ToString::to_string).collect::<String>();
        assert!(
            !shown.contains("SPS 1001") && !shown.contains("J0hn"),
            "{shown}"
        );
    }

    #[test]
    fn free_text_refused_for_the_wrong_kind_of_event_is_not_echoed() {
        let input = EventInput {
            event_ref: "lib".into(),
            kind: "liberation".into(),
            date: Some("2026-12-01".into()),
            place: Some("14 Elm Row".into()),
            ..Default::default()
        };
        let errors = input.parse().unwrap_err();
        assert_eq!(
            (errors[0].field.as_str(), errors[0].value.as_deref()),
            ("place", None)
        );
    }

    #[test]
    fn dates_are_read_in_iso_and_uk_forms_and_impossible_ones_refused() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(parse_local_date("2026-12-01"), Ok(d));
        assert_eq!(parse_local_date("01/12/2026"), Ok(d));
        assert_eq!(parse_local_date("2026-02-30"), Err(WhenError::NotADate));
        assert_eq!(parse_local_date("12/31/2026"), Err(WhenError::NotADate));
        assert_eq!(
            parse_local_date("1899-01-01"),
            Err(WhenError::OutOfRange(2000, 2100))
        );
    }

    #[test]
    fn an_appointment_time_without_a_zone_is_refused() {
        assert_eq!(parse_instant("2026-12-03T14:30:00"), Err(WhenError::NoZone));
        assert_eq!(parse_instant("tomorrow"), Err(WhenError::NotAnInstant));
        let at = parse_instant("2026-07-03T14:30:00+01:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-07-03T13:30:00+00:00");
    }

    #[test]
    fn a_liberation_refuses_appointment_fields() {
        let input = EventInput {
            event_ref: "lib".into(),
            kind: "liberation".into(),
            date: Some("2026-12-01".into()),
            place: Some("Govan".into()),
            ..Default::default()
        };
        let errors = input.parse().unwrap_err();
        assert_eq!(errors[0].field, "place");
    }

    #[test]
    fn cancelling_an_appointment_keeps_its_other_details() {
        let input = EventInput {
            event_ref: "gp-1".into(),
            kind: "appointment".into(),
            starts_at: Some("2026-12-03T14:30:00Z".into()),
            appointment_type: Some("gp".into()),
            ..Default::default()
        };
        let event = input.parse().unwrap();
        let patch = EventPatch {
            status: Some("cancelled".into()),
            ..Default::default()
        };
        let next = patch.apply(&event.detail).unwrap();
        assert!(next.is_cancelled());
        assert_eq!(next.kind(), EventKind::Appointment);
    }
}
