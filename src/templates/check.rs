//! The template linter: `homeward templates check`, and the daemon's gate at
//! start-up.
//!
//! Every template in every language is rendered with its sample values and
//! the configured sender and support number, then checked for what makes a
//! text costly, hard to read or unsafe to be read by someone else. It is also
//! rendered with a long name and an accented one, because names are never
//! shortened or stripped of accents: the segment budget is counted against
//! the sample values (an error), a long GSM-7 name that breaks the budget is
//! a warning (leave room), and the accented name's cost, usually UCS-2, is
//! reported in the summary only, since no template can avoid it.

use super::catalogue::{RenderedText, TemplateCatalogue, TemplateError, Variables};
use super::content;
use super::disclosure::PhraseList;
use super::problem::{Finding, Problem, Severity};
use super::readability::{Readability, readability};
use super::rules;
use super::sms::SmsAnalysis;
use super::source::TemplateInfo;
use crate::domain::{Language, TemplateName};

/// A long name that still fits GSM-7, for the budget warning.
pub const LONG_SAMPLE_NAME: &str = "Maximilian-Alexander";
/// A name whose fada forces UCS-2.
pub const ACCENTED_SAMPLE_NAME: &str = "Siobhán";

/// What the check enforces, from the `[templates]` settings.
#[derive(Debug, Clone)]
pub struct CheckRules {
    /// Lowest Flesch reading ease for English texts.
    pub min_reading_ease: f64,
    /// Highest average words per sentence, any language.
    pub max_words_per_sentence: u32,
    /// Whether links and email addresses are allowed.
    pub allow_links: bool,
    /// Languages (primary tags) whose texts must fit GSM-7.
    pub gsm7_languages: Vec<Language>,
    /// Words that reveal the justice context.
    pub disclosing: PhraseList,
    /// Jargon, allowed only when explained in brackets.
    pub jargon: PhraseList,
}

/// The costs of one template, for the summary table.
#[derive(Debug, Clone)]
pub struct TemplateSummary {
    pub name: TemplateName,
    pub language: Language,
    pub budget: usize,
    /// With the sample values.
    pub plain: SmsAnalysis,
    /// With [`LONG_SAMPLE_NAME`] for each `*name` variable.
    pub long_name: SmsAnalysis,
    /// With [`ACCENTED_SAMPLE_NAME`] for each `*name` variable.
    pub accented_name: SmsAnalysis,
    /// Of the text with sample values.
    pub readability: Readability,
}

/// Everything the check found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// One per template that rendered, by name then language.
    pub summaries: Vec<TemplateSummary>,
    /// Errors and warnings, load problems first.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// Whether anything should stop the daemon.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.of(Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.of(Severity::Warning)
    }

    fn of(&self, severity: Severity) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(move |p| p.severity() == severity)
    }
}

/// Checks every template in `catalogue` against `rules`.
#[must_use]
pub fn check(catalogue: &TemplateCatalogue, rules: &CheckRules) -> CheckReport {
    let mut report = CheckReport {
        summaries: Vec::new(),
        problems: catalogue.load_problems().to_vec(),
    };
    for info in catalogue.templates() {
        let (summary, found) = check_template(catalogue, info, rules);
        report.summaries.extend(summary);
        report
            .problems
            .extend(found.into_iter().map(|(line, finding)| Problem {
                template: info.name.to_string(),
                language: info.language.to_string(),
                line,
                finding,
            }));
    }
    report
}

/// Checks one template; a summary only if it renders.
fn check_template(
    catalogue: &TemplateCatalogue,
    info: &TemplateInfo,
    rules: &CheckRules,
) -> (Option<TemplateSummary>, Found) {
    let mut found = Found::new();
    check_declarations(info, catalogue.fixed_variables(), rules, &mut found);
    let [plain, long, accented] = match render_three(catalogue, info) {
        Ok(renders) => renders,
        Err(e) => {
            found.push((render_error_line(info, &e), render_finding(e)));
            return (None, found);
        }
    };
    let values = sample_values(catalogue, info);
    found.extend(content::check_text(info, &plain, rules, &values));
    check_budget(info, &plain, &long, &mut found);
    let summary = TemplateSummary {
        name: info.name.clone(),
        language: info.language.clone(),
        budget: info.budget,
        readability: readability(&plain.text),
        plain: plain.analysis,
        long_name: long.analysis,
        accented_name: accented.analysis,
    };
    (Some(summary), found)
}

