//! SMS encoding analysis for reminder templates.
//!
//! Carriers bill per segment, and a single character outside the GSM 03.38
//! alphabet silently switches the whole message to UCS-2, which cuts a segment
//! from 160 characters to 70. Staff writing templates need to see that cost
//! before a message goes out, and text pasted from word processors (curly
//! quotes, en dashes, non-breaking spaces) is the usual culprit, so this module
//! both measures a message and offers a conservative clean-up that never alters
//! letters: people's names must arrive exactly as written.

/// How the message body will be encoded on the air interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GSM 03.38 default alphabet, 7 bits per character.
    Gsm7,
    /// UCS-2 (in practice UTF-16), 16 bits per code unit.
    Ucs2,
}

impl Encoding {
    /// Human-readable name for display in the template editor.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }
}

/// The cost of sending a piece of text as a single (possibly concatenated) SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsAnalysis {
    /// Encoding the text requires.
    pub encoding: Encoding,
    /// Number of Unicode scalar values (Rust `char`s) in the text.
    pub characters: usize,
    /// Septets for GSM-7 (extension characters count 2), UTF-16 code units
    /// for UCS-2 (characters outside the BMP, such as emoji, count 2).
    pub units: usize,
    /// Number of SMS segments needed; 0 for empty text.
    pub segments: usize,
    /// Distinct characters, in order of first appearance, that forced UCS-2.
    /// Empty when the text fits GSM-7.
    pub non_gsm: Vec<char>,
}

/// Units available in a single, unconcatenated GSM-7 message.
const GSM7_SINGLE: usize = 160;
/// Units per segment once the user data header for concatenation is added.
const GSM7_MULTI: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_MULTI: usize = 67;

/// The GSM 03.38 basic character set, excluding the escape code (0x1B).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The GSM 03.38 extension table; each needs an escape septet first.
const GSM7_EXTENSION: &str = "\x0C^{}\\[~]|€";

/// Septets each ASCII character costs in GSM-7 (0: not representable),
/// built from the two tables above. Every planned text is measured, and
/// searching the tables character by character was most of that cost.
const GSM7_ASCII: [u8; 128] = {
    let mut table = [0u8; 128];
    // In UTF-8 every byte below 0x80 is an ASCII character of its own.
    let extension = GSM7_EXTENSION.as_bytes();
    let mut i = 0;
    while i < extension.len() {
        if extension[i] < 0x80 {
            table[extension[i] as usize] = 2;
        }
        i += 1;
    }
    let basic = GSM7_BASIC.as_bytes();
    let mut i = 0;
    while i < basic.len() {
        if basic[i] < 0x80 {
            table[basic[i] as usize] = 1;
        }
        i += 1;
    }
    table
};

/// Septets `c` costs in GSM-7, or `None` if it cannot be represented.
fn gsm7_septets(c: char) -> Option<usize> {
    if c.is_ascii() {
        let septets = GSM7_ASCII[c as usize];
        return (septets > 0).then_some(usize::from(septets));
    }
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Measures `text` as an SMS: encoding, length in units and segment count.
#[must_use]
pub fn analyse(text: &str) -> SmsAnalysis {
    // One pass for what every text needs; the per-character costs are only
    // listed when the text is too long for one segment (planning measures
    // every text it renders).
    let mut non_gsm = Vec::new();
    let mut characters = 0;
    let mut septets = 0;
    let mut utf16 = 0;
    for c in text.chars() {
        characters += 1;
        utf16 += c.len_utf16();
        match gsm7_septets(c) {
            Some(n) => septets += n,
            None if !non_gsm.contains(&c) => non_gsm.push(c),
            None => {}
        }
    }
    let (encoding, units, segments) = if non_gsm.is_empty() {
        let segments = segments_for(septets, GSM7_SINGLE, GSM7_MULTI, || {
            text.chars().filter_map(gsm7_septets).collect()
        });
        (Encoding::Gsm7, septets, segments)
    } else {
        let segments = segments_for(utf16, UCS2_SINGLE, UCS2_MULTI, || {
            text.chars().map(char::len_utf16).collect()
        });
        (Encoding::Ucs2, utf16, segments)
    };
    SmsAnalysis {
        encoding,
        characters,
        units,
        segments,
        non_gsm,
    }
}

/// Segments for `units` in all; `costs` lists each character's units and
/// is only needed when the text spans several segments.
fn segments_for(
    units: usize,
    single: usize,
    multi: usize,
    costs: impl FnOnce() -> Vec<usize>,
) -> usize {
    match units {
        0 => 0,
        u if u <= single => 1,
        _ => count_segments(&costs(), single, multi),
    }
}

/// Segments needed for characters costing `costs` units each.
///
/// Concatenated segments are filled character by character because an escape
/// pair (GSM-7) or surrogate pair (UCS-2) cannot be split between segments; a
/// character that would straddle a boundary starts the next segment, so plain
/// division can undercount.
fn count_segments(costs: &[usize], single: usize, multi: usize) -> usize {
    let total: usize = costs.iter().sum();
    if total == 0 {
        return 0;
    }
    if total <= single {
        return 1;
    }
    let mut segments = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > multi {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    segments
}

/// Replace what people paste from word processors with GSM-7 equivalents:
/// curly single/double quotes (‘ ’ ‚ ‛ “ ” „ ‟ ′ ″) and guillemets become
/// `'` and `"`, dashes, the minus sign and non-breaking hyphens become `-`,
/// the ellipsis becomes `...`, non-breaking, thin and other Unicode spaces
/// become a plain space (Unicode line/paragraph separators become `\n`),
/// zero-width characters and soft hyphens are removed, bullets become `-` and
/// the backtick becomes `'`.
///
/// Letters are never touched: accented names such as Seán, Siobhán or Łukasz
/// are returned exactly as given, even though they force UCS-2, because a
/// misspelt name is worse than a more expensive message.
#[must_use]
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match replacement(c) {
            Replacement::Keep => out.push(c),
            Replacement::Char(r) => out.push(r),
            Replacement::Str(s) => out.push_str(s),
            Replacement::Drop => {}
        }
    }
    out
}

