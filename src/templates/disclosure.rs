//! Whole-word phrase matching for minimal-disclosure and plain-language checks.
//!
//! A text message can be read by anyone who picks up the phone, so reminders
//! for people leaving custody must not reveal that context: words such as
//! "prison" or "parole" in a template are flagged before sending. The same
//! matcher flags service jargon that makes reminders harder to understand.
//!
//! Matching is whole-word and case-insensitive so that "Court." is caught but
//! "Courtney" and "courtyard" are not; false alarms on names and addresses
//! would train staff to ignore the warning. Multi-word phrases tolerate any run
//! of whitespace between words, because templates are often edited with line
//! breaks in awkward places. Matching works on the original text, so reported
//! offsets are byte offsets into exactly what the caller passed in.

use std::collections::HashMap;

/// Words and phrases that could reveal a recipient's contact with the
/// justice system. Plurals are listed explicitly because matching is
/// whole-word.
pub const DEFAULT_DISCLOSING: &[&str] = &[
    "prison",
    "prisons",
    "prisoner",
    "prisoners",
    "HMP",
    "HMYOI",
    "YOI",
    "liberation",
    "liberated",
    "released from custody",
    "custody",
    "offender",
    "offenders",
    "offending",
    "conviction",
    "convictions",
    "convicted",
    "sentence",
    "parole",
    "licence",
    "court",
    "criminal justice",
    "justice social work",
    "CJSW",
    "SPS",
    "probation",
    "inmate",
    "jail",
    "remand",
    "supervision order",
    "community payback",
    "CPO",
];

/// Service jargon with plainer alternatives.
pub const DEFAULT_JARGON: &[&str] = &[
    "primary care",
    "practitioner",
    "registration",
    "facilitate",
    "utilise",
    "signpost",
    "commence",
    "appropriate",
    "in order to",
    "prior to",
    "assistance",
    "regarding",
    "accordingly",
    "eligible",
    "service user",
];

/// A phrase list matched as whole words, case-insensitively (Unicode-aware
/// lowercase), where phrases may be multi-word ("released from custody") and
/// whitespace inside the text between words may be any run of whitespace.
#[derive(Debug, Clone)]
pub struct PhraseList {
    phrases: Vec<Phrase>,
    /// The phrases (their indices, in configured order) by first lowercase
    /// character: every planned text is checked, and at each word only the
    /// phrases starting with its first letter can match.
    by_first: HashMap<char, Vec<usize>>,
}

/// One configured phrase and its lowercased words, prepared for matching.
#[derive(Debug, Clone)]
struct Phrase {
    original: String,
    words: Vec<Vec<char>>,
}

/// One occurrence of a configured phrase in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhraseMatch<'a> {
    /// The phrase exactly as configured (original casing and spacing).
    pub phrase: &'a str,
    /// Byte offset in the searched text where the match starts.
    pub offset: usize,
}

impl PhraseList {
    /// Builds a list from `phrases`.
    ///
    /// Blank phrases are skipped, since they would match everywhere, and
    /// phrases that differ only in case or spacing from an earlier one are
    /// skipped so that each occurrence is reported once.
    pub fn new<I, S>(phrases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list: Vec<Phrase> = Vec::new();
        for phrase in phrases {
            let original = phrase.as_ref();
            let words: Vec<Vec<char>> = original.split_whitespace().map(lowercase).collect();
            if !words.is_empty() && !list.iter().any(|p| p.words == words) {
                list.push(Phrase {
                    original: original.to_owned(),
                    words,
                });
            }
        }
        let mut by_first: HashMap<char, Vec<usize>> = HashMap::new();
        for (i, phrase) in list.iter().enumerate() {
            by_first.entry(phrase.words[0][0]).or_default().push(i);
        }
        PhraseList {
            phrases: list,
            by_first,
        }
    }

    /// Each match: the phrase as configured, plus byte offset in text, in
    /// order of appearance. Overlapping matches of different phrases are all
    /// reported; matches at the same offset follow the configured order.
    #[must_use]
    pub fn find_all<'a>(&'a self, text: &str) -> Vec<PhraseMatch<'a>> {
        let mut matches = Vec::new();
        let mut previous: Option<char> = None;
        for (offset, c) in text.char_indices() {
            if previous.is_none_or(|p| !p.is_alphanumeric()) {
                let first = c.to_lowercase().next().unwrap_or(c);
                let starting = self.by_first.get(&first).map_or(&[][..], Vec::as_slice);
                for phrase in starting.iter().map(|i| &self.phrases[*i]) {
                    if phrase.matches_at(text, offset) {
                        matches.push(PhraseMatch {
                            phrase: &phrase.original,
                            offset,
                        });
                    }
                }
            }
            previous = Some(c);
        }
        matches
    }
}

impl Phrase {
    /// Whether the phrase occurs at byte `start`, which the caller has
    /// already checked is preceded by a word boundary.
    fn matches_at(&self, text: &str, start: usize) -> bool {
        let mut pos = start;
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                match skip_whitespace(text, pos) {
                    Some(next) => pos = next,
                    None => return false,
                }
            }
            match match_word(text, pos, word) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        text[pos..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
    }
}

/// Lowercases char by char, mirroring how text is compared in [`match_word`];
/// `str::to_lowercase` would treat a final sigma differently.
fn lowercase(word: &str) -> Vec<char> {
    word.chars().flat_map(char::to_lowercase).collect()
}

