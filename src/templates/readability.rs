//! English readability scoring for reminder templates.
//!
//! Reminders go to people who may have low literacy, poor eyesight or English
//! as a second language, so the template editor shows a Flesch reading ease
//! score to nudge authors towards short sentences and short words. The
//! syllable counter is a heuristic: it only has to be stable and roughly
//! right, because the score is guidance, not a gate. Phone numbers and times
//! are treated as single one-syllable words so that a number such as
//! "0800 22 44 88" does not make a message look easier or harder than it is.

/// Readability statistics for a piece of English text.
#[derive(Debug, Clone, PartialEq)]
pub struct Readability {
    /// Words, with runs of numeric tokens (phone numbers) counted once.
    pub words: usize,
    /// Sentences; unterminated text counts as one, empty text as none.
    pub sentences: usize,
    /// Estimated syllables over all words.
    pub syllables: usize,
    /// Flesch reading ease; higher is easier, 100.0 for text with no words.
    pub flesch_reading_ease: f64,
    /// Average words per sentence; 0.0 for text with no words.
    pub words_per_sentence: f64,
}

/// Punctuation that can end a sentence, except as an ellipsis ("…" or
/// "..."), which only pauses one.
const TERMINATORS: &[char] = &['.', '!', '?', '\u{2026}'];
/// Punctuation that may follow a terminator and still close the sentence.
const CLOSERS: &[char] = &[')', ']', '"', '\'', '\u{2019}', '\u{201D}'];
/// Characters allowed inside a numeric token besides digits ("0131-555-0123").
const NUMBER_JOINERS: &[char] = &['-', '.', '/', ':', '(', ')', '+'];
/// Letters treated as vowels when grouping; accented vowels keep loan words
/// such as "café" from losing a syllable.
const VOWELS: &str = "aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüý";

/// Scores `text` with the Flesch reading ease formula.
#[must_use]
pub fn readability(text: &str) -> Readability {
    let (words, syllables) = count_words(text);
    let sentences = count_sentences(text);
    if words == 0 {
        return Readability {
            words,
            sentences,
            syllables,
            flesch_reading_ease: 100.0,
            words_per_sentence: 0.0,
        };
    }
    // Any word implies a sentence, but guard the division regardless.
    let words_per_sentence = words as f64 / sentences.max(1) as f64;
    let syllables_per_word = syllables as f64 / words as f64;
    Readability {
        words,
        sentences,
        syllables,
        flesch_reading_ease: 206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word,
        words_per_sentence,
    }
}

/// Counts words and their syllables, merging consecutive numeric tokens.
fn count_words(text: &str) -> (usize, usize) {
    let mut words = 0;
    let mut syllables = 0;
    let mut in_number = false;
    for token in text.split_whitespace() {
        let word = token.trim_matches(|c: char| !c.is_alphanumeric());
        if word.is_empty() {
            // A lone dash between digit groups should not split the number.
            continue;
        }
        if is_numeric(word) {
            if !in_number {
                words += 1;
                syllables += 1;
            }
            // A number ending a sentence must not swallow one starting the next.
            in_number = !token.ends_with(TERMINATORS);
        } else {
            words += 1;
            syllables += count_syllables(word);
            in_number = false;
        }
    }
    (words, syllables)
}

/// True for digit groups such as "0800", "10:30" or "0131-555-0123".
fn is_numeric(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || NUMBER_JOINERS.contains(&c))
}

/// Counts sentences: each run of terminators ends one, provided it is
/// followed by whitespace, a closing quote/bracket or the end of the text,
/// and is not an ellipsis. That requirement keeps decimal points, times
/// ("10.30") and web addresses from splitting sentences; an ellipsis
/// ("I'll be there… maybe") trails off within one.
fn count_sentences(text: &str) -> usize {
    let mut sentences = 0;
    let mut has_content = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            has_content = true;
            continue;
        }
        if !TERMINATORS.contains(&c) {
            continue;
        }
        // "?!" ends one sentence, not several.
        let mut run = vec![c];
        while let Some(n) = chars.next_if(|n| TERMINATORS.contains(n)) {
            run.push(n);
        }
        let at_boundary = chars
            .peek()
            .is_none_or(|n| n.is_whitespace() || CLOSERS.contains(n));
        if at_boundary && has_content && !is_ellipsis(&run) {
            sentences += 1;
            has_content = false;
        }
    }
    sentences + usize::from(has_content)
}

