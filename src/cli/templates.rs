//! `homeward templates check|preview` and `homeward sms inspect`: tools for
//! the people who write the texts.
//!
//! They read the configuration and the template folder only, never the
//! database, so an author can run them anywhere the templates are. Output is
//! for people, except with `--json`, whose shapes scripts rely on:
//! - `sms inspect --json`: `encoding`, `segments`, `characters` and
//!   `non_gsm` for the text as given, the same plus `text` under
//!   `normalised`, and `reading_ease` and `words_per_sentence` of the
//!   normalised text (read as English).
//! - `templates preview --json`: `template`, `language` (the one used),
//!   `requested_language`, `text`, `encoding`, `segments`, `characters`,
//!   `non_gsm`, `budget`, `reading_ease` (null but for English),
//!   `words_per_sentence`, and the check's `problems` for that template and
//!   language (`line`, `severity`, `message`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::config::Settings;
use crate::domain::{Language, TemplateName};
use crate::templates::readability::readability;
use crate::templates::sms::{self, Encoding, SmsAnalysis};
use crate::templates::{
    self, CheckReport, RenderedText, Severity, TemplateCatalogue, TemplateInfo, TemplateSummary,
};

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Check every template in every language; exit 1 listing each error.
    Check,
    /// Show one template rendered with its sample values, and its cost.
    Preview(PreviewArgs),
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The template's name, e.g. gp_registration.
    #[arg(value_parser = parse_template_name)]
    pub name: TemplateName,
    /// The reader's language; falls back to English when there is no version.
    #[arg(long, default_value = "en", value_parser = parse_language)]
    pub lang: Language,
    /// A value to use instead of the sample, e.g. --var first_name=Seán.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Print a JSON object for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SmsCommand {
    /// Show the encoding, length and segments of any text.
    Inspect {
        /// The text; "-" reads it from standard input.
        text: String,
        /// Print a JSON object for scripts.
        #[arg(long)]
        json: bool,
    },
}

fn parse_template_name(value: &str) -> Result<TemplateName, String> {
    TemplateName::parse(value).map_err(|e| format!("template name {e}"))
}

fn parse_language(value: &str) -> Result<Language, String> {
    Language::parse(value).map_err(|e| format!("language {e}"))
}

fn parse_var(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((name, v)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), v.to_owned())),
        _ => Err(format!("{value:?} is not NAME=VALUE")),
    }
}

/// Runs `homeward templates …`.
pub fn templates(settings: &Settings, command: TemplatesCommand) -> anyhow::Result<ExitCode> {
    match command {
        TemplatesCommand::Check => check(settings),
        TemplatesCommand::Preview(args) => preview(settings, args),
    }
}

fn check(settings: &Settings) -> anyhow::Result<ExitCode> {
    let (_, report) = templates::load_and_check(&settings.templates)?;
    print_table(&report.summaries);
    print_problems(&report);
    let errors = report.errors().count();
    println!(
        "\n{} template(s) checked: {errors} error(s), {} warning(s).",
        report.summaries.len(),
        report.warnings().count()
    );
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_table(summaries: &[TemplateSummary]) {
    println!(
        "{:<24} {:<5} {:<8} {:>8} {:>5}  {:<11} {:<11} {:>4} {:>10}",
        "TEMPLATE",
        "LANG",
        "ENCODING",
        "SEGMENTS",
        "CHARS",
        "LONG NAME",
        "ACCENTED",
        "EASE",
        "WORDS/SENT"
    );
    for s in summaries {
        let ease = if s.language.as_str().starts_with("en") {
            format!("{:.0}", s.readability.flesch_reading_ease)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<24} {:<5} {:<8} {:>8} {:>5}  {:<11} {:<11} {:>4} {:>10.1}",
            s.name.as_str(),
            s.language.as_str(),
            s.plain.encoding.label(),
            format!("{}/{}", s.plain.segments, s.budget),
            s.plain.characters,
            cost(&s.long_name),
            cost(&s.accented_name),
            ease,
            s.readability.words_per_sentence
        );
    }
}

/// "2 UCS-2": segments and encoding.
fn cost(analysis: &SmsAnalysis) -> String {
    format!("{} {}", analysis.segments, analysis.encoding.label())
}

fn print_problems(report: &CheckReport) {
    if report.problems.is_empty() {
        return;
    }
    println!();
    for problem in report.errors().chain(report.warnings()) {
        println!("{problem}");
    }
}