/// Findings with the line each is on.
pub(crate) type Found = Vec<(usize, Finding)>;

/// What can be checked without rendering: the variables, and the sender.
fn check_declarations(
    info: &TemplateInfo,
    fixed: &Variables,
    rules: &CheckRules,
    found: &mut Found,
) {
    for used in &info.uses {
        if !info.samples.contains_key(&used.name) && !fixed.contains_key(&used.name) {
            let variable = used.name.clone();
            found.push((used.line, Finding::Undeclared { variable }));
        }
    }
    for variable in info.samples.keys() {
        let line = info.declared_at.get(variable).copied().unwrap_or(1);
        let variable = variable.clone();
        if rules::is_identifier_variable(&variable, &rules.disclosing) {
            found.push((line, Finding::IdentifierVariable { variable }));
        } else if !info.uses_variable(&variable) {
            found.push((line, Finding::Unused { variable }));
        }
    }
    if !info.uses_variable("sender_name") {
        found.push((info.first_text_line(), Finding::NoSender));
    }
    if let Some(note) = &info.review {
        found.push((1, Finding::NeedsReview { note: note.clone() }));
    }
}

/// Renders with the sample values, then with a long and an accented name.
fn render_three(
    catalogue: &TemplateCatalogue,
    info: &TemplateInfo,
) -> Result<[RenderedText; 3], TemplateError> {
    let with_name = |name: &str| {
        let mut values = info.samples.clone();
        for (variable, value) in &mut values {
            if variable.ends_with("name") {
                *value = name.to_owned();
            }
        }
        catalogue.render_template(info, &values)
    };
    Ok([
        catalogue.render_template(info, &info.samples)?,
        with_name(LONG_SAMPLE_NAME)?,
        with_name(ACCENTED_SAMPLE_NAME)?,
    ])
}

fn render_finding(error: TemplateError) -> Finding {
    let message = match error {
        TemplateError::Render { message, .. } => message,
        other => other.to_string(),
    };
    Finding::Render { message }
}

/// Where a render error points: the use of a variable named in backticks
/// in tera's message ("Variable `place` not found"), else the first line
/// showing another name it quotes (a filter), else the first line of text.
fn render_error_line(info: &TemplateInfo, error: &TemplateError) -> usize {
    let message = error.to_string();
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let used = quoted
        .iter()
        .find_map(|q| info.uses.iter().find(|u| u.name == *q).map(|u| u.line));
    let shown = || {
        quoted.iter().find_map(|q| {
            (!q.is_empty())
                .then(|| info.body.lines().position(|l| l.contains(q)))
                .flatten()
                .map(|i| i + 1)
        })
    };
    used.or_else(shown)
        .unwrap_or_else(|| info.first_text_line())
}

/// Fixed values overlaid with the template's samples: what was rendered.
fn sample_values(catalogue: &TemplateCatalogue, info: &TemplateInfo) -> Variables {
    let mut values = catalogue.fixed_variables().clone();
    values.extend(info.samples.clone());
    values
}

