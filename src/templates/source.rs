//! Reading one template file: its front matter and the variables it uses.
//!
//! A template file is a tera template that opens with a comment block of
//! TOML, so it stays one file that any tera-aware editor understands:
//!
//! ```text
//! {#
//! description = "Sent on the day someone is liberated"
//! segments = 1                 # the budget; 1 when left out
//! [variables]                  # each variable the caller must pass,
//! first_name = "Sam"           # with a sample value for checks and previews
//! #}
//! Hi {{ first_name }}, this is {{ sender_name }}.
//! ```
//!
//! Only `{{ variable }}` and `{{ variable | filter }}` are allowed in the body:
//! tera errors on an undefined variable in output, but treats one in an `if`
//! as false and lets `default` replace it, and either would quietly send a
//! text with a hole in it. Keeping to that subset also means the variables a
//! template uses can be read straight from its source, with their lines. The
//! front matter is blanked out, not removed, so tera's line numbers are the
//! file's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use super::Variables;
use super::problem::Finding;
use crate::domain::{Language, TemplateName};

/// Most segments a template may budget for: beyond this, a text is a letter.
const MAX_BUDGET: usize = 10;

/// One parsed template file in one language.
#[derive(Debug, Clone)]
pub struct TemplateInfo {
    pub name: TemplateName,
    pub language: Language,
    pub path: PathBuf,
    /// When the text is sent, for people reading a preview.
    pub description: Option<String>,
    /// Most segments the text may take with its sample values.
    pub budget: usize,
    /// Set while a translation awaits review by a native speaker.
    pub review: Option<String>,
    /// The variables a caller must pass, with their sample values.
    pub samples: Variables,
    /// The file with its front matter blanked out, as given to tera.
    pub(crate) body: String,
    /// Each `{{ variable }}` in the body, in order.
    pub(crate) uses: Vec<VariableUse>,
    /// The front-matter line declaring each variable.
    pub(crate) declared_at: BTreeMap<String, usize>,
}

/// A variable written in the body, and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VariableUse {
    pub name: String,
    pub line: usize,
}

impl TemplateInfo {
    /// The name tera knows this template by, such as `en/nhs_inform`.
    pub(crate) fn tera_name(&self) -> String {
        format!("{}/{}", self.language, self.name)
    }

    /// The first line after the front matter that has text on it.
    pub(crate) fn first_text_line(&self) -> usize {
        self.body
            .lines()
            .position(|l| !l.trim().is_empty())
            .map_or(1, |i| i + 1)
    }

