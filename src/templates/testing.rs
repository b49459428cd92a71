//! Test support: a throw-away template folder and the default settings
//! pointed at it.

use std::path::Path;

use tempfile::TempDir;

use super::{CheckReport, Problem, TemplateCatalogue, load_and_check};
use crate::config::{Settings, TemplateSettings};

/// A temporary `templates/` folder.
pub(crate) struct Folder(TempDir);

impl Folder {
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("temp dir"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `sms/<language>/<name>.txt.tera`.
    pub fn write(&self, language: &str, name: &str, text: &str) -> &Self {
        let dir = self.0.path().join("sms").join(language);
        std::fs::create_dir_all(&dir).expect("language folder");
        std::fs::write(dir.join(format!("{name}.txt.tera")), text).expect("template");
        self
    }

    /// The default `[templates]` settings for this folder, with overrides
    /// given as `(key, TOML value)` under `templates.`.
    pub fn settings(&self, overrides: &[(&str, &str)]) -> TemplateSettings {
        let directory = format!("{:?}", self.path().display().to_string());
        let keys: Vec<(String, &str)> = overrides
            .iter()
            .map(|(k, v)| (format!("templates.{k}"), *v))
            .collect();
        let mut all: Vec<(&str, &str)> = vec![("templates.directory", directory.as_str())];
        all.extend(keys.iter().map(|(k, v)| (k.as_str(), *v)));
        Settings::defaults_with(&all)
            .expect("test settings")
            .templates
    }

    pub fn catalogue(&self) -> TemplateCatalogue {
        load_and_check(&self.settings(&[])).expect("loads").0
    }

    pub fn check(&self, overrides: &[(&str, &str)]) -> CheckReport {
        load_and_check(&self.settings(overrides)).expect("loads").1
    }
}

/// A template with front matter declaring `variables` (name, sample).
pub(crate) fn template(variables: &[(&str, &str)], body: &str) -> String {
    let mut text = String::from("{#\n[variables]\n");
    for (name, sample) in variables {
        text.push_str(&format!("{name} = {sample:?}\n"));
    }
    text.push_str("#}\n");
    text.push_str(body);
    text
}

/// Each problem as `line: [warning: ]finding`, for compact assertions.
pub(crate) fn lines(problems: &[Problem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| {
            let text = p.to_string();
            let (_, after) = text.split_once(" line ").expect("problem format");
            after.to_owned()
        })
        .collect()
}
