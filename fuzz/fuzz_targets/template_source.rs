//! Any template source through `homeward templates check`'s path: load the
//! folder, check every template, then render the fuzzed one as the daemon
//! would, with its samples and with fuzzed values.
//!
//! Input: the template file, then optionally `\0` and values separated by
//! `\0`, given in turn to the template's declared variables (sorted).
//! Properties: nothing panics; a template the check passes renders with its
//! samples; a rendered text is laid out (no blank or padded lines, single
//! spaces).
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use homeward::config::{Settings, TemplateSettings};
use homeward::domain::{Language, TemplateName};
use homeward::templates::{self, RenderedText, Variables};
use libfuzzer_sys::fuzz_target;

/// A well-formed English template beside the fuzzed one, so the folder
/// always loads and the fuzzed file's load problems reach the report.
const ANCHOR: &str =
    "{#\n[variables]\nfirst_name = \"Sam\"\n#}\nHi {{ first_name }}, this is {{ sender_name }}.\n";

const FOLDER_PREFIX: &str = "homeward-fuzz-templates-";

/// A folder of this process's own, so parallel jobs do not share a file.
static SETTINGS: LazyLock<TemplateSettings> = LazyLock::new(|| {
    remove_folders_of_finished_runs();
    let root = std::env::temp_dir().join(format!("{FOLDER_PREFIX}{}", std::process::id()));
    let en = root.join("sms").join("en");
    std::fs::create_dir_all(&en).expect("template folder");
    std::fs::write(en.join("anchor.txt.tera"), ANCHOR).expect("anchor template");
    let directory = format!("{:?}", root.display().to_string());
    Settings::defaults_with(&[("templates.directory", &directory)])
        .expect("default settings")
        .templates
});

/// libFuzzer has no hook at exit, and fork mode starts a process per job:
/// each tidies away the folders of processes that are gone (Linux `/proc`).
fn remove_folders_of_finished_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(FOLDER_PREFIX) else {
            continue;
        };
        if !PathBuf::from(format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn fuzzed_path() -> PathBuf {
    SETTINGS.directory.join("sms/en/fuzzed.txt.tera")
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let mut parts = input.split('\0');
    let source = parts.next().unwrap_or_default();
    let values: Vec<&str> = parts.collect();
    std::fs::write(fuzzed_path(), source).expect("write the fuzzed template");
    let (catalogue, report) = templates::load_and_check(&SETTINGS).expect("the folder loads");
    let name = TemplateName::parse("fuzzed").expect("name");
    let english = Language::parse("en").expect("language");
    let Some(info) = catalogue.resolve(&name, &english) else {
        return;
    };
    let passed = !report.errors().any(|p| p.template == "fuzzed");
    let with_samples = catalogue.render(&name, &english, &info.samples);
    if passed {
        assert!(
            with_samples.is_ok(),
            "checked template fails to render: {with_samples:?}"
        );
    }
    let mut fuzzed: Variables = info.samples.clone();
    for (value, variable) in values.iter().zip(info.samples.keys().cycle()) {
        fuzzed.insert(variable.clone(), (*value).to_owned());
    }
    let with_fuzzed = catalogue.render(&name, &english, &fuzzed);
    for rendered in [with_samples, with_fuzzed].into_iter().flatten() {
        assert_laid_out(&rendered);
    }
});

/// What `layout` promises: lines with text, words separated by one space.
fn assert_laid_out(rendered: &RenderedText) {
    if rendered.text.is_empty() {
        return;
    }
    for line in rendered.text.split('\n') {
        let tidy = line.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            !line.is_empty() && line == tidy,
            "badly laid out line: {line:?}"
        );
    }
}
