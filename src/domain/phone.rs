//! Mobile numbers in E.164 form, parsed once where they enter Homeward.
//!
//! People type numbers in every shape, so parsing is lenient about layout
//! (spaces, brackets, dashes, full-width digits) and strict about content: a
//! letter is refused rather than read as a keypad digit, because a typed `l`
//! for `1` would silently become somebody else's number. Only numbers that
//! libphonenumber calls valid mobiles are accepted: texting a landline or a
//! premium-rate line helps nobody.
//!
//! `Display` and `Debug` mask the number so that it cannot reach a log by
//! accident; the full form is only available through [`PhoneNumber::as_e164`].

use std::fmt;

use phonenumber::{Mode, Type, country, metadata::DATABASE};
use unicode_normalization::UnicodeNormalization;

/// The region assumed for numbers written without a country code.
pub const DEFAULT_REGION: country::Id = country::Id::GB;

/// A valid mobile number in E.164 form, e.g. `+447700123456`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a typed number was refused. The messages complete a sentence that
/// starts with the field name, e.g. "mobile is a landline number…".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("is empty")]
    Empty,
    #[error(
        "contains {found:?} (U+{code:04X}); a phone number may only contain digits, spaces and + ( ) - ."
    )]
    InvalidCharacter { found: char, code: u32 },
    #[error("is not a phone number ({0})")]
    Unparseable(String),
    #[error("is not a valid number in its country (check the digits and the country code)")]
    Invalid,
    #[error("is a {0} number, not a mobile; Homeward only texts mobile numbers")]
    NotMobile(&'static str),
}

impl PhoneNumber {
    /// Parse a number as a person typed it, assuming [`DEFAULT_REGION`] when it
    /// has no country code.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let cleaned = clean(input)?;
        let parsed = phonenumber::parse(Some(DEFAULT_REGION), &cleaned)
            .map_err(|e| PhoneError::Unparseable(e.to_string()))?;
        let kind = parsed.number_type(&DATABASE);
        // Without leading zeros `is_valid()` reads the same digits the same
        // way as `number_type()` and is exactly `kind != Unknown`; each costs
        // as much as the parse itself, so it is asked only when they differ.
        let valid = if parsed.national().zeros() == 0 {
            kind != Type::Unknown
        } else {
            parsed.is_valid()
        };
        if !valid {
            return Err(PhoneError::Invalid);
        }
        match kind {
            Type::Mobile | Type::FixedLineOrMobile => {}
            other => return Err(PhoneError::NotMobile(type_label(other))),
        }
        Ok(Self(parsed.format().mode(Mode::E164).to_string()))
    }

    /// Rebuild a number that was validated before it was stored.
    pub fn from_trusted_e164(e164: String) -> Self {
        Self(e164)
    }

    /// The full number, for storage and for the provider call only.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden, e.g. `+44770****456`, for logs.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Characters always hidden: a short value keeps less of its head, so no
/// value shows all but a digit or two.
const HIDDEN_AT_LEAST: usize = 4;

/// Hide the middle of anything that may be a phone number: at most the
/// first six and the last three characters show, and never all but four.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 9 {
        return "*".repeat(chars.len());
    }
    let shown_head = (chars.len() - 3 - HIDDEN_AT_LEAST).min(6);
    let head: String = chars[..shown_head].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}****{tail}")
}

super::schema::describe!(
    PhoneNumber,
    super::schema::string("A mobile number in E.164 form, e.g. +447400123456.")
        .pattern(Some(r"^\+[1-9][0-9]{6,14}$"))
);

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Fold the forms people paste (full-width digits, Unicode dashes and spaces)
/// into ASCII and refuse anything that is not part of a typed number.
fn clean(input: &str) -> Result<String, PhoneError> {
    let mut out = String::with_capacity(input.len());
    for c in input.nfkc() {
        let c = match c {
            c if c.is_whitespace() => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
            c => c,
        };
        if !(c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-' | '.')) {
            return Err(PhoneError::InvalidCharacter {
                found: c,
                code: c as u32,
            });
        }
        out.push(c);
    }
    if out.trim().is_empty() {
        return Err(PhoneError::Empty);
    }
    Ok(out)
}

fn type_label(kind: Type) -> &'static str {
    match kind {
        Type::FixedLine => "landline",
        Type::TollFree => "freephone",
        Type::PremiumRate => "premium-rate",
        Type::SharedCost => "shared-cost",
        Type::PersonalNumber => "personal (forwarding)",
        Type::Voip => "internet (VoIP)",
        Type::Pager => "pager",
        Type::Uan => "company (UAN)",
        Type::Voicemail => "voicemail",
        _ => "non-mobile",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_mobiles_in_every_usual_layout_become_e164() {
        for typed in [
            "07400 123456",
            "07400123456",
            "+44 7400 123456",
            "+44 (0)7400 123-456",
            "0044 7400 123456",
            "07400.123.456",
            "\u{FF10}\u{FF17}\u{FF14}\u{FF10}\u{FF10} 123456",
            "07400\u{00A0}123\u{2013}456",
        ] {
            let phone = PhoneNumber::parse(typed).unwrap_or_else(|e| panic!("{typed}: {e}"));
            assert_eq!(phone.as_e164(), "+447400123456", "{typed}");
        }
    }

    #[test]
    fn letters_are_refused_not_read_as_keypad_digits() {
        let err = PhoneError::InvalidCharacter {
            found: 'l',
            code: 'l' as u32,
        };
        assert_eq!(PhoneNumber::parse("07400 l23456"), Err(err));
        assert!(matches!(
            PhoneNumber::parse("0800-FLOWERS"),
            Err(PhoneError::InvalidCharacter { .. })
        ));
    }

    #[test]
    fn landlines_and_premium_lines_are_refused_with_their_kind() {
        assert_eq!(
            PhoneNumber::parse("0141 496 0000"),
            Err(PhoneError::NotMobile("landline"))
        );
        assert_eq!(
            PhoneNumber::parse("0909 879 0000"),
            Err(PhoneError::NotMobile("premium-rate"))
        );
        assert_eq!(
            PhoneNumber::parse("0800 22 44 88"),
            Err(PhoneError::NotMobile("freephone"))
        );
    }

    #[test]
    fn malformed_numbers_are_refused() {
        assert_eq!(PhoneNumber::parse("   "), Err(PhoneError::Empty));
        assert!(PhoneNumber::parse("07400 1234").is_err());
        assert!(PhoneNumber::parse("07400 1234567890").is_err());
        assert!(PhoneNumber::parse("١٢٣").is_err());
    }

    #[test]
    fn display_and_debug_never_show_the_whole_number() {
        let phone = PhoneNumber::parse("07400 123456").unwrap();
        assert_eq!(phone.to_string(), "+44740****456");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(+44740****456)");
    }

    #[test]
    fn a_short_value_keeps_at_least_four_characters_hidden() {
        // As typed in a file: eleven characters, of which only two used to hide.
        assert_eq!(mask("07911 12345"), "0791****345");
        assert_eq!(mask("0791112345"), "079****345");
        assert_eq!(mask("079111234"), "*********");
    }
}

/// A keyed hash of a number (see `vault`): finds a person, a suppression or
/// the texts to a number without the number itself being stored.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MobileHash(String);

impl MobileHash {
    /// Rebuild a hash that the vault computed, or read back from storage.
    pub fn from_trusted(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MobileHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobileHash({}…)", &self.0[..self.0.len().min(8)])
    }
}

impl serde::Serialize for MobileHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
