//! The loaded templates, and rendering one for a person.
//!
//! Rendering is strict: every variable a template uses must be passed and
//! non-empty, because a text that reads "Hi , your appointment is at " is
//! worse than none. Values are plain text (no HTML escaping), the output is
//! cleaned of what word processors paste in (curly quotes, long dashes) so
//! one smart quote does not double the cost, and its layout is normalised.
//! Letters are never changed: a person's name arrives exactly as written.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use tera::Tera;

use super::load::{self, LoadError, Templates};
use super::problem::Problem;
use super::sms::{self, SmsAnalysis};
use super::source::TemplateInfo;
use crate::domain::{Language, TemplateName};

/// Variable names and their values, as passed to [`TemplateCatalogue::render`].
pub type Variables = BTreeMap<String, String>;

/// Templates Homeward sends itself, in answer to a person's STOP, START or
/// HELP: staff may not send them as a nudge, since "you will get no more
/// texts" out of the blue would tell the person something untrue. Every
/// other template may be a nudge (see templates/README.md).
pub const SYSTEM_TEMPLATES: [&str; 3] = ["optout_confirmation", "optin_confirmation", "help_reply"];

/// Every template in every language, loaded once at start-up. Cloning is
/// cheap: clones share one read-only catalogue.
#[derive(Clone)]
pub struct TemplateCatalogue {
    inner: Arc<Inner>,
}

struct Inner {
    tera: Tera,
    templates: Templates,
    fixed: Variables,
    problems: Vec<Problem>,
}

/// A text ready to send.
#[derive(Clone, PartialEq)]
pub struct RenderedText {
    /// The message body.
    pub text: String,
    /// The language of the template used: the person's, or a fallback.
    pub language_used: Language,
    /// Its encoding and cost in segments.
    pub analysis: SmsAnalysis,
}

impl fmt::Debug for RenderedText {
    // The text holds a name and an appointment: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedText")
            .field("text", &"[redacted]")
            .field("language_used", &self.language_used)
            .field("analysis", &self.analysis)
            .finish()
    }
}

/// Why a text could not be rendered. Messages name variables, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("there is no template named {name}")]
    Unknown { name: TemplateName },
    #[error("template {template} ({language}) needs the variable {variable}")]
    MissingVariable {
        template: TemplateName,
        language: Language,
        variable: String,
    },
    #[error("template {template} ({language}): the variable {variable} is empty")]
    EmptyVariable {
        template: TemplateName,
        language: Language,
        variable: String,
    },
    #[error("template {template} ({language}) failed to render: {message}")]
    Render {
        template: TemplateName,
        language: Language,
        message: String,
    },
}

impl TemplateCatalogue {
    /// Reads `directory/sms/<language>/<name>.txt.tera`. `fixed` are values
    /// set from configuration (`sender_name`, `support_phone`) that every
    /// template may use without the caller passing them.
    ///
    /// Templates with problems are left out and their problems kept for
    /// [`check`](super::check); only a missing folder or missing English
    /// templates is an error here.
    pub fn load(directory: &Path, fixed: Variables) -> Result<Self, LoadError> {
        let loaded = load::load(directory, &fixed)?;
        Ok(Self {
            inner: Arc::new(Inner {
                tera: loaded.tera,
                templates: loaded.templates,
                fixed,
                problems: loaded.problems,
            }),
        })
    }

    /// Renders template `name` in `language`, or the nearest language it
    /// exists in: the exact tag (`pt-BR`), then its primary language (`pt`),
    /// then English. `variables` must hold every variable the template
    /// declares; extra ones are ignored, and may override the fixed values.
    pub fn render(
        &self,
        name: &TemplateName,
        language: &Language,
        variables: &Variables,
    ) -> Result<RenderedText, TemplateError> {
        let info = self
            .resolve(name, language)
            .ok_or_else(|| TemplateError::Unknown { name: name.clone() })?;
        self.render_template(info, variables)
    }

    /// The template that [`render`](Self::render) would use.
    #[must_use]
    pub fn resolve(&self, name: &TemplateName, language: &Language) -> Option<&TemplateInfo> {
        fallback_chain(language)
            .into_iter()
            .find_map(|tag| self.inner.templates.get(&(name.clone(), tag)))
    }

