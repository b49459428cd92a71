//! Mobile numbers in E.164 form, parsed once where they enter Homeward.
//!
//! People type numbers in every shape, so parsing is lenient about layout
//! (spaces, brackets, dashes, digits of any script, what spreadsheets add)
//! and strict about content: a letter is refused rather than read as a
//! keypad digit, because a typed `l` for `1` would silently become somebody
//! else's number.
//!
//! Two doors, for two purposes. [`MobilePolicy::parse`] takes the numbers
//! Homeward will text (people added through the API, files, pages): only
//! the configured countries (`ingest.allowed_regions`) and only numbers that
//! are surely mobiles, since texting a landline or a premium-rate line helps
//! nobody. [`PhoneNumber::parse`] reads numbers that reach us, such as the
//! sender of a STOP or a number an operator opts out: any country's mobile,
//! because refusing to read a STOP would be far worse than reading too much.
//!
//! `Display` and `Debug` mask the number so that it cannot reach a log by
//! accident; the full form is only available through [`PhoneNumber::as_e164`].

use std::fmt;

use phonenumber::{Mode, Type, country, metadata::DATABASE};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::Region;

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
    #[error(
        "is a number in {found}; Homeward is set to text numbers in {allowed} only (ingest.allowed_regions)"
    )]
    OutsideRegions { found: String, allowed: String },
    #[error(
        "may be a landline: numbers in {0} do not show whether they are mobiles, and Homeward texts only numbers that surely are (ingest.accept_fixed_line_or_mobile)"
    )]
    MaybeLandline(Region),
}

impl PhoneNumber {
    /// Read a number that reached us (a reply's sender, an opt-out typed by
    /// an operator): any country's mobile, or a number that may be one,
    /// assuming [`DEFAULT_REGION`] when it has no country code. Numbers
    /// Homeward will text go through [`MobilePolicy::parse`] instead.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let (parsed, kind) = read(input, DEFAULT_REGION)?;
        match kind {
            Type::Mobile | Type::FixedLineOrMobile => Ok(Self::e164(&parsed)),
            other => Err(PhoneError::NotMobile(type_label(other))),
        }
    }

    fn e164(parsed: &phonenumber::PhoneNumber) -> Self {
        Self(parsed.format().mode(Mode::E164).to_string())
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

/// Parse a valid number and tell its type, leaving the caller to judge it.
fn read(input: &str, region: country::Id) -> Result<(phonenumber::PhoneNumber, Type), PhoneError> {
    let cleaned = clean(input)?;
    let parsed = phonenumber::parse(Some(region), &cleaned)
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
    // +44 (the UK and the Crown Dependencies, the hot path of every
    // import) has no national leading zeros, so it skips the read-back.
    if !valid || (parsed.code().value() != 44 && !reads_back(&parsed, region)) {
        return Err(PhoneError::Invalid);
    }
    Ok((parsed, kind))
}

/// Whether the number's E.164 form reads back as the same number. For a
/// few numbering plans with national leading zeros (Gabon, the +881
/// satellite codes) the libphonenumber port drops or adds a zero, so the
/// form it writes reads back as another number (found by the `phone_parse`
/// fuzz target);
/// a stored number must always match the same replies, so such a number is
/// refused rather than kept in a form that names someone else.
fn reads_back(parsed: &phonenumber::PhoneNumber, region: country::Id) -> bool {
    let e164 = parsed.format().mode(Mode::E164).to_string();
    phonenumber::parse(Some(region), &e164)
        .is_ok_and(|again| again.format().mode(Mode::E164).to_string() == e164)
}

/// Which numbers Homeward texts: `ingest.allowed_regions` and
/// `ingest.accept_fixed_line_or_mobile`, read once from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilePolicy {
    regions: Vec<Region>,
    fixed_line_or_mobile: bool,
}

impl MobilePolicy {
    /// `regions` must not be empty; the first is assumed for numbers
    /// written without a country code.
    pub fn new(regions: Vec<Region>, accept_fixed_line_or_mobile: bool) -> Self {
        assert!(!regions.is_empty(), "checked when configuration is read");
        Self {
            regions,
            fixed_line_or_mobile: accept_fixed_line_or_mobile,
        }
    }