/// "…", "...", "..…": dots that trail off rather than end a sentence. A run
/// with "!" or "?" in it ("...?") still ends one.
fn is_ellipsis(run: &[char]) -> bool {
    run != ['.'] && run.iter().all(|&c| c == '.' || c == '\u{2026}')
}

/// Estimates the syllables in one English word.
///
/// Counts groups of vowels (with `y` a vowel except at the start), then
/// drops a silent final `e` ("make", "used", "makes") unless it forms a
/// syllabic `-le`/`-re` ("table", "centre") or follows a sibilant
/// ("changes", "boxes"), and adds one for `-ing` after a vowel ("being").
/// Returns at least 1 for any word with a letter or digit, and 0 otherwise.
#[must_use]
pub fn count_syllables(word: &str) -> usize {
    let letters: Vec<char> = word
        .chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    if letters.is_empty() {
        return usize::from(word.chars().any(char::is_alphanumeric));
    }
    let groups = vowel_groups(&letters);
    let silent = usize::from(groups > 1 && has_silent_final_e(&letters));
    let ing = usize::from(has_vowel_before_ing(&letters));
    (groups - silent + ing).max(1)
}

fn is_vowel_at(letters: &[char], i: usize) -> bool {
    let c = letters[i];
    // Initial "y" is a consonant: "you", "yes".
    VOWELS.contains(c) && !(c == 'y' && i == 0)
}

fn is_consonant(c: char) -> bool {
    c.is_alphabetic() && !VOWELS.contains(c)
}

fn vowel_groups(letters: &[char]) -> usize {
    let mut groups = 0;
    let mut previous_vowel = false;
    for i in 0..letters.len() {
        let vowel = is_vowel_at(letters, i);
        if vowel && !previous_vowel {
            groups += 1;
        }
        previous_vowel = vowel;
    }
    groups
}

fn has_silent_final_e(letters: &[char]) -> bool {
    match letters {
        [.., p, c, 'e'] => is_consonant(*c) && !is_syllabic_liquid(*p, *c),
        [.., c, 'e', 'd'] => is_consonant(*c) && !matches!(c, 't' | 'd'),
        [.., p, c, 'e', 's'] => is_consonant(*c) && !is_sibilant(*c) && !is_syllabic_liquid(*p, *c),
        _ => false,
    }
}

/// "-ble", "-tre": a consonant before l/r makes the final e sound.
fn is_syllabic_liquid(before: char, liquid: char) -> bool {
    matches!(liquid, 'l' | 'r') && is_consonant(before)
}

/// Consonants after which "-es" is its own syllable ("boxes", "washes").
fn is_sibilant(c: char) -> bool {
    matches!(c, 's' | 'x' | 'z' | 'c' | 'g' | 'h')
}