    /// Renders exactly this template, with no language fallback.
    pub fn render_template(
        &self,
        info: &TemplateInfo,
        variables: &Variables,
    ) -> Result<RenderedText, TemplateError> {
        let context = self.context(info, variables)?;
        let raw = self
            .inner
            .tera
            .render(&info.tera_name(), &context)
            .map_err(|e| TemplateError::Render {
                template: info.name.clone(),
                language: info.language.clone(),
                message: load::without_values(&load::tera_message(&e).0),
            })?;
        let text = layout(&sms::normalise(&raw));
        Ok(RenderedText {
            analysis: sms::analyse(&text),
            text,
            language_used: info.language.clone(),
        })
    }

    /// Whether staff may send `name` as a one-off nudge.
    #[must_use]
    pub fn is_nudgeable(name: &TemplateName) -> bool {
        !SYSTEM_TEMPLATES.contains(&name.as_str())
    }

    /// The templates staff may send as a nudge, by name (each exists in
    /// English, so for every person).
    #[must_use]
    pub fn nudgeable(&self) -> Vec<&TemplateName> {
        self.templates()
            .filter(|t| t.language == Language::english() && Self::is_nudgeable(&t.name))
            .map(|t| &t.name)
            .collect()
    }

    /// Every loaded template, by name and then language.
    pub fn templates(&self) -> impl Iterator<Item = &TemplateInfo> {
        self.inner.templates.values()
    }

    /// Problems found while loading, for templates left out.
    #[must_use]
    pub fn load_problems(&self) -> &[Problem] {
        &self.inner.problems
    }

    /// The values set from configuration.
    #[must_use]
    pub fn fixed_variables(&self) -> &Variables {
        &self.inner.fixed
    }

    /// Fixed values overlaid with the caller's, each on a single line, after
    /// making sure every variable the template needs is there.
    fn context(
        &self,
        info: &TemplateInfo,
        variables: &Variables,
    ) -> Result<tera::Context, TemplateError> {
        let value = |name: &str| variables.get(name).or_else(|| self.inner.fixed.get(name));
        let needed = info.samples.keys().chain(info.uses.iter().map(|u| &u.name));
        for variable in needed {
            let error = match value(variable) {
                Some(v) if !v.trim().is_empty() => continue,
                Some(_) => TemplateError::EmptyVariable {
                    template: info.name.clone(),
                    language: info.language.clone(),
                    variable: variable.clone(),
                },
                None => TemplateError::MissingVariable {
                    template: info.name.clone(),
                    language: info.language.clone(),
                    variable: variable.clone(),
                },
            };
            return Err(error);
        }
        let mut context = tera::Context::new();
        for (name, value) in self.inner.fixed.iter().chain(variables) {
            context.insert(name.as_str(), &single_line(value));
        }
        Ok(context)
    }
}

/// `pt-BR`, then `pt`, then `en`, without repeats.
fn fallback_chain(language: &Language) -> Vec<String> {
    let tag = language.as_str();
    let mut chain = vec![tag.to_owned()];
    for next in [tag.split('-').next().unwrap_or(tag), "en"] {
        if !chain.iter().any(|t| t == next) {
            chain.push(next.to_owned());
        }
    }
    chain
}

