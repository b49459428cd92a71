//! Checks on a rendered text: what it costs, how hard it is to read, and
//! whether it could harm or confuse the person reading it. Each finding is
//! traced back to the template line it comes from.

use super::catalogue::{RenderedText, Variables};
use super::check::{CheckRules, Found};
use super::disclosure::PhraseList;
use super::problem::Finding;
use super::readability::readability;
use super::rules;
use super::sms::Encoding;
use super::source::TemplateInfo;

/// Every content finding for `rendered`, a render of `info` with `values`.
pub(crate) fn check_text(
    info: &TemplateInfo,
    rendered: &RenderedText,
    rules: &CheckRules,
    values: &Variables,
) -> Found {
    let locate = Locator { info, values };
    let mut found = Found::new();
    let primary = info.language.as_str().split('-').next().unwrap_or("");
    check_encoding(rendered, primary, rules, &locate, &mut found);
    check_reading(
        &rendered.text,
        primary == "en",
        rules,
        info.first_text_line(),
        &mut found,
    );
    check_words(&rendered.text, rules, &locate, &mut found);
    check_habits(&rendered.text, rules, &locate, &mut found);
    found
}

/// Languages configured as GSM-7 must not pay for UCS-2.
fn check_encoding(
    rendered: &RenderedText,
    primary: &str,
    rules: &CheckRules,
    locate: &Locator<'_>,
    found: &mut Found,
) {
    let analysis = &rendered.analysis;
    let gsm7_only = rules.gsm7_languages.iter().any(|l| l.as_str() == primary);
    if gsm7_only && analysis.encoding == Encoding::Ucs2 {
        let first = analysis.non_gsm[0];
        let line = locate.line(|l| l.contains(first));
        let chars = analysis.non_gsm.clone();
        found.push((line, Finding::NotGsm7 { chars }));
    }
}

/// Flesch reading ease is an English formula; sentence length is not.
fn check_reading(text: &str, english: bool, rules: &CheckRules, line: usize, found: &mut Found) {
    let r = readability(text);
    if english && r.flesch_reading_ease < rules.min_reading_ease {
        let (score, floor) = (r.flesch_reading_ease, rules.min_reading_ease);
        found.push((line, Finding::HardToRead { score, floor }));
    }
    let max = rules.max_words_per_sentence;
    if r.words_per_sentence > f64::from(max) {
        let average = r.words_per_sentence;
        found.push((line, Finding::LongSentences { average, max }));
    }
}

/// Unexplained jargon, and words that disclose (each reported once).
fn check_words(text: &str, rules: &CheckRules, locate: &Locator<'_>, found: &mut Found) {
    for m in rules.jargon.find_all(text) {
        let words = m.phrase.split_whitespace().count();
        if !rules::is_explained(text, m.offset, words) {
            let phrase = m.phrase.to_owned();
            found.push((locate.phrase(m.phrase), Finding::Jargon { phrase }));
        }
    }
    let mut disclosed: Vec<&str> = Vec::new();
    for m in rules.disclosing.find_all(text) {
        if !disclosed.contains(&m.phrase) {
            disclosed.push(m.phrase);
            let phrase = m.phrase.to_owned();
            found.push((locate.phrase(m.phrase), Finding::Disclosing { phrase }));
        }
    }
}

/// Speakable numbers, one call to action, no links.
fn check_habits(text: &str, rules: &CheckRules, locate: &Locator<'_>, found: &mut Found) {
    for digits in rules::ungrouped_numbers(text) {
        let line = locate.line(|l| l.contains(&digits));
        found.push((line, Finding::PhoneNotGrouped { digits }));
    }
    let verbs = rules::calls_to_action(text);
    if let Some(second) = verbs.get(1) {
        let line = locate.phrase(second);
        found.push((line, Finding::CallsToAction { verbs }));
    }
    if !rules.allow_links {
        for link in rules::links(text) {
            let line = locate.line(|l| l.contains(&link));
            found.push((line, Finding::Link { link }));
        }
    }
}

/// Finds the source line a problem in the rendered text comes from: the
/// first line of the template whose own text (tags removed) shows it, else
/// the first line using a variable whose value shows it, else the first
/// line of text.
struct Locator<'a> {
    info: &'a TemplateInfo,
    values: &'a Variables,
}

impl Locator<'_> {
    fn line(&self, shows: impl Fn(&str) -> bool) -> usize {
        let in_text = self
            .info
            .body
            .lines()
            .position(|l| shows(&without_tags(l)))
            .map(|i| i + 1);
        let in_value = || {
            self.info
                .uses
                .iter()
                .find(|u| self.values.get(&u.name).is_some_and(|v| shows(v)))
                .map(|u| u.line)
        };
        in_text
            .or_else(in_value)
            .unwrap_or_else(|| self.info.first_text_line())
    }

    /// Like [`line`](Self::line), matching `phrase` as whole words.
    fn phrase(&self, phrase: &str) -> usize {
        let list = PhraseList::new([phrase]);
        self.line(|l| !list.find_all(l).is_empty())
    }
}

/// A source line with its `{{ … }}` tags blanked, so a variable's name is
/// not mistaken for text ("court_name" is not the word "court").
fn without_tags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        out.push(' ');
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}