fn check_budget(info: &TemplateInfo, plain: &RenderedText, long: &RenderedText, found: &mut Found) {
    let line = info.first_text_line();
    let budget = info.budget;
    let segments = plain.analysis.segments;
    if segments > budget {
        let encoding = plain.analysis.encoding.label();
        found.push((
            line,
            Finding::OverBudget {
                segments,
                budget,
                encoding,
            },
        ));
    } else if long.analysis.segments > budget {
        found.push((
            line,
            Finding::LongNameOverBudget {
                segments: long.analysis.segments,
                budget,
                encoding: long.analysis.encoding.label(),
                name: LONG_SAMPLE_NAME,
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::sms::Encoding;
    use crate::templates::testing::{Folder, lines, template};

    /// Checks one English template written with `variables` and `body`.
    fn check_en(variables: &[(&str, &str)], body: &str) -> Vec<String> {
        check_with(variables, body, &[])
    }

    fn check_with(
        variables: &[(&str, &str)],
        body: &str,
        overrides: &[(&str, &str)],
    ) -> Vec<String> {
        let folder = Folder::new();
        folder.write("en", "example", &template(variables, body));
        lines(&folder.check(overrides).problems)
    }

    const HELLO: &str = "Hi {{ first_name }}, this is {{ sender_name }}.\n";

    #[test]
    fn a_short_plain_text_passes() {
        let found = check_en(
            &[("first_name", "Sam")],
            &format!("{HELLO}Call 111 if you feel ill.\n"),
        );
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn the_shipped_templates_pass_with_one_gsm7_segment_in_english() {
        let mut settings = crate::config::Settings::defaults_with(&[])
            .unwrap()
            .templates;
        settings.directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let (catalogue, report) = crate::templates::load_and_check(&settings).unwrap();
        let errors: Vec<String> = report.errors().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let english: Vec<&TemplateSummary> = report
            .summaries
            .iter()
            .filter(|s| s.language.as_str() == "en")
            .collect();
        for s in &english {
            assert_eq!(
                (s.plain.encoding, s.plain.segments),
                (Encoding::Gsm7, 1),
                "{}",
                s.name
            );
            assert!(s.readability.flesch_reading_ease >= 70.0, "{}", s.name);
        }
        let names: Vec<&str> = english.iter().map(|s| s.name.as_str()).collect();
        for required in [
            "gp_registration",
            "nhs_inform",
            "week_checkin",
            "appointment_day_before",
            "appointment_two_hours",
            "appointment_cancelled",
            "optout_confirmation",
            "optin_confirmation",
            "help_reply",
        ] {
            assert!(names.contains(&required), "{required}");
        }
        let polish = Language::parse("pl").unwrap();
        for liberation in ["gp_registration", "nhs_inform", "week_checkin"] {
            let name = TemplateName::parse(liberation).unwrap();
            let info = catalogue.resolve(&name, &polish).unwrap();
            assert_eq!(info.language, polish);
            assert!(info.review.is_some(), "{liberation} is marked for review");
        }
    }

    #[test]
    fn disclosing_words_are_errors_as_whole_words_only() {
        let found = check_en(
            &[("first_name", "Courtney")],
            &format!("{HELLO}See you in the courtyard.\nYour court date is soon.\n"),
        );
        assert_eq!(
            found,
            vec!["7: \"court\" could tell whoever reads the phone about prison or supervision"]
        );
    }

    #[test]
    fn a_disclosing_sender_name_is_traced_to_where_it_is_used() {
        let found = check_with(
            &[("first_name", "Sam")],
            &format!("Hello.\n{HELLO}"),
            &[("sender_name", "\"HMP Barlinnie\"")],
        );
        assert_eq!(
            found,
            vec!["6: \"HMP\" could tell whoever reads the phone about prison or supervision"]
        );
    }

    #[test]
    fn variables_that_hold_identifiers_are_errors_on_their_declaration_line() {
        let found = check_en(
            &[("first_name", "Sam"), ("prison_number", "12")],
            &format!("{HELLO}Ref {{{{ prison_number }}}}.\n"),
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("4: the variable prison_number looks like"),
            "{found:#?}"
        );
    }

    #[test]
    fn undeclared_and_unused_variables_are_reported() {
        let found = check_en(
            &[("first_name", "Sam"), ("place", "x")],
            "Hi {{ name }}, {{ sender_name }}.\n",
        );
        assert!(
            found.contains(
                &"6: uses {{ name }} but does not declare it under [variables]".to_owned()
            ),
            "{found:#?}"
        );
        assert!(
            found.contains(&"3: warning: declares first_name but never uses it".to_owned()),
            "{found:#?}"
        );
    }

    #[test]
    fn a_text_must_say_who_is_texting() {
        let found = check_en(&[], "Call 111 if you feel ill.\n");
        assert_eq!(
            found,
            vec!["4: does not say who is texting: use {{ sender_name }}"]
        );
    }

    #[test]
    fn the_budget_counts_the_sample_and_warns_about_long_names() {
        let filler = "a".repeat(110);
        let found = check_en(&[("first_name", "Sam")], &format!("{HELLO}{filler}\n"));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("5: warning: needs 2 GSM-7 segments with the long sample name")
        );
        let filler = "a".repeat(140);
        let found = check_en(&[("first_name", "Sam")], &format!("{HELLO}{filler}\n"));
        assert_eq!(
            found,
            vec!["5: needs 2 GSM-7 segments with its sample values; its budget is 1"]
        );
    }

    #[test]
    fn the_accented_name_is_reported_but_not_an_error() {
        let folder = Folder::new();
        folder.write("en", "example", &template(&[("first_name", "Sam")], HELLO));
        let report = folder.check(&[]);
        assert!(report.problems.is_empty(), "{:#?}", report.problems);
        let s = &report.summaries[0];
        assert_eq!(
            (s.plain.encoding, s.accented_name.encoding),
            (Encoding::Gsm7, Encoding::Ucs2)
        );
        assert_eq!(s.long_name.characters, s.plain.characters + 17);
    }

    #[test]
    fn non_gsm_characters_are_errors_in_english_but_not_in_polish() {
        let body = format!("{HELLO}Call 111 – it’s free.\n");
        let found = check_en(
            &[("first_name", "Sam")],
            &body.replace("–", "€").replace("’", "ś"),
        );
        assert_eq!(
            found[0],
            "6: not GSM-7: 'ś'; one such character makes the whole text UCS-2, more than doubling its cost"
        );
        assert!(
            found[1..].iter().all(|l| l.contains("warning")),
            "{found:#?}"
        );
        let folder = Folder::new();
        folder.write("en", "example", &template(&[("first_name", "Sam")], HELLO));
        folder.write(
            "pl",
            "example",
            &template(
                &[("first_name", "Łukasz")],
                "Cześć {{ first_name }}, tu {{ sender_name }}.\n",
            ),
        );
        assert!(folder.check(&[]).problems.is_empty());
    }

    #[test]
    fn pasted_punctuation_does_not_count_as_non_gsm() {
        let found = check_en(
            &[("first_name", "Sam")],
            &format!("{HELLO}Call 111 – it’s free…\n"),
        );
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn hard_reading_and_long_sentences_are_errors() {
        let hard = "Comprehensive multidisciplinary rehabilitation interventions necessitate \
                    considerable organisational coordination.";
        let found = check_en(&[], &format!("This is {{{{ sender_name }}}}. {hard}\n"));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("4: reading ease"), "{found:#?}");
        let long = "we hope that you and all of the people you live with are well and happy and that you have a good day";
        let found = check_en(
            &[],
            &format!("This is {{{{ sender_name }}}}, and {long}.\n"),
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("4: 30.0 words per sentence is more than 15"),
            "{found:#?}"
        );
    }

    #[test]
    fn jargon_is_an_error_unless_explained_in_brackets() {
        let found = check_en(
            &[],
            "This is {{ sender_name }}.\nBook primary care today.\n",
        );
        assert_eq!(
            found,
            vec!["5: \"primary care\" is jargon: use an everyday word, or explain it in brackets"]
        );
        let found = check_with(
            &[],
            "This is {{ sender_name }}.\nSee a doctor (GP) today.\n",
            &[("jargon_words", "[\"GP\"]")],
        );
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn phone_numbers_must_be_in_speakable_groups() {
        let found = check_en(&[], "This is {{ sender_name }}.\nCall 08002244 88.\n");
        assert_eq!(
            found,
            vec!["5: write the number 08002244 in groups people can read out, e.g. 0800 22 44 88"]
        );
        assert!(
            check_en(
                &[],
                "This is {{ sender_name }}. Call 0800 22 44 88 or 111.\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn more_than_one_call_to_action_is_an_error() {
        let found = check_en(
            &[],
            "This is {{ sender_name }}.\nCall 111.\nReply STOP to stop.\n",
        );
        assert_eq!(
            found,
            vec!["6: asks for more than one action (call, reply): ask for one thing per text"]
        );
    }

    #[test]
    fn links_are_errors_unless_allowed() {
        let body = "This is {{ sender_name }}.\nSee nhsinform.scot today.\n";
        assert_eq!(
            check_en(&[], body),
            vec!["5: nhsinform.scot is a link; links are not allowed (templates.allow_links)"]
        );
        assert!(check_with(&[], body, &[("allow_links", "true")]).is_empty());
    }

    #[test]
    fn a_render_failure_points_at_the_variable() {
        let found = check_en(
            &[("first_name", "Sam")],
            "This is {{ sender_name }}.\nHi {{ first_name | round }}\n",
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("6: does not render with its sample values"),
            "{found:#?}"
        );
    }

    #[test]
    fn translations_must_declare_what_english_declares() {
        let folder = Folder::new();
        folder.write("en", "example", &template(&[("first_name", "Sam")], HELLO));
        folder.write("pl", "example", &template(&[], "Tu {{ sender_name }}.\n"));
        folder.write(
            "pl",
            "only_polish",
            &template(&[], "Tu {{ sender_name }}.\n"),
        );
        let found: Vec<String> = folder
            .check(&[])
            .problems
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            vec![
                "example (pl) line 1: declares the variables [] but the English version declares [first_name]; a translation must need the same values",
                "only_polish (pl) line 1: there is no English version; every template needs one, as English is the fallback",
            ]
        );
    }
}