    /// The built-in policy: UK mobiles (GB and the Crown Dependencies) only.
    pub fn uk() -> Self {
        let mut regions = vec![Region::GB];
        regions.extend(Region::CROWN_DEPENDENCIES);
        Self::new(regions, false)
    }

    /// Parse a number Homeward may text, as a person typed it.
    pub fn parse(&self, input: &str) -> Result<PhoneNumber, PhoneError> {
        let (parsed, kind) = read(input, self.regions[0].id())?;
        let region = parsed.country().id().and_then(Region::from_id);
        if !region.is_some_and(|r| self.regions.contains(&r)) {
            return Err(PhoneError::OutsideRegions {
                found: region.map_or_else(|| "no country".to_owned(), |r| r.to_string()),
                allowed: self.allowed(),
            });
        }
        match kind {
            Type::Mobile => Ok(PhoneNumber::e164(&parsed)),
            Type::FixedLineOrMobile if self.fixed_line_or_mobile => Ok(PhoneNumber::e164(&parsed)),
            Type::FixedLineOrMobile => Err(PhoneError::MaybeLandline(
                region.expect("an allowed region"),
            )),
            other => Err(PhoneError::NotMobile(type_label(other))),
        }
    }

    /// "GB, GG, JE, IM".
    fn allowed(&self) -> String {
        let codes: Vec<&str> = self.regions.iter().map(|r| r.code()).collect();
        codes.join(", ")
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

/// Fold the forms people paste (full-width digits, digits of other scripts,
/// Unicode dashes and spaces, invisible characters, a spreadsheet's text
/// markers) into ASCII and refuse anything that is not part of a number.
fn clean(input: &str) -> Result<String, PhoneError> {
    let visible: String = input.chars().filter(|c| !is_invisible(*c)).collect();
    let mut out = String::with_capacity(visible.len());
    for c in unwrap_spreadsheet(visible.nfkc().collect::<String>().trim()).chars() {
        let c = match c {
            c if c.is_whitespace() => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
            c => decimal_digit(c).unwrap_or(c),
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

/// Characters that take no space: zero-width spaces and joiners, the
/// byte-order mark, direction marks and isolates, soft hyphens (all of
/// Unicode's format category, Cf), and variation selectors. They arrive
/// with copied numbers and mean nothing in one.
fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        || matches!(c, '\u{034F}' | '\u{FE00}'..='\u{FE0F}')
}

/// What spreadsheets wrap a number in to keep its leading zero: Excel's
/// text prefix `'07911 123459`, or the formula `="07911123459"`.
fn unwrap_spreadsheet(value: &str) -> &str {
    if let Some(quoted) = value.strip_prefix("=\"").and_then(|v| v.strip_suffix('"')) {
        return quoted.trim();
    }
    value.strip_prefix('\'').unwrap_or(value).trim()
}

/// The ASCII digit for a decimal digit of any script (Arabic-Indic ٣,
/// Devanagari ३, Bengali ৩, …); `char::to_digit` knows only ASCII. Unicode
/// promises (its stability policy for Numeric_Type=Decimal) that such
/// digits are encoded in unbroken runs of ten, zero to nine, so a digit's
/// value is its distance from the start of its run, modulo ten for runs
/// that follow each other (the mathematical digits).
fn decimal_digit(c: char) -> Option<char> {
    let is_digit = |c: char| c.general_category() == GeneralCategory::DecimalNumber;
    if c.is_ascii() || !is_digit(c) {
        return None;
    }
    let mut start = c as u32;
    while let Some(prev) = start.checked_sub(1).and_then(char::from_u32) {
        if !is_digit(prev) {
            break;
        }
        start -= 1;
    }
    char::from_digit((c as u32 - start) % 10, 10)
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
    fn every_number_accepted_reads_back_as_itself() {
        // Inputs the phone_parse fuzz target found reading back as others.
        for input in [
            "0024-100052399 -1-2",
            "002410- )002050 .-046",
            "00241000200-(5038",
            "0024100 -0620101-5 ",
            "+881000816081010",
            "07400 123456",
            "+44 7400 123456",
        ] {
            if let Ok(number) = PhoneNumber::parse(input) {
                let again = PhoneNumber::parse(number.as_e164());
                assert_eq!(again.as_ref(), Ok(&number), "{input:?}");
            }
        }
    }

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
    fn what_spreadsheets_and_copying_add_to_a_number_is_taken_off() {
        for typed in [
            "'07911 123459",
            "=\"07911123459\"",
            " =\"07911 123459\" ",
            "\u{FEFF}07911 123459",
            "\u{200B}07911\u{200B}123459\u{2060}",
            "\u{202A}07911 123459\u{202C}",
            "\u{2066}+44 7911 123459\u{2069}\u{200E}\u{200F}",
            "07911\u{00AD}123459",
            "\u{202E}07911 123459\u{202D}",
        ] {
            let phone = PhoneNumber::parse(typed).unwrap_or_else(|e| panic!("{typed:?}: {e}"));
            assert_eq!(phone.as_e164(), "+447911123459", "{typed:?}");
            let phone = MobilePolicy::uk().parse(typed).unwrap();
            assert_eq!(phone.as_e164(), "+447911123459", "{typed:?}");
        }
    }

    #[test]
    fn digits_of_every_script_read_as_the_digits_they_are() {
        let in_script = |zero: u32| -> String {
            "07911 123459"
                .chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => char::from_u32(zero + d).unwrap(),
                    None => c,
                })
                .collect()
        };
        // Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Tamil,
        // Thai, Myanmar, Myanmar Shan, Adlam, mathematical double-struck.
        for zero in [
            0x0660, 0x06F0, 0x0966, 0x09E6, 0x0BE6, 0x0E50, 0x1040, 0x1090, 0x1E950, 0x1D7D8,
        ] {
            let typed = in_script(zero);
            let phone = MobilePolicy::uk()
                .parse(&typed)
                .unwrap_or_else(|e| panic!("U+{zero:04X}: {e}"));
            assert_eq!(phone.as_e164(), "+447911123459", "U+{zero:04X}");
        }
    }

    #[test]
    fn every_decimal_digit_folds_to_one_of_ten_ascii_digits() {
        let folded: Vec<char> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter_map(decimal_digit)
            .collect();
        assert!(
            folded.len() > 600 && folded.len() % 10 == 0,
            "{}",
            folded.len()
        );
        for d in '0'..='9' {
            assert_eq!(
                folded.iter().filter(|c| **c == d).count(),
                folded.len() / 10
            );
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
    fn numbers_outside_the_allowed_countries_are_refused_naming_the_country() {
        let uk = MobilePolicy::uk();
        assert_eq!(
            uk.parse("+33 6 12 34 56 78"),
            Err(PhoneError::OutsideRegions {
                found: "France (FR)".into(),
                allowed: "GB, GG, JE, IM".into(),
            })
        );
        let err = uk.parse("+1 201 555 0123").unwrap_err().to_string();
        assert_eq!(
            err,
            "is a number in the United States (US); Homeward is set to text numbers in GB, GG, JE, IM only (ingest.allowed_regions)"
        );
        for (typed, e164) in [
            ("+44 7781 123456", "+447781123456"),
            ("07797 123456", "+447797123456"),
            ("07624 123456", "+447624123456"),
        ] {
            assert_eq!(uk.parse(typed).unwrap().as_e164(), e164, "{typed}");
        }
        // Inbound senders are read from anywhere, so their STOP counts.
        assert!(PhoneNumber::parse("+33 6 12 34 56 78").is_ok());
        assert!(PhoneNumber::parse("+1 201 555 0123").is_ok());
    }

    #[test]
    fn a_number_that_may_be_a_landline_is_refused_unless_configured() {
        let us: Region = "US".parse().unwrap();
        let strict = MobilePolicy::new(vec![us], false);
        assert_eq!(
            strict.parse("+1 201 555 0123"),
            Err(PhoneError::MaybeLandline(us))
        );
        let lenient = MobilePolicy::new(vec![us], true);
        assert_eq!(
            lenient.parse("(201) 555-0123").unwrap().as_e164(),
            "+12015550123"
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