/// A value's whitespace runs become single spaces, so a pasted line break in
/// a place name cannot break the layout of the text.
fn single_line(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lays rendered text out for SMS, like Markdown paragraphs: lines are
/// trimmed and runs of spaces collapsed; the lines of a paragraph are joined
/// with a space, so authors can wrap freely, and paragraphs (separated by
/// blank lines) become lines of the text. No trailing newline.
pub(crate) fn layout(raw: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in raw.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        for word in line.split_whitespace() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::sms::Encoding;
    use crate::templates::testing::{Folder, template};

    fn name(s: &str) -> TemplateName {
        TemplateName::parse(s).unwrap()
    }

    fn lang(s: &str) -> Language {
        Language::parse(s).unwrap()
    }

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn greeting() -> String {
        template(
            &[("first_name", "Sam")],
            "Hi {{ first_name }}, this is {{ sender_name }}.\n",
        )
    }

    #[test]
    fn rendering_fills_in_passed_and_configured_values() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        let out = folder
            .catalogue()
            .render(&name("hello"), &lang("en"), &vars(&[("first_name", "Ann")]))
            .unwrap();
        assert_eq!(out.text, "Hi Ann, this is your local health team.");
        assert_eq!(out.language_used, lang("en"));
        assert_eq!(out.analysis.encoding, Encoding::Gsm7);
        assert_eq!(out.analysis.segments, 1);
    }

    #[test]
    fn values_are_plain_text_and_never_html_escaped() {
        let folder = Folder::new();
        folder.write(
            "en",
            "place",
            &template(&[("place", "x")], "At {{ place }} & <b> {{ sender_name }}"),
        );
        let out = folder
            .catalogue()
            .render(
                &name("place"),
                &lang("en"),
                &vars(&[("place", "A&E <Ward 2> \"Q\"")]),
            )
            .unwrap();
        assert_eq!(
            out.text,
            "At A&E <Ward 2> \"Q\" & <b> your local health team"
        );
    }

    #[test]
    fn a_missing_or_empty_variable_is_an_error_never_a_gap() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        let catalogue = folder.catalogue();
        let err = catalogue
            .render(&name("hello"), &lang("en"), &Variables::new())
            .unwrap_err();
        assert!(
            matches!(&err, TemplateError::MissingVariable { variable, .. } if variable == "first_name"),
            "{err}"
        );
        let err = catalogue
            .render(&name("hello"), &lang("en"), &vars(&[("first_name", "  ")]))
            .unwrap_err();
        assert!(matches!(err, TemplateError::EmptyVariable { .. }), "{err}");
    }

    #[test]
    fn an_undeclared_variable_is_an_error_at_render_time_too() {
        let folder = Folder::new();
        folder.write("en", "hello", &template(&[], "Hi {{ nickname }}"));
        let err = folder
            .catalogue()
            .render(&name("hello"), &lang("en"), &Variables::new())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "template hello (en) needs the variable nickname"
        );
    }

    #[test]
    fn a_missing_language_falls_back_to_the_primary_language_then_english() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        folder.write(
            "pt",
            "hello",
            &template(
                &[("first_name", "Ana")],
                "Olá {{ first_name }}, {{ sender_name }}",
            ),
        );
        folder.write(
            "pt-BR",
            "hello",
            &template(
                &[("first_name", "Ana")],
                "Oi {{ first_name }}, {{ sender_name }}",
            ),
        );
        let catalogue = folder.catalogue();
        let values = vars(&[("first_name", "Ana")]);
        let used = |tag: &str| {
            let out = catalogue
                .render(&name("hello"), &lang(tag), &values)
                .unwrap();
            (
                out.language_used.to_string(),
                out.text.split(' ').next().unwrap().to_owned(),
            )
        };
        assert_eq!(used("pt-BR"), ("pt-BR".into(), "Oi".into()));
        assert_eq!(used("pt-PT"), ("pt".into(), "Olá".into()));
        assert_eq!(used("pt"), ("pt".into(), "Olá".into()));
        assert_eq!(used("pl"), ("en".into(), "Hi".into()));
        assert_eq!(used("en-GB"), ("en".into(), "Hi".into()));
    }

    #[test]
    fn an_unknown_template_is_an_error() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        let err = folder
            .catalogue()
            .render(&name("goodbye"), &lang("en"), &Variables::new())
            .unwrap_err();
        assert_eq!(err.to_string(), "there is no template named goodbye");
    }

    #[test]
    fn whitespace_is_normalised_like_paragraphs() {
        let raw = "\n\n  Hi   Sam,\t this is\n   the team.  \n\n\n  Call 111.  \n";
        assert_eq!(layout(raw), "Hi Sam, this is the team.\nCall 111.");
        assert_eq!(layout(""), "");
        assert_eq!(layout("one line\n"), "one line");
    }

    #[test]
    fn pasted_punctuation_is_normalised_but_names_keep_their_accents() {
        let folder = Folder::new();
        folder.write(
            "en",
            "hello",
            &template(
                &[("first_name", "Sam"), ("place", "x")],
                "Hi {{ first_name }} – it’s {{ sender_name }}… at {{ place }}",
            ),
        );
        let values = vars(&[
            ("first_name", "Siobhán"),
            ("place", "St\u{a0}Mary’s\n  Clinic"),
        ]);
        let out = folder
            .catalogue()
            .render(&name("hello"), &lang("en"), &values)
            .unwrap();
        assert_eq!(
            out.text,
            "Hi Siobhán - it's your local health team... at St Mary's Clinic"
        );
        assert_eq!(out.analysis.encoding, Encoding::Ucs2);
        assert_eq!(out.analysis.non_gsm, vec!['á']);
    }

    #[test]
    fn a_caller_may_override_a_configured_value() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        let values = vars(&[("first_name", "Sam"), ("sender_name", "Dr Lee")]);
        let out = folder
            .catalogue()
            .render(&name("hello"), &lang("en"), &values)
            .unwrap();
        assert_eq!(out.text, "Hi Sam, this is Dr Lee.");
    }

    #[test]
    fn a_rendered_text_never_shows_its_body_in_debug_output() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        let out = folder
            .catalogue()
            .render(
                &name("hello"),
                &lang("en"),
                &vars(&[("first_name", "Morag")]),
            )
            .unwrap();
        let debug = format!("{out:?}");
        assert!(!debug.contains("Morag"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
    }

    #[test]
    fn a_missing_folder_is_named_in_the_error() {
        let folder = Folder::new();
        let missing = folder.path().join("nowhere");
        let err = TemplateCatalogue::load(&missing, Variables::new())
            .err()
            .expect("fails");
        let text = err.to_string();
        assert!(text.contains("nowhere"), "{text}");
        assert!(text.contains("templates.directory"), "{text}");
        let err = TemplateCatalogue::load(folder.path(), Variables::new())
            .err()
            .expect("fails");
        assert!(err.to_string().contains("sms"), "{err}");
    }

    #[test]
    fn a_folder_without_english_templates_is_refused() {
        let folder = Folder::new();
        folder.write("pl", "hello", &greeting());
        let err = TemplateCatalogue::load(folder.path(), Variables::new())
            .err()
            .expect("fails");
        assert!(matches!(err, LoadError::NoEnglish(_)), "{err}");
    }

    #[test]
    fn broken_files_are_left_out_with_their_problems_and_lines() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        folder.write("en", "Bad-Name", &greeting());
        folder.write("en", "broken", &template(&[], "Hi\n{{ sender_name \nthere"));
        folder.write("EN", "hello", &greeting());
        std::fs::write(folder.path().join("sms/en/notes.txt"), "x").unwrap();
        std::fs::write(folder.path().join("sms/en/README.md"), "x").unwrap();
        let catalogue = TemplateCatalogue::load(folder.path(), Variables::new()).unwrap();
        let names: Vec<&str> = catalogue.templates().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["hello"]);
        let problems: Vec<String> = catalogue
            .load_problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(
            problems[0].starts_with("* (EN) line 1: language folder"),
            "{problems:#?}"
        );
        assert!(problems[1].starts_with("Bad-Name.txt.tera (en) line 1: file name"));
        assert!(
            problems[2].starts_with(
                "broken (en) line 6: template syntax: Failed to parse 'en/broken': expected"
            ),
            "{problems:#?}"
        );
        assert!(problems[3].starts_with("notes.txt (en) line 1: file name"));
    }

    #[test]
    fn render_errors_name_variables_and_filters_but_not_values() {
        let folder = Folder::new();
        folder.write(
            "en",
            "hello",
            &template(&[("first_name", "Sam")], "Hi {{ first_name | round }}"),
        );
        let err = folder
            .catalogue()
            .render(
                &name("hello"),
                &lang("en"),
                &vars(&[("first_name", "Morag")]),
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`round`"), "{text}");
        assert!(!text.contains("Morag"), "{text}");
    }

    #[test]
    fn clones_share_one_catalogue() {
        let folder = Folder::new();
        folder.write("en", "hello", &greeting());
        let a = folder.catalogue();
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
    }
}