/// What [`normalise`] does with one character.
enum Replacement {
    Keep,
    Char(char),
    Str(&'static str),
    Drop,
}

fn replacement(c: char) -> Replacement {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2039}'
        | '\u{203A}' | '\u{00B4}' | '`' => Replacement::Char('\''),
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => Replacement::Char('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => {
            Replacement::Char('-')
        }
        '\u{2022}' | '\u{2023}' | '\u{2043}' | '\u{25E6}' => Replacement::Char('-'),
        '\u{2026}' => Replacement::Str("..."),
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {
            Replacement::Drop
        }
        '\u{2028}' | '\u{2029}' | '\u{0085}' => Replacement::Char('\n'),
        // Form feed is in the GSM extension table, so it is left alone.
        ' ' | '\n' | '\r' | '\x0C' => Replacement::Keep,
        c if c.is_whitespace() => Replacement::Char(' '),
        _ => Replacement::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(n: usize) -> String {
        "a".repeat(n)
    }

    #[test]
    fn labels() {
        assert_eq!(Encoding::Gsm7.label(), "GSM-7");
        assert_eq!(Encoding::Ucs2.label(), "UCS-2");
    }

    #[test]
    fn empty_text_has_no_segments() {
        let a = analyse("");
        assert_eq!(a.encoding, Encoding::Gsm7);
        assert_eq!((a.characters, a.units, a.segments), (0, 0, 0));
        assert!(a.non_gsm.is_empty());
    }

    #[test]
    fn gsm7_single_segment_boundaries() {
        assert_eq!(analyse(&plain(1)).segments, 1);
        assert_eq!(analyse(&plain(159)).segments, 1);
        let a = analyse(&plain(160));
        assert_eq!((a.encoding, a.units, a.segments), (Encoding::Gsm7, 160, 1));
        assert_eq!(analyse(&plain(161)).segments, 2);
    }

    #[test]
    fn gsm7_multi_segment_boundaries() {
        assert_eq!(analyse(&plain(306)).segments, 2);
        assert_eq!(analyse(&plain(307)).segments, 3);
        assert_eq!(analyse(&plain(459)).segments, 3);
        assert_eq!(analyse(&plain(460)).segments, 4);
    }

    #[test]
    fn extension_char_costs_two_septets() {
        let a = analyse("{€}");
        assert_eq!(a.encoding, Encoding::Gsm7);
        assert_eq!((a.characters, a.units), (3, 6));
    }

    #[test]
    fn extension_char_pushes_past_single_limit() {
        let text = format!("{}€", plain(159));
        let a = analyse(&text);
        assert_eq!((a.characters, a.units, a.segments), (160, 161, 2));
    }

    #[test]
    fn extension_char_not_split_across_segments() {
        // 306 septets would fit two segments if the escape pair could straddle.
        let text = format!("{}€{}", plain(152), plain(152));
        let a = analyse(&text);
        assert_eq!((a.units, a.segments), (306, 3));
        // Same length, but the pair ends exactly on the boundary.
        let text = format!("{}€{}", plain(151), plain(153));
        assert_eq!(analyse(&text).segments, 2);
    }

