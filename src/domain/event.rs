//! Events: the dates Homeward plans texts around.
//!
//! A liberation is a local date with no time (people are released during the
//! morning, at a time nobody can promise); an appointment is an instant, kept
//! in UTC and shown in local time.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Establishment, EventId, EventRef, OrgId, PersonId, Place};

/// Declares a closed set of snake_case words with `as_str`, `FromStr`,
/// serde and an API schema, so a stored, typed or described value is checked
/// against the same list. (The schema is written out rather than derived:
/// utoipa's derive does not see serde renames made inside a macro.)
macro_rules! word_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $word)] $variant),+ }

        $crate::domain::schema::describe!(
            $name,
            $crate::domain::schema::string(&$crate::domain::schema::paragraph(&[$($doc),*]))
                .enum_values(Some([$($word),+]))
        );

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }

            /// The accepted words, for error messages.
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let folded = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                match folded.as_str() {
                    $($word => Ok(Self::$variant),)+
                    _ => Err($crate::domain::UnknownWord { found: s.to_owned(), choices: Self::choices() }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use word_enum;

/// A word that is not one of a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is {found:?}; expected one of: {choices}")]
pub struct UnknownWord {
    pub found: String,
    pub choices: String,
}

word_enum!(
    /// What kind of event a row describes.
    EventKind { Liberation = "liberation", Appointment = "appointment" }
);

word_enum!(
    /// How sure the prison is of a liberation date.
    LiberationStatus {
        Expected = "expected",
        Confirmed = "confirmed",
        Released = "released",
        Cancelled = "cancelled",
    }
);

word_enum!(
    /// Where an appointment stands.
    AppointmentStatus {
        Scheduled = "scheduled",
        Attended = "attended",
        Missed = "missed",
        Cancelled = "cancelled",
    }
);

word_enum!(
    /// The service an appointment is with.
    AppointmentKind {
        Gp = "gp",
        AddictionService = "addiction_service",
        Housing = "housing",
        JusticeSocialWork = "justice_social_work",
        MentalHealth = "mental_health",
        Dentist = "dentist",
        Pharmacy = "pharmacy",
        Benefits = "benefits",
        Other = "other",
    }
);

/// What happens, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventDetail {
    Liberation {
        date: NaiveDate,
        establishment: Option<Establishment>,
        status: LiberationStatus,
    },
    Appointment {
        starts_at: DateTime<Utc>,
        place: Option<Place>,
        appointment_type: AppointmentKind,
        status: AppointmentStatus,
    },
}

impl EventDetail {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Liberation { .. } => EventKind::Liberation,
            Self::Appointment { .. } => EventKind::Appointment,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        match self {
            Self::Liberation { status, .. } => *status == LiberationStatus::Cancelled,
            Self::Appointment { status, .. } => *status == AppointmentStatus::Cancelled,
        }
    }
}

/// An event as a caller describes it, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_ref: EventRef,
    pub detail: EventDetail,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Event {
    pub id: EventId,
    #[serde(skip)]
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub event_ref: EventRef,
    #[serde(flatten)]
    pub detail: EventDetail,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_forgivingly_and_refused_with_the_choices() {
        assert_eq!(
            "Justice Social Work".parse(),
            Ok(AppointmentKind::JusticeSocialWork)
        );
        assert_eq!(" CONFIRMED ".parse(), Ok(LiberationStatus::Confirmed));
        let err = "maybe".parse::<LiberationStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "is \"maybe\"; expected one of: expected, confirmed, released, cancelled"
        );
    }
}