    pub(crate) fn uses_variable(&self, name: &str) -> bool {
        self.uses.iter().any(|u| u.name == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    description: Option<String>,
    #[serde(default = "one")]
    segments: usize,
    review: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

fn one() -> usize {
    1
}

/// Parses `text`, the contents of the file at `path`. `fixed` are the
/// variables set from configuration, which a template must not declare.
/// Problems come with the line they are on.
pub(crate) fn parse(
    name: TemplateName,
    language: Language,
    path: PathBuf,
    text: &str,
    fixed: &Variables,
) -> Result<TemplateInfo, Vec<(usize, Finding)>> {
    let (front, body) = split_front_matter(text).map_err(|f| vec![(1, f)])?;
    let matter: FrontMatter = Figment::from(Toml::string(&front))
        .extract()
        .map_err(|e| vec![(1, front_matter(e.to_string()))])?;
    let declared_at = declaration_lines(&front, &matter.variables);
    let mut problems = check_front_matter(&matter, &declared_at, fixed);
    let uses = scan_tags(&body, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(TemplateInfo {
        name,
        language,
        path,
        description: matter.description,
        budget: matter.segments,
        review: matter.review,
        samples: matter.variables,
        body,
        uses,
        declared_at,
    })
}

fn front_matter(message: impl Into<String>) -> Finding {
    Finding::FrontMatter {
        message: message.into(),
    }
}

/// Splits off the leading `{#` … `#}` block: returns its inside, and the
/// file with every front-matter line left empty.
fn split_front_matter(text: &str) -> Result<(String, String), Finding> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.first().map(|l| l.trim()) != Some("{#") {
        return Err(front_matter(
            "the file must start with a {# … #} block declaring its variables \
             (see templates/README.md)",
        ));
    }
    let Some(close) = lines.iter().position(|l| l.trim() == "#}") else {
        return Err(front_matter("the {# block has no closing #} line"));
    };
    let front = lines[1..close].concat();
    let blanks = "\n".repeat(close + 1);
    Ok((front, blanks + &lines[close + 1..].concat()))
}

fn check_front_matter(
    matter: &FrontMatter,
    declared_at: &BTreeMap<String, usize>,
    fixed: &Variables,
) -> Vec<(usize, Finding)> {
    let mut problems = Vec::new();
    if !(1..=MAX_BUDGET).contains(&matter.segments) {
        let message = format!("segments = {} must be 1 to {MAX_BUDGET}", matter.segments);
        problems.push((1, front_matter(message)));
    }
    for (variable, sample) in &matter.variables {
        let line = declared_at.get(variable).copied().unwrap_or(1);
        if fixed.contains_key(variable) {
            let variable = variable.clone();
            problems.push((line, Finding::FixedVariableDeclared { variable }));
        } else if TemplateName::parse(variable).is_err() {
            let message = format!("{variable:?} is not a lowercase snake_case variable name");
            problems.push((line, front_matter(message)));
        } else if sample.trim().is_empty() {
            let message = format!("the sample value of {variable} is empty");
            problems.push((line, front_matter(message)));
        }
    }
    problems
}

/// The file line on which each variable is declared (`name = "…"`).
fn declaration_lines(front: &str, variables: &Variables) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for (i, line) in front.lines().enumerate() {
        let key = line.split('=').next().unwrap_or("").trim();
        let key = key.trim_matches('"');
        if line.contains('=') && variables.contains_key(key) {
            // +2: the `{#` line comes first and lines count from 1.
            lines.entry(key.to_owned()).or_insert(i + 2);
        }
    }
    lines
}

/// Finds every tag in `body`, recording variable uses and refusing anything
/// but `{{ variable | filter … }}`. Comments are skipped.
fn scan_tags(body: &str, problems: &mut Vec<(usize, Finding)>) -> Vec<VariableUse> {
    let mut uses = Vec::new();
    let mut at = 0;
    while let Some(found) = body[at..].find('{') {
        let start = at + found;
        let line = body[..start].matches('\n').count() + 1;
        let rest = &body[start..];
        let (close, handled) = match rest.get(..2) {
            Some("{{") => ("}}", true),
            Some("{#") => ("#}", false),
            Some("{%") => {
                problems.push((line, Finding::Statement));
                ("%}", false)
            }
            _ => {
                at = start + 1;
                continue;
            }
        };
        // An unclosed tag is left to tera, which reports it with its line.
        let Some(len) = rest[2..].find(close) else {
            break;
        };
        if handled {
            match parse_expression(&rest[2..2 + len]) {
                Ok(name) => uses.push(VariableUse { name, line }),
                Err(finding) => problems.push((line, finding)),
            }
        }
        at = start + 2 + len + 2;
    }
    uses
}

/// `variable` or `variable | filter | filter(arg=…)`, with tera's `-`
/// whitespace markers allowed; returns the variable's name.
fn parse_expression(inner: &str) -> Result<String, Finding> {
    let bad = || Finding::Expression {
        text: inner.to_owned(),
    };
    let expr = inner.trim().trim_start_matches('-').trim_end_matches('-');
    let mut parts = expr.split('|').map(str::trim);
    let variable = parts.next().filter(|v| is_identifier(v)).ok_or_else(bad)?;
    for filter in parts {
        let (name, args) = filter.split_once('(').unwrap_or((filter, ")"));
        if !is_identifier(name.trim()) || !args.ends_with(')') {
            return Err(bad());
        }
        if name.trim() == "default" {
            let variable = variable.to_owned();
            return Err(Finding::DefaultFilter { variable });
        }
    }
    Ok(variable.to_owned())
}

fn is_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<TemplateInfo, Vec<(usize, Finding)>> {
        let fixed = Variables::from([("sender_name".to_owned(), "the team".to_owned())]);
        parse(
            TemplateName::parse("example").unwrap(),
            Language::english(),
            PathBuf::from("example.txt.tera"),
            text,
            &fixed,
        )
    }

    #[test]
    fn front_matter_declares_samples_budget_and_keeps_line_numbers() {
        let info = parse_text(
            "{#\nsegments = 2\n[variables]\nfirst_name = \"Sam\"\n#}\nHi {{ first_name }},\n\
             this is {{ sender_name | upper }}.\n",
        )
        .unwrap();
        assert_eq!(info.budget, 2);
        assert_eq!(info.samples["first_name"], "Sam");
        assert_eq!(info.declared_at["first_name"], 4);
        assert_eq!(info.first_text_line(), 6);
        assert_eq!(
            info.uses,
            vec![
                VariableUse {
                    name: "first_name".into(),
                    line: 6
                },
                VariableUse {
                    name: "sender_name".into(),
                    line: 7
                },
            ]
        );
        assert_eq!(info.body.lines().nth(5), Some("Hi {{ first_name }},"));
    }

    #[test]
    fn the_budget_defaults_to_one_segment() {
        let info = parse_text("{#\n#}\nHello {{ sender_name }}.").unwrap();
        assert_eq!(info.budget, 1);
        assert!(info.samples.is_empty());
    }

    #[test]
    fn a_file_without_front_matter_or_with_unknown_keys_is_refused() {
        let problems = parse_text("Hello.").unwrap_err();
        assert!(matches!(problems[0], (1, Finding::FrontMatter { .. })));
        let problems = parse_text("{#\nsegmnets = 2\n#}\nHello.").unwrap_err();
        let text = problems[0].1.to_string();
        assert!(text.contains("segmnets"), "{text}");
        assert!(parse_text("{#\nsegments = 1\nHello.").is_err());
    }

    #[test]
    fn statements_and_the_default_filter_are_refused_with_their_lines() {
        let problems = parse_text(
            "{#\n[variables]\nplace = \"x\"\n#}\n{% if place %}at {{ place }}{% endif %}\n\
             {{ place | default(value=\"\") }}\n{{ place + 1 }}\n",
        )
        .unwrap_err();
        let found: Vec<(usize, &Finding)> = problems.iter().map(|(l, f)| (*l, f)).collect();
        assert_eq!(found[0], (5, &Finding::Statement));
        assert_eq!(found[1], (5, &Finding::Statement));
        assert!(matches!(found[2], (6, Finding::DefaultFilter { .. })));
        assert!(matches!(found[3], (7, Finding::Expression { .. })));
    }

    #[test]
    fn comments_and_whitespace_markers_are_allowed() {
        let info =
            parse_text("{#\n#}\n{# a note with {% and {{ inside #}\n{{- sender_name -}}").unwrap();
        assert_eq!(info.uses.len(), 1);
    }

    #[test]
    fn configured_variables_and_empty_samples_cannot_be_declared() {
        let problems =
            parse_text("{#\n[variables]\nsender_name = \"x\"\nplace = \" \"\n#}\nHi.").unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(
            problems
                .iter()
                .any(|(line, f)| *line == 3 && matches!(f, Finding::FixedVariableDeclared { .. }))
        );
        assert!(problems.iter().any(|(line, _)| *line == 4));
    }
}