    #[test]
    fn full_basic_set_is_gsm7() {
        let a = analyse(GSM7_BASIC);
        assert_eq!(a.encoding, Encoding::Gsm7);
        assert_eq!(a.characters, 127);
        assert!(
            analyse("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà")
                .non_gsm
                .is_empty()
        );
    }

    #[test]
    fn ucs2_boundaries() {
        assert_eq!(analyse(&"á".repeat(70)).segments, 1);
        let a = analyse(&"á".repeat(71));
        assert_eq!((a.encoding, a.units, a.segments), (Encoding::Ucs2, 71, 2));
        assert_eq!(analyse(&"á".repeat(134)).segments, 2);
        assert_eq!(analyse(&"á".repeat(135)).segments, 3);
    }

    #[test]
    fn one_non_gsm_char_switches_whole_message() {
        let text = format!("{}ś", plain(69));
        let a = analyse(&text);
        assert_eq!((a.encoding, a.units, a.segments), (Encoding::Ucs2, 70, 1));
        assert_eq!(a.non_gsm, vec!['ś']);
    }

    #[test]
    fn emoji_counts_two_units() {
        let a = analyse("Hi 😀 😀");
        assert_eq!(a.encoding, Encoding::Ucs2);
        assert_eq!((a.characters, a.units, a.segments), (6, 8, 1));
        assert_eq!(a.non_gsm, vec!['😀']);
    }

    #[test]
    fn emoji_not_split_across_segments() {
        let text = format!("{}😀{}", "á".repeat(66), "á".repeat(66));
        let a = analyse(&text);
        assert_eq!((a.units, a.segments), (134, 3));
        let text = format!("{}😀{}", "á".repeat(65), "á".repeat(67));
        assert_eq!(analyse(&text).segments, 2);
    }

    #[test]
    fn polish_letters_force_ucs2() {
        let a = analyse("Łódź");
        assert_eq!(a.encoding, Encoding::Ucs2);
        assert_eq!(a.non_gsm, vec!['Ł', 'ó', 'ź']);
    }

    #[test]
    fn accents_outside_gsm7_force_ucs2() {
        for c in "áíóúÁÍÓÚłŁśćżźąęńçêëÿ".chars() {
            let a = analyse(&c.to_string());
            assert_eq!(a.encoding, Encoding::Ucs2, "{c}");
            assert_eq!(a.non_gsm, vec![c]);
        }
    }

    #[test]
    fn basic_set_has_no_duplicates() {
        let mut chars: Vec<char> = GSM7_BASIC.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.len(), 127);
    }

    #[test]
    fn irish_fada_forces_ucs2() {
        let a = analyse("Seán");
        assert_eq!(a.encoding, Encoding::Ucs2);
        assert_eq!(a.non_gsm, vec!['á']);
    }

    #[test]
    fn non_gsm_is_distinct_in_order() {
        let a = analyse("úáúá");
        assert_eq!(a.non_gsm, vec!['ú', 'á']);
    }

    #[test]
    fn jose_is_gsm7() {
        let a = analyse("José");
        assert_eq!(a.encoding, Encoding::Gsm7);
        assert_eq!((a.characters, a.units), (4, 4));
    }

    #[test]
    fn normalise_word_processor_punctuation() {
        let out = normalise("“Hello” – it’s…");
        assert_eq!(out, "\"Hello\" - it's...");
        assert_eq!(analyse(&out).encoding, Encoding::Gsm7);
    }

    #[test]
    fn normalise_spaces_and_zero_width() {
        assert_eq!(normalise("10\u{A0}May"), "10 May");
        assert_eq!(normalise("a\u{2009}b\u{202F}c\u{2007}d"), "a b c d");
        assert_eq!(normalise("a\u{200B}b\u{FEFF}c\u{200C}\u{200D}"), "abc");
        assert_eq!(normalise("line\nnext\r\n"), "line\nnext\r\n");
    }

    #[test]
    fn normalise_dashes_bullets_backtick() {
        assert_eq!(normalise("a—b\u{2212}c\u{2011}d"), "a-b-c-d");
        assert_eq!(normalise("• one"), "- one");
        assert_eq!(normalise("`hi`"), "'hi'");
        assert_eq!(normalise("‚‛„‟′″"), "''\"\"'\"");
    }

    #[test]
    fn normalise_leaves_letters_alone() {
        for name in ["Siobhán", "Seán", "Łukasz", "José", "Zoë", "Ørjan", "😀"] {
            assert_eq!(normalise(name), name);
        }
    }
}
