//! What a reply means: opt out, opt in, help, or something a person must read.
//!
//! A keyword is the whole message after trimming whitespace and punctuation
//! and folding case, as the large providers match them ("Stop." and
//! " STOP " are STOP; "stop it" is not a keyword). Full-width and other
//! compatibility forms are folded first (NFKC), so "ＳＴＯＰ" is STOP.
//!
//! Look-alikes are treated asymmetrically, on purpose. For opting *out*,
//! Cyrillic and Greek letters that look like Latin ones are folded too
//! ("SТОР" typed on a Cyrillic keyboard means STOP): mistaking a stop for
//! something else keeps texting someone who asked us not to. For opting
//! back *in* only plain Latin letters count, so nothing resembling START by
//! accident re-subscribes anyone.

use unicode_normalization::UnicodeNormalization;

/// What a reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    OptOut,
    OptIn,
    Help,
    /// Clearly "wrong number": suppress for that person, and tell staff.
    WrongNumber,
    /// Means stop but is not a keyword ("please stop texting me"): staff review.
    StopLike,
    /// Anything else: a human should read it.
    Other,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptOut => "opt_out",
            Self::OptIn => "opt_in",
            Self::Help => "help",
            Self::WrongNumber => "wrong_number",
            Self::StopLike => "stop_like",
            Self::Other => "other",
        }
    }
}

/// The words and phrases to match, from configuration.
#[derive(Debug, Clone)]
pub struct Keywords {
    pub opt_out: Vec<String>,
    pub opt_in: Vec<String>,
    pub help: Vec<String>,
    pub stop_phrases: Vec<String>,
    pub wrong_number_phrases: Vec<String>,
}

pub const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT-OUT",
    "OPT OUT",
    "REVOKE",
    "REMOVE",
];
pub const OPT_IN: &[&str] = &["START", "YES", "UNSTOP"];
pub const HELP: &[&str] = &["HELP", "INFO"];
pub const STOP_PHRASES: &[&str] = &[
    "stop",
    "unsubscribe",
    "don't text",
    "dont text",
    "do not text",
    "don't message",
    "do not message",
    "no more texts",
    "no more messages",
    "leave me alone",
    "not interested",
    "take me off",
];
pub const WRONG_NUMBER_PHRASES: &[&str] = &[
    "wrong number",
    "wrong person",
    "not me",
    "don't know you",
    "dont know you",
    "do not know you",
    "no one called",
];

impl Default for Keywords {
    fn default() -> Self {
        let own = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect();
        Self {
            opt_out: own(OPT_OUT),
            opt_in: own(OPT_IN),
            help: own(HELP),
            stop_phrases: own(STOP_PHRASES),
            wrong_number_phrases: own(WRONG_NUMBER_PHRASES),
        }
    }
}

impl Keywords {
    pub fn classify(&self, text: &str) -> Intent {
        let generous = keyword_form(text, true);
        if matches_any(&generous, &self.opt_out) {
            return Intent::OptOut;
        }
        let strict = keyword_form(text, false);
        if matches_any(&strict, &self.opt_in) {
            return Intent::OptIn;
        }
        if matches_any(&generous, &self.help) {
            return Intent::Help;
        }
        let words = format!(" {} ", generous.to_lowercase());
        let contains = |phrases: &[String]| {
            phrases
                .iter()
                .any(|p| words.contains(&format!(" {} ", keyword_form(p, true).to_lowercase())))
        };
        if contains(&self.wrong_number_phrases) {
            Intent::WrongNumber
        } else if contains(&self.stop_phrases) {
            Intent::StopLike
        } else {
            Intent::Other
        }
    }
}

fn matches_any(form: &str, words: &[String]) -> bool {
    words.iter().any(|w| keyword_form(w, false) == form)
}

