//! Reading the template folder into tera, collecting every problem on the
//! way rather than stopping at the first, so that `templates check` can list
//! them all. Only a missing or unreadable folder, or one with no English
//! templates, stops loading: without English there is nothing to fall back to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tera::Tera;

use super::Variables;
use super::problem::{Finding, Problem};
use super::source::{self, TemplateInfo};
use crate::domain::{Language, TemplateName};

const SUFFIX: &str = ".txt.tera";

/// Why the templates could not be loaded or may not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "the templates folder {} was not found (templates.directory; a relative path is read \
         from the working directory{})",
        .path.display(), cwd_note(.cwd.as_deref())
    )]
    NotFound { path: PathBuf, cwd: Option<PathBuf> },
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("there are no English templates in {}: English is every language's fallback", .0.display())]
    NoEnglish(PathBuf),
    #[error("the SMS templates have {} problem(s):\n{}", .0.len(), lines(.0))]
    Problems(Vec<Problem>),
}

fn cwd_note(cwd: Option<&Path>) -> String {
    cwd.map(|d| format!(", here {}", d.display()))
        .unwrap_or_default()
}

fn lines(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    lines.join("\n")
}

/// Templates keyed by name, then language tag.
pub(crate) type Templates = BTreeMap<(TemplateName, String), TemplateInfo>;

/// Everything read from the folder.
pub(crate) struct Loaded {
    pub tera: Tera,
    pub templates: Templates,
    pub problems: Vec<Problem>,
}

/// Reads `directory/sms/<language>/<name>.txt.tera`.
pub(crate) fn load(directory: &Path, fixed: &Variables) -> Result<Loaded, LoadError> {
    let sms = directory.join("sms");
    if !sms.is_dir() {
        let missing = if directory.is_dir() {
            sms
        } else {
            directory.to_owned()
        };
        return Err(LoadError::NotFound {
            path: missing,
            cwd: std::env::current_dir().ok(),
        });
    }
    let mut tera = Tera::default();
    // SMS is plain text: "&" and "<" must arrive as typed.
    tera.autoescape_on(vec![]);
    let mut loaded = Loaded {
        tera,
        templates: Templates::new(),
        problems: Vec::new(),
    };
    for folder in sorted_entries(&sms)? {
        if folder.is_dir() {
            load_language(&folder, fixed, &mut loaded)?;
        }
    }
    if !loaded.templates.keys().any(|(_, lang)| lang == "en") {
        return Err(LoadError::NoEnglish(sms.join("en")));
    }
    compare_with_english(&mut loaded);
    Ok(loaded)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        paths.push(entry.map_err(io)?.path());
    }
    paths.sort();
    Ok(paths)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn problem(template: &str, language: &str, line: usize, finding: Finding) -> Problem {
    Problem {
        template: template.to_owned(),
        language: language.to_owned(),
        line,
        finding,
    }
}

fn load_language(folder: &Path, fixed: &Variables, loaded: &mut Loaded) -> Result<(), LoadError> {
    let tag = file_name(folder);
    let language = match Language::parse(&tag) {
        Ok(language) if language.as_str() == tag => language,
        _ => {
            let reason = format!("{tag:?} is not a language tag such as en, pl or pt-BR");
            let finding = Finding::BadLanguageFolder { reason };
            loaded.problems.push(problem("*", &tag, 1, finding));
            return Ok(());
        }
    };
    for path in sorted_entries(folder)? {
        let file = file_name(&path);
        // Notes for translators and editors' swap files live beside templates.
        if file.starts_with('.') || file.ends_with(".md") || path.is_dir() {
            continue;
        }
        match template_name(&file) {
            Ok(name) => load_file(name, &language, path, fixed, loaded),
            Err(reason) => {
                let finding = Finding::BadFileName { reason };
                loaded.problems.push(problem(&file, &tag, 1, finding));
            }
        }
    }
    Ok(())
}

fn template_name(file: &str) -> Result<TemplateName, String> {
    let stem = file
        .strip_suffix(SUFFIX)
        .ok_or_else(|| format!("{file:?} does not end in {SUFFIX}"))?;
    TemplateName::parse(stem).map_err(|e| format!("the name {stem:?} {e}"))
}

fn load_file(
    name: TemplateName,
    language: &Language,
    path: PathBuf,
    fixed: &Variables,
    loaded: &mut Loaded,
) {
    let (template, lang) = (name.to_string(), language.to_string());
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            let finding = Finding::Unreadable {
                message: e.to_string(),
            };
            loaded.problems.push(problem(&template, &lang, 1, finding));
            return;
        }
    };
    let info = match source::parse(name.clone(), language.clone(), path, &text, fixed) {
        Ok(info) => info,
        Err(found) => {
            let problems = found
                .into_iter()
                .map(|(line, f)| problem(&template, &lang, line, f));
            loaded.problems.extend(problems);
            return;
        }
    };
    if let Err(e) = loaded.tera.add_raw_template(&info.tera_name(), &info.body) {
        let (message, line) = tera_message(&e);
        let finding = Finding::Syntax { message };
        loaded
            .problems
            .push(problem(&template, &lang, line, finding));
        return;
    }
    loaded.templates.insert((name, lang), info);
}

/// A tera error and its causes on one line, and the line it points at
/// (tera writes parse positions as `--> line:column`), else 1. The source
/// excerpt and caret lines of parse errors are dropped.
pub(crate) fn tera_message(error: &tera::Error) -> (String, usize) {
    let mut parts = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    let text = parts.join("\n");
    let line = text
        .split("--> ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1);
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !(l.is_empty() || l.starts_with("-->") || l.starts_with('|') || l.contains(" | "))
        })
        .map(|l| l.trim_start_matches("= "))
        .collect();
    (kept.join(": "), line)
}

/// `message` with every backticked part that is not a plain name replaced
/// by `[value]`: tera quotes values in some errors ("got `\"Seán\"`"), and a
/// render error may be logged.
pub(crate) fn without_values(message: &str) -> String {
    let is_name =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 && !is_name(part) {
                "[value]"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// A translation must have an English version to fall back to, and must
/// need the same variables, so the caller can pass the same values whatever
/// language is picked.
fn compare_with_english(loaded: &mut Loaded) {
    let mut found = Vec::new();
    for ((name, lang), info) in &loaded.templates {
        if lang == "en" {
            continue;
        }
        let Some(english) = loaded.templates.get(&(name.clone(), "en".to_owned())) else {
            found.push(problem(name.as_str(), lang, 1, Finding::NoEnglish));
            continue;
        };
        let here: Vec<String> = info.samples.keys().cloned().collect();
        let theirs: Vec<String> = english.samples.keys().cloned().collect();
        if here != theirs {
            let finding = Finding::VariablesDiffer {
                here,
                english: theirs,
            };
            found.push(problem(name.as_str(), lang, 1, finding));
        }
    }
    loaded.problems.extend(found);
}
