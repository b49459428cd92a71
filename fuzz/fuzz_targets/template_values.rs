//! The repository's own templates (templates/sms) rendered with any values
//! for their variables, as the planner renders them for a person.
//!
//! Input: values separated by `\0`, given in turn to each template's
//! declared variables (sorted), over the samples. Properties: nothing
//! panics; with every variable given, rendering fails only for a value
//! with no text; a rendered text is laid out (no blank or padded lines,
//! single spaces).
#![no_main]

use std::sync::LazyLock;

use homeward::config::Settings;
use homeward::templates::{self, RenderedText, TemplateCatalogue, TemplateError, Variables};
use libfuzzer_sys::fuzz_target;

static CATALOGUE: LazyLock<TemplateCatalogue> = LazyLock::new(|| {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");
    let directory = format!("{folder:?}");
    let settings =
        Settings::defaults_with(&[("templates.directory", &directory)]).expect("default settings");
    let (catalogue, report) = templates::load_and_check(&settings.templates).expect("templates");
    assert!(
        !report.has_errors(),
        "the repository's templates fail their check"
    );
    catalogue
});

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let values: Vec<&str> = input.split('\0').collect();
    for info in CATALOGUE.templates() {
        let mut given: Variables = info.samples.clone();
        for (value, variable) in values.iter().zip(info.samples.keys().cycle()) {
            given.insert(variable.clone(), (*value).to_owned());
        }
        match CATALOGUE.render(&info.name, &info.language, &given) {
            Ok(rendered) => assert_laid_out(&rendered),
            Err(TemplateError::EmptyVariable { variable, .. }) => {
                assert!(given[&variable].trim().is_empty(), "{variable} has text")
            }
            Err(e @ (TemplateError::Unknown { .. } | TemplateError::MissingVariable { .. })) => {
                panic!("every variable was given: {e}")
            }
            Err(_) => {}
        }
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
