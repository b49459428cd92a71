//! Checks on a text a worker types (a reply in the inbox, a one-off message):
//! the rules templates pass, applied before anything is stored.
//!
//! A typed text has no template author to fix it later, so what a template
//! check reports as an error is a refusal here, named so the worker can
//! change it: a disclosing word, something shaped like a reference number,
//! a link where links are not allowed, a text too long to be one message.
//! A text of more than one segment is allowed only when the worker confirms
//! it, since each segment costs as much as a text.

use super::check::CheckRules;
use super::readability::{Readability, readability};
use super::rules;
use super::sms::{self, SmsAnalysis};
use crate::domain::{MessageBody, PlainText, TextError};

/// The most segments a typed text may use: a reply is a conversation, not
/// a letter.
pub const MAX_SEGMENTS: usize = 3;

/// Longest token tested for the shape of a reference number.
const MAX_REFERENCE_LEN: usize = 20;

/// What is wrong with a typed text, or worth a second look. Each message is
/// a sentence a worker can act on; it quotes only the word at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypedProblem {
    #[error("Enter the text to send")]
    Empty,
    #[error("The text {0}")]
    NotPlain(TextError),
    #[error("The text needs {segments} segments; at most {MAX_SEGMENTS} are allowed")]
    TooLong { segments: usize },
    #[error(
        "The text says \"{phrase}\", which could tell whoever reads the phone about prison or supervision"
    )]
    Disclosing { phrase: String },
    #[error(
        "The text contains \"{word}\", which looks like a reference number; a text must never carry one"
    )]
    Identifier { word: String },
    #[error("The text contains the link {link}; links are not allowed in texts")]
    Link { link: String },
    #[error("The text is {segments} segments long, so it costs as much as {segments} texts")]
    Segments { segments: usize },
}

/// A typed text as it would be sent, with what the checks found.
#[derive(Debug, Clone)]
pub struct TypedCheck {
    /// Trimmed and normalised as every text is before it is sent.
    pub text: MessageBody,
    pub analysis: SmsAnalysis,
    pub readability: Readability,
    /// Any one of these means the text cannot be sent.
    pub refusals: Vec<TypedProblem>,
    /// These need the worker to confirm.
    pub warnings: Vec<TypedProblem>,
}

impl TypedCheck {
    /// Whether the text may be sent, given whether the worker confirmed
    /// the warnings.
    #[must_use]
    pub fn may_send(&self, confirmed: bool) -> bool {
        self.problems(confirmed).is_ok()
    }

    /// What stops the text being sent: its refusals, or else the warnings
    /// the worker has not confirmed.
    pub fn problems(&self, confirmed: bool) -> Result<(), Vec<TypedProblem>> {
        match (
            self.refusals.is_empty(),
            confirmed || self.warnings.is_empty(),
        ) {
            (true, true) => Ok(()),
            (true, false) => Err(self.warnings.clone()),
            (false, _) => Err(self.refusals.clone()),
        }
    }
}

/// Check `input` against `rules`. `reference` is the person's own reference,
/// refused wherever it appears.
#[must_use]
pub fn check_typed(input: &str, rules: &CheckRules, reference: Option<&str>) -> TypedCheck {
    let text = sms::normalise(&input.replace("\r\n", "\n"))
        .trim()
        .to_owned();
    let analysis = sms::analyse(&text);
    let mut refusals = Vec::new();
    if let Err(e) = PlainText::parse(&text.replace('\n', " "), usize::MAX) {
        refusals.push(match e {
            TextError::Empty => TypedProblem::Empty,
            other => TypedProblem::NotPlain(other),
        });
    }
    if analysis.segments > MAX_SEGMENTS {
        refusals.push(TypedProblem::TooLong {
            segments: analysis.segments,
        });
    }
    refusals.extend(disclosing(&text, rules));
    refusals.extend(identifiers(&text, reference));
    if !rules.allow_links {
        refusals.extend(
            rules::links(&text)
                .into_iter()
                .map(|link| TypedProblem::Link { link }),
        );
    }
    let warnings = if analysis.segments > 1 && analysis.segments <= MAX_SEGMENTS {
        vec![TypedProblem::Segments {
            segments: analysis.segments,
        }]
    } else {
        Vec::new()
    };
    TypedCheck {
        readability: readability(&text),
        text: MessageBody::new(text),
        analysis,
        refusals,
        warnings,
    }
}

/// Each disclosing phrase once, in the order it appears.
fn disclosing(text: &str, rules: &CheckRules) -> Vec<TypedProblem> {
    let mut found: Vec<TypedProblem> = Vec::new();
    for m in rules.disclosing.find_all(text) {
        let problem = TypedProblem::Disclosing {
            phrase: m.phrase.to_owned(),
        };
        if !found.contains(&problem) {
            found.push(problem);
        }
    }
    found
}

