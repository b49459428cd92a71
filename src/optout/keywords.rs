//! What a reply means: opt out, opt in, help, or something a person must read.
//!
//! The rules, in order (README, "Opt-out and replies", says the same):
//!
//! 1. **Opt out** when the whole message is an opt-out word, read
//!    generously ([`keyword_form`]): characters that draw nothing dropped,
//!    full-width and other compatibility forms folded (NFKC), look-alike
//!    letters folded (Cyrillic, Greek, small capitals: "SТОР", "ꜱᴛᴏᴘ"), case
//!    ignored, spaces and punctuation trimmed at both ends ("Stop." is STOP;
//!    "stop it" is not). Mistaking a stop for something else keeps texting
//!    someone who asked us not to.
//! 2. **Opt in** only when the message is exactly an opt-in word: white
//!    space trimmed, case ignored, ASCII letters and nothing else. Anything
//!    that merely looks like one ("Start!!", "ＹＥＳ", "UNSTOP.") is
//!    [`Intent::OptInLike`], for a person to ask: texting someone who asked
//!    us to stop costs far more than a missed restart.
//! 3. **Help** when the whole message is a help word, read as in 1.
//! 4. Otherwise the message is read as words ([`Words`]: marks and
//!    punctuation can never hide a word) and matched against phrase lists:
//!    wrong number, then stop-like (also a stop spelt out, "S T O P"), then
//!    "who is this?", else an ordinary reply.
//!
//! Every list comes from configuration (`[optout]` in
//! `config/default.toml`), the only place the defaults are written.

use super::fold::{Words, keyword_form, without_invisibles};
use crate::config::{OptOutSettings, Settings};

/// What a reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    OptOut,
    OptIn,
    /// Looks like an opt-in word but is not exactly one ("Start!!"): never
    /// re-subscribes; staff ask the person.
    OptInLike,
    Help,
    /// Asks who is texting ("who's this?"): gets the HELP reply, and staff
    /// are told.
    WhoIsThis,
    /// Clearly "wrong number": suppress for that person, and tell staff.
    WrongNumber,
    /// Means stop but is not a keyword ("please stop texting me"): staff review.
    StopLike,
    /// Anything else: a human should read it.
    Other,
}

impl Intent {
    /// The name stored with the reply and shown to API clients; stable.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptOut => "opt_out",
            Self::OptIn => "opt_in",
            Self::OptInLike => "start_like",
            Self::Help => "help",
            Self::WhoIsThis => "who_is_this",
            Self::WrongNumber => "wrong_number",
            Self::StopLike => "stop_like",
            Self::Other => "other",
        }
    }
}

/// A phrase to look for in a reply.
#[derive(Debug, Clone)]
enum Phrase {
    /// Whole words, in order.
    Words(Words),
    /// A phrase with no letter or digit ("🛑"), found as written.
    Symbols(String),
}

impl Phrase {
    fn new(text: &str) -> Self {
        let words = Words::of(text);
        if words.is_empty() {
            Self::Symbols(without_invisibles(text).trim().to_owned())
        } else {
            Self::Words(words)
        }
    }

    fn is_in(&self, words: &Words, visible: &str) -> bool {
        match self {
            Self::Words(phrase) => words.contain(phrase),
            Self::Symbols(symbols) => !symbols.is_empty() && visible.contains(symbols.as_str()),
        }
    }
}

/// The words and phrases to match, read from configuration once.
#[derive(Debug, Clone)]
pub struct Keywords {
    opt_out: Vec<String>,
    opt_in: Vec<String>,
    help: Vec<String>,
    stop_phrases: Vec<Phrase>,
    wrong_number_phrases: Vec<Phrase>,
    who_phrases: Vec<Phrase>,
    /// Opt-out words and stop phrases as bare letters, for a stop spelt
    /// out ("S T O P", "ST\nOP").
    spelt_stops: Vec<String>,
    /// Opt-in words as bare letters, for what looks like one.
    spelt_opt_ins: Vec<String>,
}