/// "being", "going": the vowel group absorbs the "i" of "-ing".
fn has_vowel_before_ing(letters: &[char]) -> bool {
    matches!(letters, [.., v, 'i', 'n', 'g'] if VOWELS.contains(*v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables_of_common_words() {
        let cases = [
            ("the", 1),
            ("a", 1),
            ("I", 1),
            ("make", 1),
            ("free", 1),
            ("you", 1),
            ("please", 1),
            ("health", 1),
            ("called", 1),
            ("makes", 1),
            ("there", 1),
            ("doctor", 2),
            ("table", 2),
            ("people", 2),
            ("centre", 2),
            ("needed", 2),
            ("changes", 2),
            ("being", 2),
            ("going", 2),
            ("tables", 2),
            ("service", 2),
            ("appointment", 3),
            ("register", 3),
            ("reminder", 3),
            ("tomorrow", 3),
            ("surgery", 3),
            ("every", 3),
            ("utilise", 3),
            ("medication", 4),
            ("practitioner", 4),
            ("registration", 4),
            ("facilitate", 4),
            ("eligible", 4),
        ];
        for (word, expected) in cases {
            assert_eq!(count_syllables(word), expected, "{word}");
        }
    }

    #[test]
    fn syllables_ignore_case_and_punctuation() {
        assert_eq!(count_syllables("Doctor's"), 2);
        assert_eq!(count_syllables("APPOINTMENT"), 3);
        assert_eq!(count_syllables("hmm"), 1);
        assert_eq!(count_syllables("0800"), 1);
        assert_eq!(count_syllables(""), 0);
        assert_eq!(count_syllables("--"), 0);
    }

    #[test]
    fn empty_text_scores_100() {
        for text in ["", "   \n", "..."] {
            let r = readability(text);
            assert_eq!((r.words, r.sentences, r.syllables), (0, 0, 0));
            assert_eq!(r.flesch_reading_ease, 100.0);
            assert_eq!(r.words_per_sentence, 0.0);
        }
    }

    #[test]
    fn very_easy_text() {
        let r = readability("The cat sat on the mat.");
        assert_eq!((r.words, r.sentences, r.syllables), (6, 1, 6));
        assert!((r.flesch_reading_ease - 116.145).abs() < 1e-9);
        assert_eq!(r.words_per_sentence, 6.0);
    }

    #[test]
    fn hard_jargon_text() {
        let r = readability(
            "The practitioner will facilitate appropriate registration with primary \
             care services in order to commence comprehensive multidisciplinary \
             rehabilitation interventions accordingly, notwithstanding eligibility \
             considerations regarding individual circumstances.",
        );
        assert_eq!(r.sentences, 1);
        assert!(r.flesch_reading_ease < 30.0, "{}", r.flesch_reading_ease);
    }

    #[test]
    fn phone_number_is_one_word() {
        let r = readability("Call 0800 22 44 88 today.");
        assert_eq!((r.words, r.syllables), (3, 4));
        assert_eq!(readability("Call (0131) 555-0123 now").words, 3);
        assert_eq!(readability("Call 0800 - 22 44 88").words, 2);
    }

    #[test]
    fn numbers_split_at_sentence_end() {
        let r = readability("Room 12. 3 people.");
        assert_eq!((r.words, r.sentences), (4, 2));
    }

    #[test]
    fn sentence_counting() {
        assert_eq!(readability("No terminator here").sentences, 1);
        assert_eq!(readability("One. Two! Three?").sentences, 3);
        assert_eq!(readability("Wait... what?!").sentences, 1);
        assert_eq!(readability("Come at 10.30 tomorrow.").sentences, 1);
        assert_eq!(readability("It costs 2.50 pounds").sentences, 1);
        assert_eq!(readability("See nhs.uk for help.").sentences, 1);
        assert_eq!(readability("He said \"Hello.\" Then left.").sentences, 2);
        assert_eq!(readability("Hi. . . Bye.").sentences, 2);
    }

    #[test]
    fn an_ellipsis_is_not_a_sentence_end() {
        for text in [
            "I'll see you\u{2026} maybe tomorrow.",
            "I'll see you... maybe tomorrow.",
            "I'll see you.. maybe tomorrow",
            "Wait\u{2026} what?",
            "See you soon\u{2026}",
            "Hello \u{2026} bye",
        ] {
            assert_eq!(readability(text).sentences, 1, "{text:?}");
        }
        assert_eq!(readability("Is it today...? Yes.").sentences, 2);
        let r = readability("Your GP is near\u{2026} call us to book. Thanks.");
        assert_eq!((r.words, r.sentences), (9, 2));
        assert_eq!(r.words_per_sentence, 4.5);
    }

    #[test]
    fn words_per_sentence_and_no_nan() {
        let r = readability("Hello there. See you soon.");
        assert_eq!((r.words, r.sentences), (5, 2));
        assert_eq!(r.words_per_sentence, 2.5);
        assert!(r.flesch_reading_ease.is_finite());
    }
}