/// Skips one or more whitespace characters from `pos`; `None` if there are
/// none, since words of a phrase must be separated.
fn skip_whitespace(text: &str, pos: usize) -> Option<usize> {
    let rest = &text[pos..];
    let trimmed = rest.trim_start();
    (trimmed.len() < rest.len()).then_some(text.len() - trimmed.len())
}

/// Matches lowercased `word` against the text from `start`, comparing the
/// lowercase expansion of each text character so that byte offsets stay
/// those of the original text. Returns the byte offset after the match.
fn match_word(text: &str, start: usize, word: &[char]) -> Option<usize> {
    let mut matched = 0;
    for (offset, c) in text[start..].char_indices() {
        if matched == word.len() {
            return Some(start + offset);
        }
        for lower in c.to_lowercase() {
            if word.get(matched) != Some(&lower) {
                return None;
            }
            matched += 1;
        }
    }
    (matched == word.len()).then_some(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases_found<'a>(list: &'a PhraseList, text: &str) -> Vec<(&'a str, usize)> {
        list.find_all(text)
            .into_iter()
            .map(|m| (m.phrase, m.offset))
            .collect()
    }

    #[test]
    fn whole_words_only() {
        let list = PhraseList::new(["court", "prison"]);
        assert!(list.find_all("Courtney lives by the courtyard").is_empty());
        assert!(list.find_all("prisons and imprison").is_empty());
        assert!(list.find_all("forecourt").is_empty());
    }

    #[test]
    fn punctuation_is_a_boundary() {
        let list = PhraseList::new(["court", "prison"]);
        assert_eq!(phrases_found(&list, "Court."), vec![("court", 0)]);
        assert_eq!(phrases_found(&list, "at COURT, today"), vec![("court", 3)]);
        assert_eq!(phrases_found(&list, "(prison)"), vec![("prison", 1)]);
        assert_eq!(phrases_found(&list, "court-ordered"), vec![("court", 0)]);
    }

    #[test]
    fn case_insensitive_and_reports_configured_form() {
        let list = PhraseList::new(["HMP", "Parole"]);
        assert_eq!(
            phrases_found(&list, "hmp Barlinnie, PAROLE hmP"),
            vec![("HMP", 0), ("Parole", 15), ("HMP", 22)]
        );
    }

    #[test]
    fn multi_word_tolerates_whitespace_runs() {
        let list = PhraseList::new(["released from custody"]);
        let text = "You were Released  from\n\tcustody on Monday";
        assert_eq!(
            phrases_found(&list, text),
            vec![("released from custody", 9)]
        );
        assert!(list.find_all("releasedfrom custody").is_empty());
        assert!(list.find_all("released from custodyx").is_empty());
        assert!(list.find_all("released from").is_empty());
    }

    #[test]
    fn overlapping_phrases_are_all_reported() {
        let list = PhraseList::new(DEFAULT_DISCLOSING);
        assert_eq!(
            phrases_found(&list, "Criminal justice social work team"),
            vec![("criminal justice", 0), ("justice social work", 9)]
        );
    }

    #[test]
    fn same_offset_follows_configured_order() {
        let list = PhraseList::new(["in order", "in order to"]);
        assert_eq!(
            phrases_found(&list, "in order to"),
            vec![("in order", 0), ("in order to", 0)]
        );
    }

    #[test]
    fn accented_text_around_matches() {
        let list = PhraseList::new(["court"]);
        // Byte offsets count the two-byte accented letters before the match.
        assert_eq!(phrases_found(&list, "Seán: court é"), vec![("court", 7)]);
        assert!(list.find_all("courté").is_empty());
        assert!(list.find_all("écourt").is_empty());
        assert_eq!(phrases_found(&list, "é court"), vec![("court", 3)]);
    }

    #[test]
    fn unicode_case_folding() {
        let list = PhraseList::new(["łódź", "ΣΟΦΙΑ"]);
        assert_eq!(phrases_found(&list, "in ŁÓDŹ"), vec![("łódź", 3)]);
        assert_eq!(phrases_found(&list, "σοφια"), vec![("ΣΟΦΙΑ", 0)]);
    }

    #[test]
    fn empty_and_blank_lists() {
        let none: [&str; 0] = [];
        assert!(PhraseList::new(none).find_all("prison court").is_empty());
        assert!(PhraseList::new(["", "  "]).find_all("any text").is_empty());
        assert!(PhraseList::new(DEFAULT_JARGON).find_all("").is_empty());
    }

    #[test]
    fn duplicate_phrases_reported_once() {
        let list = PhraseList::new(["Court", "court", "released  from"]);
        assert_eq!(phrases_found(&list, "COURT"), vec![("Court", 0)]);
    }

    #[test]
    fn default_jargon_list() {
        let list = PhraseList::new(DEFAULT_JARGON);
        let text = "Prior to your appointment, in order to register, a practitioner will \
                    signpost you.";
        assert_eq!(
            phrases_found(&list, text),
            vec![
                ("prior to", 0),
                ("in order to", 27),
                ("practitioner", 51),
                ("signpost", 69),
            ]
        );
    }

    #[test]
    fn default_disclosing_list() {
        let list = PhraseList::new(DEFAULT_DISCLOSING);
        let text = "Since your liberation from HMP YOI, your CJSW worker says the court";
        let found: Vec<&str> = list.find_all(text).into_iter().map(|m| m.phrase).collect();
        assert_eq!(found, vec!["liberation", "HMP", "YOI", "CJSW", "court"]);
        assert!(
            list.find_all("Your GP appointment is on Monday.")
                .is_empty()
        );
    }
}