/// The built-in lists: exactly `[optout]` of `config/default.toml`.
impl Default for Keywords {
    fn default() -> Self {
        let settings = Settings::defaults_with(&[]).expect("the built-in configuration is valid");
        Self::new(&settings.optout)
    }
}

impl Keywords {
    pub fn new(settings: &OptOutSettings) -> Self {
        let keywords = |list: &[String]| list.iter().map(|w| keyword_form(w)).collect();
        let phrases = |list: &[String]| list.iter().map(|p| Phrase::new(p)).collect();
        let spelt = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|w| Words::of(w).squashed())
                .filter(|w| !w.is_empty())
                .collect()
        };
        let mut spelt_stops = spelt(&settings.opt_out_words);
        spelt_stops.extend(spelt(&settings.stop_phrases));
        let who: Vec<String> = settings.who_phrases.values().flatten().cloned().collect();
        Self {
            opt_out: keywords(&settings.opt_out_words),
            opt_in: settings.opt_in_words.clone(),
            help: keywords(&settings.help_words),
            stop_phrases: phrases(&settings.stop_phrases),
            wrong_number_phrases: phrases(&settings.wrong_number_phrases),
            who_phrases: phrases(&who),
            spelt_stops,
            spelt_opt_ins: spelt(&settings.opt_in_words),
        }
    }

    pub fn classify(&self, text: &str) -> Intent {
        let keyword = keyword_form(text);
        if self.opt_out.contains(&keyword) {
            return Intent::OptOut;
        }
        if self.is_exact_opt_in(text) {
            return Intent::OptIn;
        }
        if self.help.contains(&keyword) {
            return Intent::Help;
        }
        self.read_as_words(text)
    }

    /// START, YES, UNSTOP and nothing else: ASCII letters only, any case,
    /// white space trimmed. No folding, on purpose.
    fn is_exact_opt_in(&self, text: &str) -> bool {
        let text = text.trim();
        text.bytes().all(|b| b.is_ascii_alphabetic())
            && self.opt_in.iter().any(|w| w.eq_ignore_ascii_case(text))
    }

    fn read_as_words(&self, text: &str) -> Intent {
        let words = Words::of(text);
        let squashed = words.squashed();
        if self.spelt_opt_ins.contains(&squashed) {
            return Intent::OptInLike;
        }
        let visible = without_invisibles(text);
        let has = |phrases: &[Phrase]| phrases.iter().any(|p| p.is_in(&words, &visible));
        if has(&self.wrong_number_phrases) {
            Intent::WrongNumber
        } else if has(&self.stop_phrases) || self.spelt_stops.contains(&squashed) {
            Intent::StopLike
        } else if has(&self.who_phrases) {
            Intent::WhoIsThis
        } else {
            Intent::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(text: &str) -> Intent {
        Keywords::default().classify(text)
    }

    fn assert_all(texts: &[&str], expected: Intent) {
        let keywords = Keywords::default();
        for text in texts {
            assert_eq!(keywords.classify(text), expected, "{text:?}");
        }
    }

    /// Stop-like or stronger: never filed as an ordinary reply.
    fn assert_read_as_stop(texts: &[&str]) {
        let keywords = Keywords::default();
        for text in texts {
            let got = keywords.classify(text);
            assert!(
                matches!(got, Intent::OptOut | Intent::StopLike),
                "{text:?} was read as {got:?}"
            );
        }
    }

    #[test]
    fn stop_words_are_matched_on_the_whole_message_in_any_case_with_punctuation() {
        assert_all(
            &[
                "STOP",
                "stop",
                " Stop. ",
                "STOP!!",
                "«STOP»",
                "stop。",
                "stopall",
                "Unsubscribe",
                "opt-out",
                "Opt Out",
                "REMOVE",
                "end",
                "quit",
            ],
            Intent::OptOut,
        );
    }

    #[test]
    fn full_width_lookalike_and_small_capital_stops_are_stops() {
        assert_all(
            &[
                "ＳＴＯＰ",
                "S\u{0422}\u{041E}\u{0420}",
                "\u{0455}top",
                "ꜱᴛᴏᴘ",
                "Sᴛᴏᴘ",
                "\u{1F1F8}\u{1F1F9}\u{1F1F4}\u{1F1F5}",
                "𝐒𝐓𝐎𝐏",
                "Ⓢⓣⓞⓟ",
            ],
            Intent::OptOut,
        );
    }

    #[test]
    fn invisible_and_formatting_characters_never_hide_a_stop() {
        assert_all(
            &[
                "\u{2060}STOP",
                "STO\u{AD}P",
                "\u{200B}STOP\u{200B}",
                "\u{FEFF}Stop",
                "S\u{200C}T\u{200D}OP",
                "STOP\u{FE0F}",
                "ST\u{E0100}OP",
                "\u{200E}STOP\u{200F}",
                "\u{202E}STOP\u{202C}",
                "\u{2066}STOP\u{2069}",
                "\u{180E}STOP",
                "S\u{034F}TOP",
                "STOP\u{E0001}\u{E0073}\u{E007F}",
                "\u{2060}ꜱᴛᴏᴘ.",
            ],
            Intent::OptOut,
        );
        assert_eq!(intent("\u{2060}HELP"), Intent::Help);
    }

    #[test]
    fn punctuation_never_hides_a_stop_word_in_a_longer_reply() {
        assert_read_as_stop(&[
            "Stop. Cheers",
            "Stop, please",
            "STOP!thanks",
            "stop,thanks",
            "Stop…thanks",
            "(stop) ta",
            "stop-texting-me",
            "Please—stop",
            "STOP/UNSUBSCRIBE now",
            "Stop cheers",
        ]);
    }

    #[test]
    fn decorated_marked_and_spread_out_stops_are_at_least_stop_like() {
        assert_read_as_stop(&[
            "STOP 🛑",
            "🛑🛑 stop 🛑🛑",
            "🛑",
            "⛔️",
            "stop 😡😡",
            "S\u{336}T\u{336}O\u{336}P\u{336}",
            "S̲T̲O̲P̲",
            "STÓP",
            "S T O P",
            "S\nT\nO\nP",
            "ST\nOP",
            "S.T.O.P",
            "s-t-o-p texting",
            "ST0P",
            "STOP\n\n-- \nSent from my iPhone",
            "Stop\nKind regards\nJo",
            "STOP ꜱᴇɴᴅɪɴɢ",
        ]);
    }

    #[test]
    fn a_sentence_that_asks_us_to_stop_is_stop_like() {
        assert_all(
            &[
                "please stop texting me",
                "Don't text me again",
                "don’t text me again",
                "I do not want any more reminders",
                "no more texts please",
                "No more messages!!",
                "I don't want these messages",
                "dont want any texts",
                "I no longer want reminders",
                "take me off your list",
                "remove me from this",
                "leave me alone",
                "not interested, thanks",
                "please unsubscribe me",
                "I want to opt out",
                "do not contact me",
                "dont send me anything",
            ],
            Intent::StopLike,
        );
    }

    #[test]
    fn only_the_exact_plain_opt_in_word_resubscribes() {
        assert_all(
            &["START", "start", "yes", "Yes", " UNSTOP ", "unstop\n"],
            Intent::OptIn,
        );
        for text in [
            "Start!!",
            "yes..",
            "UNSTOP.",
            "Unstop.",
            "ＹＥＳ",
            "ｓｔａｒｔ",
            "\u{0405}TART",
            "\u{2060}START",
            "STA\u{AD}RT",
            "S T A R T",
            "start 👍",
            "ꜱᴛᴀʀᴛ",
            "yés",
        ] {
            assert_eq!(intent(text), Intent::OptInLike, "{text:?}");
        }
    }

    #[test]
    fn help_is_help() {
        assert_all(&["help", "Info?", "HELP!", "ʜᴇʟᴘ"], Intent::Help);
    }

    #[test]
    fn asking_who_is_texting_is_who_is_this_in_english_and_polish() {
        assert_all(
            &[
                "who's this",
                "Who is this?",
                "who are you?",
                "whos this",
                "who dis",
                "who is texting me",
                "Who’s this??",
                "hi, who is this please",
                "WHO IS THIS",
                "Kto to?",
                "kto mówi",
                "Kto mowi?",
                "kto pisze?",
                "kim jesteś?",
            ],
            Intent::WhoIsThis,
        );
    }

    #[test]
    fn wrong_numbers_and_ordinary_replies_are_for_a_person_to_read() {
        assert_all(
            &[
                "Wrong number!",
                "sorry this is the wrong number mate",
                "who is this? wrong number",
                "no one called Alex here",
                "don’t know you",
            ],
            Intent::WrongNumber,
        );
        assert_all(
            &[
                "thanks see you tuesday",
                "Christopher",
                "Stopford Road, is that right?",
                "ok",
                "",
                "👍",
                "yes I will be there",
            ],
            Intent::Other,
        );
        assert_eq!(
            intent("who is this? stop texting me"),
            Intent::StopLike,
            "a stop outranks a question"
        );
    }

    #[test]
    fn intent_names_stay_stable_for_api_clients() {
        let names: Vec<&str> = [
            Intent::OptOut,
            Intent::OptIn,
            Intent::OptInLike,
            Intent::Help,
            Intent::WhoIsThis,
            Intent::WrongNumber,
            Intent::StopLike,
            Intent::Other,
        ]
        .map(Intent::as_str)
        .to_vec();
        assert_eq!(
            names,
            [
                "opt_out",
                "opt_in",
                "start_like",
                "help",
                "who_is_this",
                "wrong_number",
                "stop_like",
                "other"
            ]
        );
    }

    /// The lists are written once, in `config/default.toml`: read the file
    /// itself here, not through `Settings`, and compare.
    #[test]
    fn the_default_lists_are_the_ones_in_config_default_toml() {
        let file: toml::Table = include_str!("../../config/default.toml").parse().unwrap();
        let optout = file["optout"].as_table().unwrap();
        let list = |key: &str| -> Vec<String> {
            optout[key]
                .as_array()
                .unwrap_or_else(|| panic!("optout.{key}"))
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let mut who: Vec<String> = Vec::new();
        for phrases in optout["who_phrases"].as_table().unwrap().values() {
            who.extend(
                phrases
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned()),
            );
        }
        let from_file = OptOutSettings {
            opt_out_words: list("opt_out_words"),
            opt_in_words: list("opt_in_words"),
            help_words: list("help_words"),
            stop_phrases: list("stop_phrases"),
            wrong_number_phrases: list("wrong_number_phrases"),
            who_phrases: [("all".to_owned(), who)].into(),
            silent_days: 1,
        };
        let from_file = Keywords::new(&from_file);
        let built_in = Keywords::default();
        assert_eq!(format!("{from_file:?}"), format!("{built_in:?}"));
        assert!(
            optout["wrong_number_phrases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.as_str() == Some("no one called")),
            "the phrase once only in the code is in the file now"
        );
    }

    #[test]
    fn configured_phrases_replace_the_built_in_ones() {
        let mut settings = Settings::defaults_with(&[]).unwrap().optout;
        settings.stop_phrases = vec!["enough now".into()];
        settings.who_phrases = [("en".to_owned(), vec!["who goes there".to_owned()])].into();
        let keywords = Keywords::new(&settings);
        assert_eq!(keywords.classify("Enough. Now!"), Intent::StopLike);
        assert_eq!(keywords.classify("who goes there?"), Intent::WhoIsThis);
        assert_eq!(keywords.classify("who is this?"), Intent::Other);
        assert_eq!(keywords.classify("STOP"), Intent::OptOut, "keywords stay");
    }
}
