//! The forms a reply is read in: what a careful reader would see, without
//! the ways a phone, a keyboard or a prank can dress the same words up.
//!
//! - [`without_invisibles`]: characters that draw nothing are dropped, so
//!   "\u{2060}STOP" and "STO\u{AD}P" are STOP.
//! - [`keyword_form`]: the whole message as a keyword (NFKC, look-alike
//!   letters folded, upper case, punctuation trimmed at both ends).
//! - [`Words`]: the message as words for phrase matching, with accents,
//!   strike-through and other combining marks gone, split on anything that
//!   is not a letter or digit, so punctuation can never hide a word.
//!
//! Folding is deliberately generous: these forms only ever make a reply
//! *more* likely to be read as stop. Re-subscribing never uses them (see
//! `keywords`).

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Unicode's `Default_Ignorable_Code_Point` beyond general category Cf
/// (which `is_invisible` drops as a whole), from DerivedCoreProperties.txt:
/// `Other_Default_Ignorable_Code_Point` and `Variation_Selector`, plus the
/// unassigned ranges reserved as ignorable. No well-kept crate exposes the
/// property itself; `unicode-properties` gives the category, and these few
/// ranges complete it.
const IGNORABLE_BEYOND_FORMAT: &[(char, char)] = &[
    ('\u{034F}', '\u{034F}'),   // combining grapheme joiner
    ('\u{115F}', '\u{1160}'),   // Hangul choseong and jungseong fillers
    ('\u{17B4}', '\u{17B5}'),   // Khmer inherent vowels
    ('\u{180B}', '\u{180F}'),   // Mongolian free variation selectors
    ('\u{2065}', '\u{2065}'),   // reserved among the invisible operators
    ('\u{3164}', '\u{3164}'),   // Hangul filler
    ('\u{FE00}', '\u{FE0F}'),   // variation selectors 1-16
    ('\u{FFA0}', '\u{FFA0}'),   // half-width Hangul filler
    ('\u{FFF0}', '\u{FFF8}'),   // reserved specials
    ('\u{E0000}', '\u{E0FFF}'), // tags, variation selectors 17-256, reserved
];

/// Whether `c` draws nothing: a default-ignorable code point, a format
/// character (Cf: soft hyphen, zero-width space and joiners, word joiner,
/// byte-order mark, bidi controls, U+180E, tags), or a control character
/// that is not white space.
pub fn is_invisible(c: char) -> bool {
    match c.general_category() {
        GeneralCategory::Format => true,
        GeneralCategory::Control => !c.is_whitespace(),
        _ => IGNORABLE_BEYOND_FORMAT
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c)),
    }
}

/// `text` without the characters that draw nothing.
pub fn without_invisibles(text: &str) -> String {
    text.chars().filter(|&c| !is_invisible(c)).collect()
}

/// The whole message as a keyword: invisibles dropped, compatibility forms
/// folded (NFKC: "ＳＴＯＰ" is STOP), look-alike letters folded to Latin,
/// upper case, punctuation trimmed at both ends and runs of spaces made one.
pub fn keyword_form(text: &str) -> String {
    let folded: String = without_invisibles(text)
        .nfkc()
        .map(latin_lookalike)
        .flat_map(char::to_uppercase)
        .collect();
    let trimmed = folded.trim_matches(|c: char| c.is_whitespace() || is_punctuation(c));
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.general_category_group() == GeneralCategoryGroup::Punctuation
}

/// A text as lower-case words for phrase matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    words: Vec<String>,
}

impl Words {
    /// Reads `text`: invisibles dropped, compatibility decomposition (NFKD)
    /// with combining marks (Mn, Me) dropped, so "S̶T̶O̶P̶" and "mówi" lose
    /// their marks, look-alike letters folded, lower case, then split on
    /// every character that is not a letter or digit.
    pub fn of(text: &str) -> Self {
        let loose: String = without_invisibles(text)
            .nfkd()
            .filter(|&c| !is_combining_mark(c))
            .map(latin_lookalike)
            .flat_map(char::to_lowercase)
            .collect();
        let words = loose
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(zero_as_o)
            .collect();
        Self { words }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether `phrase` appears as whole words, in order: in the words as
    /// written, or with runs of single letters joined ("s t o p").
    pub fn contain(&self, phrase: &Words) -> bool {
        !phrase.is_empty()
            && (contains_run(&self.words, &phrase.words)
                || contains_run(&self.joined_letters().words, &phrase.words))
    }

    /// The letters and digits alone, as one string: "S-T-O-P" is "stop".
    pub fn squashed(&self) -> String {
        self.words.concat()
    }

    /// Runs of two or more one-letter words joined into one word, for text
    /// spelt out letter by letter or over several lines.
    fn joined_letters(&self) -> Words {
        let mut words: Vec<String> = Vec::new();
        let mut run = String::new();
        for word in &self.words {
            if word.chars().count() == 1 {
                run.push_str(word);
                continue;
            }
            words.extend(take_run(&mut run));
            words.push(word.clone());
        }
        words.extend(take_run(&mut run));
        Words { words }
    }
}

/// A run of single letters as one word ("s t o p" is "stop").
fn take_run(run: &mut String) -> Option<String> {
    let run = std::mem::take(run);
    (!run.is_empty()).then_some(run)
}

fn contains_run(words: &[String], phrase: &[String]) -> bool {
    words.windows(phrase.len()).any(|w| w == phrase)
}

/// "st0p": a zero among letters is read as the letter O.
fn zero_as_o(word: &str) -> String {
    if word.chars().any(char::is_alphabetic) {
        word.replace('0', "o")
    } else {
        word.to_owned()
    }
}

fn is_combining_mark(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
    )
}

