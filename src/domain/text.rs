//! Short pieces of text people give us: names, references, languages.
//!
//! Each is checked once when it enters Homeward, so code further in never has
//! to wonder whether a name is empty or a reference holds a control character.

use std::fmt;

use serde::Serialize;

/// Why a piece of text was refused; the message completes a sentence that
/// starts with the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("is empty")]
    Empty,
    #[error("is {len} characters long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("contains {found:?}, which is not allowed here ({allowed})")]
    BadCharacter { found: char, allowed: &'static str },
}

fn trimmed(input: &str, max: usize) -> Result<&str, TextError> {
    let value = input.trim();
    if value.is_empty() {
        return Err(TextError::Empty);
    }
    let len = value.chars().count();
    if len > max {
        return Err(TextError::TooLong { len, max });
    }
    Ok(value)
}

fn only(value: &str, ok: fn(char) -> bool, allowed: &'static str) -> Result<(), TextError> {
    match value.chars().find(|c| !ok(*c)) {
        Some(found) => Err(TextError::BadCharacter { found, allowed }),
        None => Ok(()),
    }
}

/// A person's first name as they want to be addressed. Kept exactly as given
/// (accents included: Seán is not Sean), but never logged.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FirstName(String);

impl FirstName {
    pub const MAX: usize = 50;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let value = trimmed(input, Self::MAX)?;
        only(
            value,
            |c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.'),
            "letters, spaces, hyphens, apostrophes and full stops",
        )?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

super::schema::describe!(
    FirstName,
    super::schema::text(
        "A first name as the person wants to be addressed, kept exactly as given: letters (accents included), spaces, hyphens, apostrophes and full stops.",
        FirstName::MAX,
        None,
    )
);

impl fmt::Debug for FirstName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FirstName(…)")
    }
}

macro_rules! code_type {
    ($(#[doc = $doc:literal])* $name:ident, $max:expr) => {
        $(#[doc = $doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            pub fn parse(input: &str) -> Result<Self, TextError> {
                let value = trimmed(input, Self::MAX)?;
                only(
                    value,
                    |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'),
                    "letters A-Z, digits and - _ . : /",
                )?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        super::schema::describe!(
            $name,
            super::schema::text(
                &super::schema::paragraph(&[$($doc),*, "Letters A-Z, digits and - _ . : /"]),
                $max,
                Some("^[A-Za-z0-9._:/-]+$"),
            )
        );

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

code_type!(
    /// The caller's own reference for a person (e.g. a prison number). It
    /// identifies the person within one organisation and is never put in a text.
    ExternalRef,
    64
);
code_type!(
    /// The caller's own reference for an event, unique per person.
    EventRef,
    64
);

/// An organisation's short name, used on the command line (`--org NAME`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrgName(String);

impl OrgName {
    pub const MAX: usize = 100;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let value = trimmed(input, Self::MAX)?;
        only(
            value,
            |c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '\'' | '&' | '(' | ')'),
            "letters, digits, spaces and - _ . ' & ( )",
        )?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgName({})", self.0)
    }
}

/// Free text shown to staff, never to the person: an establishment's name or
/// an appointment's place. Control characters are refused.
macro_rules! label_type {
    ($(#[doc = $doc:literal])* $name:ident, $max:expr) => {
        $(#[doc = $doc])*
        #[derive(Clone, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            pub fn parse(input: &str) -> Result<Self, TextError> {
                let value = trimmed(input, Self::MAX)?;
                only(value, |c| !c.is_control(), "printable characters")?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        super::schema::describe!(
            $name,
            super::schema::text(
                &super::schema::paragraph(&[$($doc),*]),
                $max,
                Some(r"^[^\u0000-\u001f\u007f-\u009f]+$"),
            )
        );

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

label_type!(
    /// The establishment a person is liberated from (staff-facing only: it
    /// must never appear in a text).
    Establishment,
    100
);
label_type!(
    /// Where an appointment takes place, as it may be said in a reminder.
    Place,
    200
);

/// A language tag such as `en`, `pl` or `pt-BR`, which picks the template
/// folder. Stored lower-case for the language and upper-case for the region.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let value = trimmed(input, 8)?;
        let bad = || TextError::BadCharacter {
            found: value
                .chars()
                .find(|c| !c.is_ascii_alphabetic())
                .unwrap_or(' '),
            allowed: "a language code such as en, pl or pt-BR",
        };
        let (lang, region) = match value.split_once(['-', '_']) {
            Some((l, r)) => (l, Some(r)),
            None => (value, None),
        };
        let lang_ok =
            (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_alphabetic());
        let region_ok =
            region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()));
        if !lang_ok || !region_ok {
            return Err(bad());
        }
        let mut tag = lang.to_ascii_lowercase();
        if let Some(r) = region {
            tag.push('-');
            tag.push_str(&r.to_ascii_uppercase());
        }
        Ok(Self(tag))
    }

    /// English, the language every template exists in.
    pub fn english() -> Self {
        Self("en".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Language {
    fn default() -> Self {
        Self::english()
    }
}

super::schema::describe!(
    Language,
    super::schema::string(
        "A language tag such as en, pl or pt-BR; it picks the templates' language."
    )
    .pattern(Some("^[a-z]{2,3}(-[A-Z]{2})?$"))
);

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Language({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_accents_and_refuse_digits() {
        assert_eq!(FirstName::parse("  Seán ").unwrap().as_str(), "Seán");
        assert_eq!(FirstName::parse("Mary-Jane").unwrap().as_str(), "Mary-Jane");
        assert!(matches!(
            FirstName::parse("J0hn"),
            Err(TextError::BadCharacter { found: '0', .. })
        ));
        assert_eq!(FirstName::parse(" "), Err(TextError::Empty));
        assert!(matches!(
            FirstName::parse(&"a".repeat(51)),
            Err(TextError::TooLong { len: 51, max: 50 })
        ));
    }

    #[test]
    fn references_allow_prison_number_shapes_only() {
        assert_eq!(
            ExternalRef::parse("SPS-123/45").unwrap().as_str(),
            "SPS-123/45"
        );
        assert!(ExternalRef::parse("a b").is_err());
        assert!(ExternalRef::parse("ref\u{0}").is_err());
    }

    #[test]
    fn languages_are_normalised_tags() {
        assert_eq!(Language::parse("PL").unwrap().as_str(), "pl");
        assert_eq!(Language::parse("pt_br").unwrap().as_str(), "pt-BR");
        assert!(Language::parse("english").is_err());
        assert!(Language::parse("e1").is_err());
    }
}
