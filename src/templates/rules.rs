//! Heuristics for the habits that help people who read with difficulty:
//! numbers that can be read out, one thing to do per text, no links, and no
//! variable that could carry an identifier into a text.
//!
//! They are deliberately simple and documented, like a linter's rules, so an
//! author can predict them; each errs towards flagging, since a reworded
//! template costs minutes and a confusing text may cost an appointment.

use super::disclosure::PhraseList;

/// Runs of more than this many digits are hard to read out or remember.
const MAX_DIGIT_GROUP: usize = 4;

/// Each run of five or more digits in a row: "08002244 88" has one, while
/// "0800 22 44 88", "0141 211 3000" and "111" have none. Times ("2:30pm")
/// and years ("2025") pass.
#[must_use]
pub fn ungrouped_numbers(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            current.push(c);
        } else {
            if current.len() > MAX_DIGIT_GROUP {
                runs.push(current.clone());
            }
            current.clear();
        }
    }
    runs
}

/// Verbs that ask the reader to do something, grouped by the action: "call"
/// and "ring" are one action, "call" and "reply" are two.
const ACTION_VERBS: &[(&str, &str)] = &[
    ("call", "call"),
    ("phone", "call"),
    ("ring", "call"),
    ("contact", "call"),
    ("text", "text"),
    ("reply", "text"),
    ("send", "text"),
    ("email", "email"),
    ("visit", "visit"),
    ("go", "visit"),
    ("come", "visit"),
    ("attend", "visit"),
    ("register", "register"),
    ("book", "book"),
    ("click", "link"),
    ("tap", "link"),
    ("open", "link"),
];

/// Words after which a verb is still an instruction: "Please call".
const SOFTENERS: &[&str] = &["please", "just", "then"];

/// The distinct actions a text asks for, as the first verb found for each.
///
/// An action verb counts when it is used as an instruction: at the start of
/// the text, a sentence or a clause (after `. ! ? : ; ,`) or after "please",
/// "just" or "then". "If you cannot go, call 0800 22 44 88" asks for one
/// action; "You can register even if…" asks for none; "Call 111 or reply
/// HELP" asks for two. Calling two numbers is still one action (calling).
#[must_use]
pub fn calls_to_action(text: &str) -> Vec<String> {
    let mut found: Vec<(&str, String)> = Vec::new();
    let mut previous: Option<&str> = None;
    for token in text.split_whitespace() {
        let word = token
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let instruction = previous.is_none_or(|p| {
            p.ends_with(['.', '!', '?', ':', ';', ','])
                || SOFTENERS.contains(&p.to_lowercase().as_str())
        });
        let action = ACTION_VERBS.iter().find(|(verb, _)| *verb == word);
        if let (true, Some((_, action))) = (instruction, action) {
            if !found.iter().any(|(a, _)| a == action) {
                found.push((action, word));
            }
        }
        previous = Some(token);
    }
    found.into_iter().map(|(_, word)| word).collect()
}

/// Web addresses and email addresses: a word with `://`, starting `www.`,
/// with an `@` before a dot, or shaped like a domain (`nhsinform.scot`: dot
/// separated parts ending in 2-6 lowercase letters).
#[must_use]
pub fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|t| {
            t.trim_matches(|c: char| {
                matches!(
                    c,
                    '(' | ')' | ',' | '.' | '!' | '?' | ';' | ':' | '"' | '\''
                )
            })
        })
        .filter(|t| is_link(t))
        .map(str::to_owned)
        .collect()
}

fn is_link(token: &str) -> bool {
    let lower = token.to_lowercase();
    if lower.contains("://") || lower.starts_with("www.") {
        return true;
    }
    if let Some((_, domain)) = token.split_once('@') {
        return domain.contains('.');
    }
    let parts: Vec<&str> = token.split('/').next().unwrap_or("").split('.').collect();
    let Some((last, init)) = parts.split_last() else {
        return false;
    };
    !init.is_empty()
        && init[0].chars().count() >= 2
        && init
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && (2..=6).contains(&last.len())
        && last.chars().all(|c| c.is_ascii_lowercase())
}

/// Words in a variable's name that mean it holds an identifier.
const IDENTIFIER_WORDS: &[&str] = &[
    "ref",
    "reference",
    "id",
    "ids",
    "identifier",
    "number",
    "num",
    "no",
    "nr",
    "chi",
    "nino",
    "dob",
    "birth",
    "case",
    "establishment",
];

/// Words that make a `*_number` variable a phone number, which may be shown.
const PHONE_WORDS: &[&str] = &["phone", "telephone", "tel", "mobile", "helpline"];