/// The person's reference wherever it appears, and any word shaped like a
/// reference number: letters and at least three digits together ("A123456",
/// "SPS-12345"). Times ("10:30am"), postcodes ("G12 8QQ") and phone numbers
/// (digits only) are not.
fn identifiers(text: &str, reference: Option<&str>) -> Vec<TypedProblem> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    if let Some(reference) = reference.filter(|r| r.chars().count() >= 4) {
        if lower.contains(&reference.to_lowercase()) {
            found.push(TypedProblem::Identifier {
                word: reference.to_owned(),
            });
        }
    }
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        if looks_like_reference(word) && !found.iter().any(|p| names(p, word)) {
            found.push(TypedProblem::Identifier {
                word: word.to_owned(),
            });
        }
    }
    found
}

fn looks_like_reference(word: &str) -> bool {
    let shaped = word.len() <= MAX_REFERENCE_LEN
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/');
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    shaped && digits >= 3 && letters >= 1 && !is_ordinal_or_time(word)
}

/// "100th", "1030am": a number with an everyday ending.
fn is_ordinal_or_time(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    ["st", "nd", "rd", "th", "am", "pm"].iter().any(|end| {
        lower
            .strip_suffix(end)
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
    })
}

fn names(problem: &TypedProblem, word: &str) -> bool {
    matches!(problem, TypedProblem::Identifier { word: w } if w.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::disclosure::PhraseList;

    fn rules() -> CheckRules {
        CheckRules {
            min_reading_ease: 60.0,
            max_words_per_sentence: 15,
            allow_links: false,
            gsm7_languages: Vec::new(),
            disclosing: PhraseList::new(["prison", "court", "licence", "parole officer"]),
            jargon: PhraseList::new(["GP"]),
        }
    }

    #[test]
    fn a_short_plain_reply_may_be_sent_without_confirming() {
        let c = check_typed(
            "  Hi Sam, it's Anna from the support team. Call me back?\r\n",
            &rules(),
            None,
        );
        assert_eq!(
            c.text.as_str(),
            "Hi Sam, it's Anna from the support team. Call me back?"
        );
        assert_eq!(c.analysis.segments, 1);
        assert!(c.may_send(false), "{:?} {:?}", c.refusals, c.warnings);
    }

    #[test]
    fn disclosing_words_are_refused_and_named_once_each() {
        let c = check_typed(
            "Your Parole Officer says prison rules, PRISON again",
            &rules(),
            None,
        );
        let phrases: Vec<String> = c.refusals.iter().map(ToString::to_string).collect();
        assert_eq!(phrases.len(), 2, "{phrases:?}");
        assert!(phrases[0].contains("\"parole officer\""), "{phrases:?}");
        assert!(phrases[1].contains("\"prison\""), "{phrases:?}");
        assert!(!c.may_send(true));
    }

    #[test]
    fn reference_numbers_and_the_persons_own_reference_are_refused() {
        let c = check_typed(
            "Quote A123456 or sps-12345 and ref hw77 please",
            &rules(),
            Some("HW77"),
        );
        let words: Vec<&str> = c
            .refusals
            .iter()
            .filter_map(|p| match p {
                TypedProblem::Identifier { word } => Some(word.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(words, ["HW77", "A123456", "sps-12345"]);
    }

    #[test]
    fn times_postcodes_ordinals_and_phone_numbers_are_not_references() {
        let c = check_typed(
            "See you at 10:30am or 1030am on the 100th day at G12 8QQ. Call 0800 22 44 88.",
            &rules(),
            None,
        );
        assert!(c.refusals.is_empty(), "{:?}", c.refusals);
    }

    #[test]
    fn links_follow_the_setting() {
        let text = "Read nhsinform.scot for help";
        let refused = check_typed(text, &rules(), None);
        assert_eq!(
            refused.refusals,
            [TypedProblem::Link {
                link: "nhsinform.scot".into()
            }]
        );
        let allowed = CheckRules {
            allow_links: true,
            ..rules()
        };
        assert!(check_typed(text, &allowed, None).refusals.is_empty());
    }

    #[test]
    fn two_segments_need_confirming_and_four_are_refused() {
        let two = check_typed(&"Hello there. ".repeat(14), &rules(), None);
        assert_eq!(two.warnings, [TypedProblem::Segments { segments: 2 }]);
        assert!(!two.may_send(false));
        assert!(two.may_send(true));
        let four = check_typed(&"Hello there. ".repeat(45), &rules(), None);
        assert_eq!(four.refusals, [TypedProblem::TooLong { segments: 4 }]);
        assert!(four.warnings.is_empty());
    }

    #[test]
    fn empty_text_and_hidden_characters_are_refused() {
        assert_eq!(
            check_typed(" \n ", &rules(), None).refusals,
            [TypedProblem::Empty]
        );
        let hidden = check_typed("Hi\u{202E}there", &rules(), None);
        assert!(matches!(hidden.refusals[..], [TypedProblem::NotPlain(_)]));
    }
}