/// NFKC, optional look-alike folding, upper case, punctuation trimmed at
/// both ends and inside runs of spaces collapsed.
fn keyword_form(text: &str, fold_lookalikes: bool) -> String {
    let folded: String = text
        .nfkc()
        .map(|c| {
            if fold_lookalikes {
                latin_lookalike(c)
            } else {
                c
            }
        })
        .flat_map(char::to_uppercase)
        .collect();
    let trimmed = folded.trim_matches(|c: char| {
        c.is_whitespace() || c.is_ascii_punctuation() || is_other_punctuation(c)
    });
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_other_punctuation(c: char) -> bool {
    matches!(
        c,
        '¡' | '¿' | '‼' | '…' | '“' | '”' | '‘' | '’' | '«' | '»' | '—' | '–'
    )
}

/// Cyrillic and Greek letters drawn like Latin ones.
fn latin_lookalike(c: char) -> char {
    match c {
        'А' | 'а' | 'Α' | 'α' => 'A',
        'В' | 'Β' | 'в' => 'B',
        'С' | 'с' | 'ϲ' => 'C',
        'Е' | 'е' | 'Ε' | 'ε' => 'E',
        'Н' | 'н' | 'Η' => 'H',
        'І' | 'і' | 'Ι' | 'ι' => 'I',
        'К' | 'к' | 'Κ' | 'κ' => 'K',
        'М' | 'м' | 'Μ' => 'M',
        'О' | 'о' | 'Ο' | 'ο' => 'O',
        'Р' | 'р' | 'Ρ' | 'ρ' => 'P',
        'Ѕ' | 'ѕ' => 'S',
        'Т' | 'т' | 'Τ' | 'τ' => 'T',
        'Х' | 'х' | 'Χ' | 'χ' => 'X',
        'У' | 'у' | 'Υ' => 'Y',
        'Ν' => 'N',
        'Ζ' => 'Z',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(text: &str) -> Intent {
        Keywords::default().classify(text)
    }

    #[test]
    fn stop_words_are_matched_on_the_whole_message_in_any_case_with_punctuation() {
        for text in [
            "STOP",
            "stop",
            " Stop. ",
            "STOP!!",
            "stopall",
            "Unsubscribe",
            "opt-out",
            "Opt Out",
            "REMOVE",
            "end",
            "quit",
        ] {
            assert_eq!(intent(text), Intent::OptOut, "{text:?}");
        }
    }

    #[test]
    fn full_width_and_lookalike_stops_are_stops() {
        assert_eq!(intent("ＳＴＯＰ"), Intent::OptOut);
        assert_eq!(
            intent("S\u{0422}\u{041E}\u{0420}"),
            Intent::OptOut,
            "Cyrillic T, O, P"
        );
        assert_eq!(intent("\u{0455}top"), Intent::OptOut, "Cyrillic s");
    }

    #[test]
    fn only_plain_latin_start_resubscribes() {
        assert_eq!(intent("START"), Intent::OptIn);
        assert_eq!(intent("yes"), Intent::OptIn);
        assert_eq!(intent("Unstop."), Intent::OptIn);
        assert_ne!(
            intent("\u{0405}TART"),
            Intent::OptIn,
            "Cyrillic S is not START"
        );
    }

    #[test]
    fn help_is_help() {
        assert_eq!(intent("help"), Intent::Help);
        assert_eq!(intent("Info?"), Intent::Help);
    }

    #[test]
    fn stop_like_text_and_wrong_numbers_are_for_a_person_to_read() {
        assert_eq!(intent("please stop texting me"), Intent::StopLike);
        assert_eq!(intent("Don't text me again"), Intent::StopLike);
        assert_eq!(intent("Wrong number!"), Intent::WrongNumber);
        assert_eq!(
            intent("sorry this is the wrong number mate"),
            Intent::WrongNumber
        );
        assert_eq!(intent("who is this?"), Intent::Other);
        assert_eq!(intent("thanks see you tuesday"), Intent::Other);
        assert_eq!(
            intent("Christopher"),
            Intent::Other,
            "stop inside a word is not stop"
        );
    }
}
