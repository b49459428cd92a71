//! The name of an SMS template, such as `gp_registration`.
//!
//! A template name is also a file name (`templates/sms/en/<name>.txt.tera`)
//! and a word in campaign rules, so it is kept to lowercase snake_case: it
//! means the same on every file system and cannot climb out of the folder.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::TextError;

/// A template's name: lowercase ASCII letters and digits in words joined by
/// single underscores, starting with a letter, at most [`TemplateName::MAX`]
/// characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TemplateName(String);

const ALLOWED: &str = "lowercase snake_case: a-z and 0-9 in words joined by single underscores, starting with a letter";

impl TemplateName {
    pub const MAX: usize = 64;

    /// Accepts exactly the canonical form: no trimming or lowercasing, so a
    /// name in a rule always matches the file it names.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        if input.is_empty() {
            return Err(TextError::Empty);
        }
        let len = input.chars().count();
        if len > Self::MAX {
            return Err(TextError::TooLong {
                len,
                max: Self::MAX,
            });
        }
        match first_bad_char(input) {
            Some(found) => Err(TextError::BadCharacter {
                found,
                allowed: ALLOWED,
            }),
            None => Ok(Self(input.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name a text typed by staff is filed under: no template file has
    /// it, so no nudge can name it.
    #[must_use]
    pub fn typed() -> Self {
        Self("typed_by_staff".to_owned())
    }
}

/// The first character that breaks snake_case: anything but `a-z0-9_`, a
/// leading digit or underscore, a doubled underscore or a trailing one.
fn first_bad_char(input: &str) -> Option<char> {
    let mut previous: Option<char> = None;
    for c in input.chars() {
        let ok = match c {
            'a'..='z' => true,
            '0'..='9' => previous.is_some(),
            '_' => previous.is_some_and(|p| p != '_'),
            _ => false,
        };
        if !ok {
            return Some(c);
        }
        previous = Some(c);
    }
    (previous == Some('_')).then_some('_')
}

super::schema::describe!(
    TemplateName,
    super::schema::text(
        "A template or goal name: lowercase snake_case (a-z and 0-9 in words joined by single underscores, starting with a letter).",
        TemplateName::MAX,
        Some("^[a-z][a-z0-9]*(_[a-z0-9]+)*$"),
    )
);

impl FromStr for TemplateName {
    type Err = TextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TemplateName {
    type Error = TextError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TemplateName> for String {
    fn from(name: TemplateName) -> Self {
        name.0
    }
}

impl fmt::Display for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TemplateName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names_are_accepted_as_given() {
        for name in ["gp_registration", "nhs_inform", "week2_checkin", "a"] {
            assert_eq!(TemplateName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn anything_but_snake_case_is_refused_naming_the_character() {
        let bad = |input: &str| match TemplateName::parse(input) {
            Err(TextError::BadCharacter { found, .. }) => found,
            other => panic!("{input}: {other:?}"),
        };
        assert_eq!(bad("GP_registration"), 'G');
        assert_eq!(bad("gp-registration"), '-');
        assert_eq!(bad("gp registration"), ' ');
        assert_eq!(bad("_gp"), '_');
        assert_eq!(bad("gp__x"), '_');
        assert_eq!(bad("gp_"), '_');
        assert_eq!(bad("2nd_reminder"), '2');
        assert_eq!(bad("../etc"), '.');
        assert_eq!(bad("café"), 'é');
    }

    #[test]
    fn empty_and_overlong_names_are_refused() {
        assert_eq!(TemplateName::parse(""), Err(TextError::Empty));
        assert!(TemplateName::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            TemplateName::parse(&"a".repeat(65)),
            Err(TextError::TooLong { len: 65, max: 64 })
        );
    }

    #[test]
    fn names_round_trip_through_serde_and_refuse_bad_input() {
        let name: TemplateName = serde_json::from_str("\"nhs_inform\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"nhs_inform\"");
        assert!(serde_json::from_str::<TemplateName>("\"NHS\"").is_err());
    }
}
