//! Short pieces of text people give us: names, references, languages.
//!
//! Each is checked once when it enters Homeward, so code further in never has
//! to wonder whether a name is empty or a reference holds a control character.
//! Whatever may end up inside a text message (a first name, a place, a value
//! staff pass to a template) passes one rule, [`PlainText`].

use std::fmt;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

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
    #[error("contains U+{code:04X}, {what}, which a text message must not carry")]
    Hidden { code: u32, what: &'static str },
    #[error(
        "contains {found:?} (U+{code:04X}), an emoji or symbol; a text message may carry letters, digits, punctuation and only the symbols {GSM_SYMBOLS}"
    )]
    Symbol { found: char, code: u32 },
    #[error("starts with {0:?}, which a spreadsheet would run as a formula")]
    FormulaStart(char),
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

/// The symbols of the GSM-7 alphabet that Unicode files as symbols (the
/// rest of it is letters, digits and punctuation). Any other symbol (an
/// emoji, ©, a maths sign) turns the whole text into UCS-2 at twice the
/// cost, or shows as a box on an older phone.
const GSM_SYMBOLS: &str = "+ < = > | ~ ^ $ £ ¥ € ¤";

/// What a spreadsheet starts a formula with; a value opening with one could
/// run as a formula when a text is exported to CSV (tab and CR are refused
/// as control characters).
const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

/// Text that may be put into a text message: the one rule for every value
/// rendered into one. It is NFC-normalised (so a decomposed "Seán" is the
/// same as a composed one), trimmed, at most a given length, and holds no
/// control, formatting or direction character (U+202E could make the text
/// read backwards), no emoji or symbol outside GSM-7, and does not start
/// like a spreadsheet formula. Never logged.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PlainText(String);

impl PlainText {
    /// The longest value staff may pass to a template.
    pub const MAX: usize = 200;

    pub fn parse(input: &str, max: usize) -> Result<Self, TextError> {
        let nfc: String = input.nfc().collect();
        let value = trimmed(&nfc, max)?;
        if let Some(first) = value.chars().next().filter(|c| FORMULA_STARTS.contains(c)) {
            return Err(TextError::FormulaStart(first));
        }
        value.chars().try_for_each(plain_char)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PlainText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainText(…)")
    }
}

fn plain_char(c: char) -> Result<(), TextError> {
    use GeneralCategory as G;
    let hidden = |what| {
        Err(TextError::Hidden {
            code: c as u32,
            what,
        })
    };
    match c.general_category() {
        G::Control => hidden("a control character"),
        G::Format => hidden("an invisible formatting or direction character"),
        G::LineSeparator | G::ParagraphSeparator => hidden("a line break"),
        G::PrivateUse | G::Surrogate | G::Unassigned => hidden("a private or unassigned character"),
        // Enclosing marks and variation selectors build emoji (keycaps, the
        // colour form of a symbol).
        G::EnclosingMark => Err(TextError::Symbol {
            found: c,
            code: c as u32,
        }),
        _ if matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}') => {
            Err(TextError::Symbol {
                found: c,
                code: c as u32,
            })
        }
        _ if c.general_category_group() == GeneralCategoryGroup::Symbol
            && !GSM_SYMBOLS.contains(c) =>
        {
            Err(TextError::Symbol {
                found: c,
                code: c as u32,
            })
        }
        _ => Ok(()),
    }
}

/// A person's first name as they want to be addressed: [`PlainText`] of
/// letters (accents and other marks included: Seán is not Sean), spaces,
/// hyphens, apostrophes and full stops. Never logged.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FirstName(String);

impl FirstName {
    pub const MAX: usize = 50;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let value = PlainText::parse(input, Self::MAX)?.into_string();
        only(
            &value,
            |c| c.is_alphabetic() || is_mark(c) || matches!(c, ' ' | '-' | '\'' | '’' | '.'),
            "letters, spaces, hyphens, apostrophes and full stops",
        )?;
        Ok(Self(value))
    }

    /// The name as a search matches it: letters without their accents, in
    /// lower case, single-spaced, so "Seán" is found as "sean".
    pub fn search_key(&self) -> String {
        let bare: String = self
            .0
            .nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .collect::<String>()
            .to_lowercase();
        bare.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// A name as stored: checked when it came in, under the rules of then.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Accents and vowel signs that no precomposed letter holds.
fn is_mark(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark | GeneralCategory::SpacingMark
    )
}

super::schema::describe!(
    FirstName,
    super::schema::text(
        "A first name as the person wants to be addressed, kept as given (in Unicode NFC form): letters (accents included), spaces, hyphens, apostrophes and full stops.",
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

/// Free text shown to staff, never to the person (an establishment's name).
/// Control characters are refused.
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
/// Where an appointment takes place, as it is said in a reminder: so it is
/// [`PlainText`].
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Place(String);

impl Place {
    pub const MAX: usize = PlainText::MAX;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        PlainText::parse(input, Self::MAX).map(|t| Self(t.into_string()))
    }

    /// A place as stored: checked when it came in, under the rules of then.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

super::schema::describe!(
    Place,
    super::schema::text(
        "Where an appointment takes place, as it may be said in a reminder: plain text (letters, digits, punctuation; no emoji, no control or direction characters), not starting with = + - or @.",
        Place::MAX,
        None,
    )
);

impl fmt::Debug for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Place(…)")
    }
}

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
    fn a_decomposed_accent_is_the_same_name_as_a_composed_one() {
        let decomposed = FirstName::parse("Sea\u{0301}n").unwrap();
        assert_eq!(decomposed.as_str(), "Seán");
        assert_eq!(decomposed, FirstName::parse("Seán").unwrap());
        assert_eq!(
            Place::parse("Cafe\u{0301} Royal").unwrap().as_str(),
            "Café Royal"
        );
        // Marks with no precomposed letter are part of the name too.
        assert!(FirstName::parse("प्रिया").is_ok());
    }

    #[test]
    fn text_that_reaches_a_message_refuses_hidden_characters_emoji_and_formulas() {
        for (value, expected) in [
            (
                "Clinic \u{202E}2 mooR",
                "U+202E, an invisible formatting or direction character",
            ),
            ("Room\u{200B}4", "U+200B"),
            ("Ward\u{2028}4", "a line break"),
            ("Ward\t4", "a control character"),
            ("Clinic 😀", "an emoji or symbol"),
            ("Clinic 1\u{20E3}", "an emoji or symbol"),
            ("Clinic \u{2764}\u{FE0F}", "an emoji or symbol"),
            ("Clinic ©", "an emoji or symbol"),
            ("=HYPERLINK(\"http://x\",\"Clinic\")", "starts with '='"),
            ("+Clinic", "starts with '+'"),
            ("-Clinic", "starts with '-'"),
            ("@Clinic", "starts with '@'"),
        ] {
            let err = Place::parse(value).unwrap_err().to_string();
            assert!(err.contains(expected), "{value:?}: {err}");
        }
        for value in [
            "A&E, Ward 2 (3rd floor)",
            "St Mary's £5 #4 50% 1+1=2",
            "Zdrowie ąę",
        ] {
            assert_eq!(Place::parse(value).unwrap().as_str(), value);
        }
        assert!(matches!(
            Place::parse(&"a".repeat(201)),
            Err(TextError::TooLong { len: 201, max: 200 })
        ));
        let err = FirstName::parse("Ann\u{202E}").unwrap_err();
        assert!(
            matches!(err, TextError::Hidden { code: 0x202E, .. }),
            "{err}"
        );
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