fn preview(settings: &Settings, args: PreviewArgs) -> anyhow::Result<ExitCode> {
    let (catalogue, report) = templates::load_and_check(&settings.templates)?;
    let Some(info) = catalogue.resolve(&args.name, &args.lang) else {
        return unknown_template(&catalogue, &args.name);
    };
    let mut values = info.samples.clone();
    values.extend(args.vars);
    let rendered = catalogue.render(&args.name, &args.lang, &values)?;
    if args.json {
        let value = preview_json(&args.name, &args.lang, info, &rendered, &report);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut heading = format!("{} ({})", args.name, rendered.language_used);
    if rendered.language_used != args.lang {
        let _ = write!(heading, ", as there is no {} version", args.lang);
    }
    println!("{heading}");
    if let Some(description) = &info.description {
        println!("{description}");
    }
    println!("----\n{}\n----", rendered.text);
    println!("{} (budget {})", describe(&rendered.analysis), info.budget);
    print_readability(&rendered.text, rendered.language_used.as_str());
    Ok(ExitCode::SUCCESS)
}

/// `templates preview --json`: the rendered text, its cost and readability,
/// and what the check found in that template and language.
fn preview_json(
    name: &TemplateName,
    requested: &Language,
    info: &TemplateInfo,
    rendered: &RenderedText,
    report: &CheckReport,
) -> serde_json::Value {
    let language = rendered.language_used.as_str();
    let problems: Vec<serde_json::Value> = report
        .problems
        .iter()
        .filter(|p| p.template == name.as_str() && p.language == language)
        .map(|p| {
            let severity = match p.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            json!({ "line": p.line, "severity": severity, "message": p.finding.to_string() })
        })
        .collect();
    let mut value = analysis_json(&rendered.analysis);
    value.extend(readability_json(&rendered.text, language));
    value.extend([
        ("template".to_owned(), json!(name.as_str())),
        ("language".to_owned(), json!(language)),
        ("requested_language".to_owned(), json!(requested.as_str())),
        ("text".to_owned(), json!(rendered.text)),
        ("budget".to_owned(), json!(info.budget)),
        ("problems".to_owned(), json!(problems)),
    ]);
    json!(value)
}

/// Reading ease (English only, else null) and words per sentence, to one
/// decimal place as the table shows them.
fn readability_json(text: &str, language: &str) -> BTreeMap<String, serde_json::Value> {
    let r = readability(text);
    let one_place = |x: f64| (x * 10.0).round() / 10.0;
    let ease = language
        .starts_with("en")
        .then(|| one_place(r.flesch_reading_ease));
    BTreeMap::from([
        ("reading_ease".to_owned(), json!(ease)),
        (
            "words_per_sentence".to_owned(),
            json!(one_place(r.words_per_sentence)),
        ),
    ])
}

fn unknown_template(
    catalogue: &TemplateCatalogue,
    name: &TemplateName,
) -> anyhow::Result<ExitCode> {
    let problems: Vec<String> = catalogue
        .load_problems()
        .iter()
        .filter(|p| p.template == name.as_str())
        .map(ToString::to_string)
        .collect();
    if !problems.is_empty() {
        bail!("{name} could not be loaded:\n{}", problems.join("\n"));
    }
    let mut names: Vec<&str> = catalogue.templates().map(|t| t.name.as_str()).collect();
    names.dedup();
    bail!(
        "there is no template named {name}; there are: {}",
        names.join(", ")
    )
}

/// "UCS-2, 80 characters (80 units), 2 segments; not GSM-7: 'á'".
fn describe(a: &SmsAnalysis) -> String {
    let units = match a.encoding {
        Encoding::Gsm7 => "septets",
        Encoding::Ucs2 => "UTF-16 units",
    };
    let plural = if a.segments == 1 { "" } else { "s" };
    let mut text = format!(
        "{}, {} characters ({} {units}), {} segment{plural}",
        a.encoding.label(),
        a.characters,
        a.units,
        a.segments
    );
    if !a.non_gsm.is_empty() {
        let chars: Vec<String> = a.non_gsm.iter().map(|c| format!("{c:?}")).collect();
        let _ = write!(text, "; not GSM-7: {}", chars.join(" "));
    }
    text
}

fn print_readability(text: &str, language: &str) {
    let r = readability(text);
    if language.starts_with("en") {
        println!(
            "Reading ease {:.0}, {:.1} words per sentence",
            r.flesch_reading_ease, r.words_per_sentence
        );
    } else {
        println!("{:.1} words per sentence", r.words_per_sentence);
    }
}

/// Runs `homeward sms …`.
pub fn sms(command: SmsCommand) -> anyhow::Result<ExitCode> {
    let SmsCommand::Inspect { text, json } = command;
    let text = if text == "-" {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .context("Failed to read the text from standard input")?;
        input
    } else {
        text
    };
    let given = sms::analyse(&text);
    let normalised_text = sms::normalise(&text);
    let normalised = sms::analyse(&normalised_text);
    if json {
        let mut value = analysis_json(&given);
        let mut inner = analysis_json(&normalised);
        inner.insert("text".into(), json!(normalised_text));
        value.insert("normalised".into(), json!(inner));
        value.extend(readability_json(&normalised_text, "en"));
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("As given:    {}", describe(&given));
        if normalised_text == text {
            println!("Normalised:  no change");
        } else {
            println!("Normalised:  {}", describe(&normalised));
            println!("----\n{normalised_text}\n----");
        }
        print_readability(&normalised_text, "en");
    }
    Ok(ExitCode::SUCCESS)
}

fn analysis_json(a: &SmsAnalysis) -> BTreeMap<String, serde_json::Value> {
    let non_gsm: Vec<String> = a.non_gsm.iter().map(char::to_string).collect();
    BTreeMap::from([
        ("encoding".to_owned(), json!(a.encoding.label())),
        ("segments".to_owned(), json!(a.segments)),
        ("characters".to_owned(), json!(a.characters)),
        ("non_gsm".to_owned(), json!(non_gsm)),
    ])
}
