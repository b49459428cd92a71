//! SMS templates: loading, rendering, and the checks that keep texts short,
//! plain and safe to be read by someone else.
//!
//! The texts are the product: people leaving prison often read with
//! difficulty and may be in crisis, so every template is checked the way a
//! linter checks code, by `homeward templates check` and again at start-up,
//! where the daemon refuses to run with a template that fails.
//!
//! - [`sms`]: encoding (GSM-7 or UCS-2), length and segments; clean-up of
//!   pasted punctuation that never touches letters.
//! - [`readability`]: Flesch reading ease and words per sentence.
//! - [`disclosure`]: whole-word phrase lists (disclosing words, jargon).
//! - [`TemplateCatalogue`]: the templates on disk, loaded once, and strict
//!   rendering with language fallback.
//! - [`check()`]: the linter over every template and language.
//!
//! This module reads files only at load; rendering and checking are pure.

mod catalogue;
mod check;
mod content;
pub mod disclosure;
mod load;
mod problem;
pub mod readability;
mod rules;
pub mod sms;
mod source;
pub mod typed;

pub use catalogue::{RenderedText, SYSTEM_TEMPLATES, TemplateCatalogue, TemplateError, Variables};
pub use check::{
    ACCENTED_SAMPLE_NAME, CheckReport, CheckRules, LONG_SAMPLE_NAME, TemplateSummary, check,
};
pub use load::LoadError;
pub use problem::{Finding, Problem, Severity};
pub use source::TemplateInfo;
pub use typed::{TypedCheck, TypedProblem, check_typed};

use crate::config::TemplateSettings;
use disclosure::PhraseList;

impl CheckRules {
    /// The rules configured under `[templates]`.
    #[must_use]
    pub fn from_settings(settings: &TemplateSettings) -> Self {
        Self {
            min_reading_ease: settings.min_reading_ease,
            max_words_per_sentence: settings.max_words_per_sentence,
            allow_links: settings.allow_links,
            gsm7_languages: settings.gsm7_languages.clone(),
            disclosing: PhraseList::new(&settings.disclosing_words),
            jargon: PhraseList::new(&settings.jargon_words),
        }
    }
}

/// The values every template may use without the caller passing them.
#[must_use]
pub fn fixed_variables(settings: &TemplateSettings) -> Variables {
    Variables::from([
        (
            "sender_name".to_owned(),
            settings.sender_name.trim().to_owned(),
        ),
        ("support_phone".to_owned(), settings.support_phone.clone()),
    ])
}

/// Loads the configured templates and checks them: what `templates check`
/// reports.
pub fn load_and_check(
    settings: &TemplateSettings,
) -> Result<(TemplateCatalogue, CheckReport), LoadError> {
    let catalogue = TemplateCatalogue::load(&settings.directory, fixed_variables(settings))?;
    let report = check(&catalogue, &CheckRules::from_settings(settings));
    Ok((catalogue, report))
}

/// Whether loading the templates reports their warnings: the daemon does,
/// at start-up; an operator's one-off command does not (`homeward templates
/// check` shows them on request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warnings {
    Log,
    Quiet,
}

/// Loads and checks the templates, which must not hold one that fails:
/// errors become [`LoadError::Problems`], and warnings are logged when asked
/// (template names and reasons only, never a text).
pub fn load_checked(
    settings: &TemplateSettings,
    warnings: Warnings,
) -> Result<TemplateCatalogue, LoadError> {
    let (catalogue, report) = load_and_check(settings)?;
    if report.has_errors() {
        return Err(LoadError::Problems(report.errors().cloned().collect()));
    }
    if warnings == Warnings::Quiet {
        return Ok(catalogue);
    }
    for warning in report.warnings() {
        tracing::warn!(template = %warning.template, language = %warning.language,
            line = warning.line, "{}", warning.finding);
    }
    tracing::info!(
        templates = report.summaries.len(),
        "SMS templates loaded and checked"
    );
    Ok(catalogue)
}

#[cfg(test)]
mod testing;
