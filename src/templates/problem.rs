//! What the template check can find wrong, and where.
//!
//! A problem is reported the way a compiler reports one, `template (lang)
//! line N: reason`, so an author can go straight to the line. Each finding is
//! a variant rather than a string so that tests and callers can tell them
//! apart; its severity decides whether the daemon may start.

use std::fmt;

/// Whether a finding stops the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `templates check` fails and the daemon refuses to start.
    Error,
    /// Reported for the author's attention only.
    Warning,
}

/// One finding about one template in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The template's name as in its file name (it may not be a valid name).
    pub template: String,
    /// The language folder the file is in.
    pub language: String,
    /// The line in the `.txt.tera` file where the cause is, or 1.
    pub line: usize,
    pub finding: Finding,
}

impl Problem {
    /// How serious the finding is.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.finding.severity()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warning = match self.severity() {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(
            f,
            "{} ({}) line {}: {warning}{}",
            self.template, self.language, self.line, self.finding
        )
    }
}

/// The reason for a [`Problem`]; its text completes "template (lang) line N:".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Finding {
    #[error("cannot be read: {message}")]
    Unreadable { message: String },
    #[error("file name: {reason}")]
    BadFileName { reason: String },
    #[error("language folder: {reason}")]
    BadLanguageFolder { reason: String },
    #[error("front matter: {message}")]
    FrontMatter { message: String },
    #[error("template syntax: {message}")]
    Syntax { message: String },
    #[error(
        "statements ({{% … %}}) are not allowed: tera treats an undefined variable in a \
         condition as false, so write one template per case"
    )]
    Statement,
    #[error(
        "only {{{{ variable }}}} or {{{{ variable | filter }}}} is allowed, not {{{{{text}}}}}"
    )]
    Expression { text: String },
    #[error(
        "the default filter on {variable} would hide a missing value; declare the variable \
         and always pass it"
    )]
    DefaultFilter { variable: String },
    #[error("there is no English version; every template needs one, as English is the fallback")]
    NoEnglish,
    #[error(
        "declares the variables [{}] but the English version declares [{}]; a translation \
         must need the same values",
        .here.join(", "), .english.join(", ")
    )]
    VariablesDiffer {
        here: Vec<String>,
        english: Vec<String>,
    },
    #[error("declares {variable}, which is set from configuration (templates.{variable})")]
    FixedVariableDeclared { variable: String },
    #[error("uses {{{{ {variable} }}}} but does not declare it under [variables]")]
    Undeclared { variable: String },
    #[error("declares {variable} but never uses it")]
    Unused { variable: String },
    #[error(
        "the variable {variable} looks like an identifier or names the justice system; \
         references and case numbers must never be put in a text"
    )]
    IdentifierVariable { variable: String },
    #[error("does not say who is texting: use {{{{ sender_name }}}}")]
    NoSender,
    #[error("does not render with its sample values: {message}")]
    Render { message: String },
    #[error("needs {segments} {encoding} segments with its sample values; its budget is {budget}")]
    OverBudget {
        segments: usize,
        budget: usize,
        encoding: &'static str,
    },
    #[error(
        "needs {segments} {encoding} segments with the long sample name {name:?}; its budget \
         is {budget}"
    )]
    LongNameOverBudget {
        segments: usize,
        budget: usize,
        encoding: &'static str,
        name: &'static str,
    },
    #[error(
        "not GSM-7: {}; one such character makes the whole text UCS-2, more than doubling \
         its cost",
        quoted(.chars)
    )]
    NotGsm7 { chars: Vec<char> },
    #[error(
        "reading ease {score:.0} is below the floor of {floor:.0}: use shorter words and sentences"
    )]
    HardToRead { score: f64, floor: f64 },
    #[error("{average:.1} words per sentence is more than {max}: split the sentences")]
    LongSentences { average: f64, max: u32 },
    #[error("\"{phrase}\" is jargon: use an everyday word, or explain it in brackets")]
    Jargon { phrase: String },
    #[error("\"{phrase}\" could tell whoever reads the phone about prison or supervision")]
    Disclosing { phrase: String },
    #[error("write the number {digits} in groups people can read out, e.g. 0800 22 44 88")]
    PhoneNotGrouped { digits: String },
    #[error("asks for more than one action ({}): ask for one thing per text", .verbs.join(", "))]
    CallsToAction { verbs: Vec<String> },
    #[error("{link} is a link; links are not allowed (templates.allow_links)")]
    Link { link: String },
    #[error("awaiting review: {note}")]
    NeedsReview { note: String },
}

impl Finding {
    /// Only a few findings are advice rather than errors: a long name that
    /// pushes a text over budget (names are never shortened, so the author
    /// can only leave room), an unused variable, and a translation awaiting
    /// review by a native speaker.
    #[must_use]
    pub fn severity(&self) -> Severity {
        match self {
            Finding::LongNameOverBudget { .. }
            | Finding::Unused { .. }
            | Finding::NeedsReview { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// `'é', 'ś'`.
fn quoted(chars: &[char]) -> String {
    let quoted: Vec<String> = chars.iter().map(|c| format!("{c:?}")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(finding: Finding) -> Problem {
        Problem {
            template: "nhs_inform".into(),
            language: "en".into(),
            line: 4,
            finding,
        }
    }

    #[test]
    fn a_problem_reads_template_language_line_and_reason() {
        let p = problem(Finding::Disclosing {
            phrase: "court".into(),
        });
        assert_eq!(
            p.to_string(),
            "nhs_inform (en) line 4: \"court\" could tell whoever reads the phone about prison or supervision"
        );
        assert_eq!(p.severity(), Severity::Error);
    }

    #[test]
    fn warnings_say_so() {
        let p = problem(Finding::Unused {
            variable: "place".into(),
        });
        assert_eq!(
            p.to_string(),
            "nhs_inform (en) line 4: warning: declares place but never uses it"
        );
    }

    #[test]
    fn braces_and_characters_are_shown_literally() {
        assert_eq!(
            Finding::Undeclared {
                variable: "place".into()
            }
            .to_string(),
            "uses {{ place }} but does not declare it under [variables]"
        );
        assert_eq!(
            Finding::Expression {
                text: " a + b ".into()
            }
            .to_string(),
            "only {{ variable }} or {{ variable | filter }} is allowed, not {{ a + b }}"
        );
        let text = Finding::NotGsm7 {
            chars: vec!['’', '…'],
        }
        .to_string();
        assert!(text.starts_with("not GSM-7: '’', '…'; one such"), "{text}");
    }
}