/// Whether a declared variable's name says it holds an identifier or names
/// the justice system: `external_ref`, `prison_number`, `case_ref`,
/// `person_id`, `establishment`, or any name with a disclosing word in it.
/// `support_phone` and `helpline_number` are phone numbers and allowed.
#[must_use]
pub fn is_identifier_variable(name: &str, disclosing: &PhraseList) -> bool {
    let words: Vec<&str> = name.split('_').collect();
    let is_phone = words.iter().any(|w| PHONE_WORDS.contains(w));
    let identifier = words.iter().any(|w| {
        IDENTIFIER_WORDS.contains(w) && !(is_phone && matches!(*w, "number" | "no" | "num" | "nr"))
    });
    identifier || !disclosing.find_all(&words.join(" ")).is_empty()
}

/// Whether the jargon matched at byte `offset` (with `words` words) is
/// explained in brackets: itself in brackets after the plain word ("doctor
/// (GP)"), or followed by a bracketed explanation ("GP (doctor)").
#[must_use]
pub fn is_explained(text: &str, offset: usize, words: usize) -> bool {
    if text[..offset].ends_with('(') {
        return true;
    }
    let mut rest = &text[offset..];
    for _ in 0..words {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim_start().starts_with('(')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::disclosure::DEFAULT_DISCLOSING;

    #[test]
    fn numbers_in_speakable_groups_pass_and_long_runs_are_found() {
        assert!(ungrouped_numbers("Call 0800 22 44 88 or 111.").is_empty());
        assert!(ungrouped_numbers("0141 211 3000, 2:30pm, 3 December 2025").is_empty());
        assert_eq!(ungrouped_numbers("Call 08002244 88"), vec!["08002244"]);
        assert_eq!(ungrouped_numbers("+447400123456"), vec!["447400123456"]);
        assert_eq!(ungrouped_numbers("12345"), vec!["12345"]);
    }

    #[test]
    fn one_action_with_two_numbers_is_one_call_to_action() {
        let text = "For advice, call NHS inform on 0800 22 44 88. If it cannot wait, call 111.";
        assert_eq!(calls_to_action(text), vec!["call"]);
    }

    #[test]
    fn statements_are_not_calls_to_action() {
        let text = "You can register even if you have no ID. We will call you.";
        assert!(calls_to_action(text).is_empty());
        assert_eq!(
            calls_to_action("Please register with a doctor (GP) today."),
            vec!["register"]
        );
    }

    #[test]
    fn two_different_actions_are_found_in_order() {
        let text = "Call 111 today. Reply STOP to stop these texts.";
        assert_eq!(calls_to_action(text), vec!["call", "reply"]);
        assert_eq!(
            calls_to_action("Hi Sam, text us, then visit the clinic"),
            vec!["text", "visit"]
        );
    }

    #[test]
    fn links_and_email_addresses_are_found() {
        assert_eq!(links("See https://x.org/a now"), vec!["https://x.org/a"]);
        assert_eq!(
            links("Go to www.nhsinform.scot."),
            vec!["www.nhsinform.scot"]
        );
        assert_eq!(
            links("Visit nhsinform.scot/gp today"),
            vec!["nhsinform.scot/gp"]
        );
        assert_eq!(links("(mail help@nhs.net)"), vec!["help@nhs.net"]);
    }

    #[test]
    fn ordinary_text_is_not_a_link() {
        let text = "At 2.30pm, e.g. at St.Mungo's. Bring £2.50. Hi... ok. No.5";
        assert!(links(text).is_empty(), "{:?}", links(text));
    }

    #[test]
    fn identifier_variables_are_recognised_but_phone_numbers_are_not() {
        let disclosing = PhraseList::new(DEFAULT_DISCLOSING);
        for name in [
            "external_ref",
            "prison_number",
            "case_ref",
            "person_id",
            "chi",
            "establishment",
            "prison_name",
            "parole_date",
        ] {
            assert!(is_identifier_variable(name, &disclosing), "{name}");
        }
        for name in [
            "first_name",
            "support_phone",
            "helpline_number",
            "phone_number",
            "appointment_time",
            "place",
            "service",
        ] {
            assert!(!is_identifier_variable(name, &disclosing), "{name}");
        }
    }

    #[test]
    fn jargon_in_or_before_brackets_is_explained() {
        assert!(is_explained("a doctor (GP) today", 10, 1));
        assert!(is_explained("a GP (doctor) today", 2, 1));
        assert!(is_explained("primary care (your doctor)", 0, 2));
        assert!(!is_explained("see your GP today", 9, 1));
        assert!(!is_explained("primary care is", 0, 2));
    }
}
