//! `Keywords::classify` (the default keywords) on any reply text.
//!
//! Properties: it never panics; it reads the same text the same way; spaces
//! around a reply change nothing; and a reply that is exactly a keyword
//! (ASCII letters, any case, surrounding whitespace) gets that keyword's
//! intent, opt-out first; and only such an exact START, YES or UNSTOP
//! re-subscribes.
#![no_main]

use homeward::config::{OptOutSettings, Settings};
use homeward::optout::{Intent, Keywords};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static KEYWORDS: LazyLock<Keywords> = LazyLock::new(Keywords::default);
static WORDS: LazyLock<OptOutSettings> =
    LazyLock::new(|| Settings::defaults_with(&[]).expect("built-in settings").optout);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let intent = KEYWORDS.classify(&text);
    assert_eq!(
        KEYWORDS.classify(&text),
        intent,
        "classify is deterministic"
    );
    assert_eq!(
        KEYWORDS.classify(&format!(" \n{text}\t ")),
        intent,
        "surrounding whitespace changed the intent"
    );
    if let Some(expected) = exact_keyword(&text) {
        assert_eq!(intent, expected, "an exact keyword was misread");
    }
    if intent == Intent::OptIn {
        assert_eq!(
            exact_keyword(&text),
            Some(Intent::OptIn),
            "only an exact opt-in word re-subscribes"
        );
    }
});

/// The intent of a reply that is exactly one configured keyword.
fn exact_keyword(text: &str) -> Option<Intent> {
    let word = text.trim();
    let is = |words: &[String]| words.iter().any(|w| w.eq_ignore_ascii_case(word));
    if word.is_empty() || !word.is_ascii() {
        None
    } else if is(&WORDS.opt_out_words) {
        Some(Intent::OptOut)
    } else if is(&WORDS.opt_in_words) {
        Some(Intent::OptIn)
    } else if is(&WORDS.help_words) {
        Some(Intent::Help)
    } else {
        None
    }
}