/// Letters drawn like Latin ones: Cyrillic and Greek capitals and small
/// letters, Latin small capitals (ꜱᴛᴏᴘ), regional indicator symbols (the
/// boxed letters flags are made of) and negative circled or squared
/// letters. NFKC already folds full-width, mathematical, circled and
/// squared letters.
pub fn latin_lookalike(c: char) -> char {
    match c {
        'А' | 'а' | 'Α' | 'α' | 'ᴀ' => 'A',
        'В' | 'Β' | 'в' | 'ʙ' => 'B',
        'С' | 'с' | 'ϲ' | 'ᴄ' => 'C',
        'ᴅ' => 'D',
        'Е' | 'е' | 'Ε' | 'ε' | 'ᴇ' => 'E',
        'ꜰ' => 'F',
        'ɢ' => 'G',
        'Н' | 'н' | 'Η' | 'ʜ' => 'H',
        'І' | 'і' | 'Ι' | 'ι' | 'ɪ' => 'I',
        'Ј' | 'ј' | 'ᴊ' => 'J',
        'К' | 'к' | 'Κ' | 'κ' | 'ᴋ' => 'K',
        'ʟ' => 'L',
        'М' | 'м' | 'Μ' | 'ᴍ' => 'M',
        'Ν' | 'ɴ' => 'N',
        'О' | 'о' | 'Ο' | 'ο' | 'ᴏ' => 'O',
        'Р' | 'р' | 'Ρ' | 'ρ' | 'ᴘ' => 'P',
        'ꞯ' | 'ԛ' => 'Q',
        'ʀ' => 'R',
        'Ѕ' | 'ѕ' | 'ꜱ' => 'S',
        'Т' | 'т' | 'Τ' | 'τ' | 'ᴛ' => 'T',
        'ᴜ' => 'U',
        'ᴠ' => 'V',
        'ᴡ' | 'ԝ' => 'W',
        'Х' | 'х' | 'Χ' | 'χ' => 'X',
        'У' | 'у' | 'Υ' | 'ʏ' => 'Y',
        'Ζ' | 'ᴢ' => 'Z',
        '\u{1F1E6}'..='\u{1F1FF}' => offset_letter(c, '\u{1F1E6}'),
        '\u{1F150}'..='\u{1F169}' => offset_letter(c, '\u{1F150}'),
        '\u{1F170}'..='\u{1F189}' => offset_letter(c, '\u{1F170}'),
        other => other,
    }
}

/// The capital letter as far from A as `c` is from `a_form`.
fn offset_letter(c: char, a_form: char) -> char {
    let offset = u32::from(c) - u32::from(a_form);
    char::from_u32(u32::from('A') + offset).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ignorable_and_format_characters_are_invisible_and_letters_are_not() {
        for c in [
            '\u{00AD}',
            '\u{034F}',
            '\u{115F}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2060}',
            '\u{2066}',
            '\u{2069}',
            '\u{3164}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E0100}',
            '\u{E01EF}',
            '\u{0007}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
        for c in ['S', 'ó', '\u{0301}', ' ', '\n', '🛑', '.', 'ł'] {
            assert!(!is_invisible(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn words_split_on_anything_that_is_not_a_letter_or_digit_and_lose_their_marks() {
        let words = |text: &str| Words::of(text).words;
        assert_eq!(words("STOP!thanks"), ["stop", "thanks"]);
        assert_eq!(words("Don’t\ntext"), ["don", "t", "text"]);
        assert_eq!(words("S\u{336}T\u{336}O\u{336}P\u{336} 🛑"), ["stop"]);
        assert_eq!(words("Kto mówi?"), ["kto", "mowi"]);
        assert_eq!(words("ꜱᴛᴏᴘ st0p 2026"), ["stop", "stop", "2026"]);
        assert_eq!(Words::of("S-T-O-P").squashed(), "stop");
        assert!(Words::of("please s t o p").contain(&Words::of("stop")));
        assert!(!Words::of("Christopher").contain(&Words::of("stop")));
    }
}
