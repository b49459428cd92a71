//! The template tools as an author uses them: the real `homeward` binary,
//! run on the shipped templates or on a folder with a bad one.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;

/// Runs `homeward ARGS` from the crate root, with the templates folder
/// pointed at `templates` when given.
fn homeward(args: &[&str], templates: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_homeward"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOMEWARD__LOG__LEVEL", "warn");
    if let Some(dir) = templates {
        command.env("HOMEWARD__TEMPLATES__DIRECTORY", dir);
    }
    command.output().expect("homeward runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A templates folder with one good English template and one that names a
/// court on line 6 and has a number nobody can read out on line 7.
fn folder_with_a_bad_template() -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let en = dir.path().join("sms/en");
    std::fs::create_dir_all(&en).unwrap();
    std::fs::write(
        en.join("good.txt.tera"),
        "{#\n[variables]\nfirst_name = \"Sam\"\n#}\nHi {{ first_name }}, this is {{ sender_name }}.\n",
    )
    .unwrap();
    std::fs::write(
        en.join("bad.txt.tera"),
        "{#\n[variables]\nfirst_name = \"Sam\"\n#}\nHi {{ first_name }}, this is {{ sender_name }}.\n\
         Your court date is near.\nCall 08002244 88.\n",
    )
    .unwrap();
    dir
}

#[test]
fn templates_check_passes_on_the_shipped_templates_and_prints_a_table() {
    let output = homeward(&["templates", "check"], None);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(out.contains("TEMPLATE"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("gp_registration") && l.contains("GSM-7")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("gp_registration") && l.contains(" pl ")),
        "{out}"
    );
    assert!(out.contains(": 0 error(s)"), "{out}");
}

#[test]
fn templates_check_fails_naming_each_template_line_and_reason() {
    let dir = folder_with_a_bad_template();
    let output = homeward(&["templates", "check"], Some(dir.path()));
    let out = stdout(&output);
    assert!(!output.status.success(), "{out}");
    assert!(
        out.contains(
            "bad (en) line 6: \"court\" could tell whoever reads the phone about prison or supervision"
        ),
        "{out}"
    );
    assert!(
        out.contains("bad (en) line 7: write the number 08002244 in groups people can read out"),
        "{out}"
    );
    assert!(!out.contains("good (en) line"), "{out}");
    assert!(out.contains(": 2 error(s)"), "{out}");
}

#[test]
fn a_missing_templates_folder_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let output = homeward(&["templates", "check"], Some(&missing));
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("no-such-folder"), "{err}");
    assert!(err.contains("templates.directory"), "{err}");
}

#[test]
fn the_daemon_refuses_to_start_with_a_failing_template() {
    let dir = folder_with_a_bad_template();
    let db = format!("sqlite://{}", dir.path().join("homeward.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_homeward"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOMEWARD__TEMPLATES__DIRECTORY", dir.path())
        .env("HOMEWARD__SERVER__BIND", "127.0.0.1:0")
        .env("HOMEWARD__DATABASE__URL", &db)
        .env("HOMEWARD__LOG__LEVEL", "warn")
        .output()
        .expect("homeward runs");
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("Failed to load the SMS templates"), "{err}");
    assert!(err.contains("bad (en) line 6"), "{err}");
    assert!(
        !dir.path().join("homeward.db").exists(),
        "checked before the database"
    );
}

#[test]
fn templates_preview_renders_with_samples_and_given_values() {
    let output = homeward(
        &[
            "templates",
            "preview",
            "gp_registration",
            "--var",
            "first_name=Seán",
        ],
        None,
    );
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(out.starts_with("gp_registration (en)\n"), "{out}");
    assert!(
        out.contains("\nHi Seán, this is your local health team. "),
        "{out}"
    );
    assert!(out.contains("UCS-2"), "{out}");
    assert!(out.contains("not GSM-7: 'á'"), "{out}");
    assert!(out.contains("Reading ease"), "{out}");
}

#[test]
fn templates_preview_falls_back_to_english_and_says_so() {
    let output = homeward(
        &["templates", "preview", "help_reply", "--lang", "pl"],
        None,
    );
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(
        out.starts_with("help_reply (en), as there is no pl version"),
        "{out}"
    );
    let output = homeward(
        &["templates", "preview", "nhs_inform", "--lang", "pl"],
        None,
    );
    assert!(stdout(&output).starts_with("nhs_inform (pl)\n"));
}

#[test]
fn templates_preview_of_an_unknown_template_lists_the_known_ones() {
    let output = homeward(&["templates", "preview", "no_such_text"], None);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("no template named no_such_text"), "{err}");
    assert!(err.contains("gp_registration"), "{err}");
}

fn inspect(text: &str) -> Value {
    let output = homeward(&["sms", "inspect", text, "--json"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn sms_inspect_json_counts_a_161_character_gsm_text_as_two_segments() {
    let text = "a".repeat(161);
    assert_eq!(
        inspect(&text),
        json!({
            "encoding": "GSM-7", "segments": 2, "characters": 161, "non_gsm": [],
            "normalised": {
                "encoding": "GSM-7", "segments": 2, "characters": 161, "non_gsm": [],
                "text": text,
            },
            "reading_ease": 121.2, "words_per_sentence": 1.0,
        })
    );
}

#[test]
fn sms_inspect_json_reports_an_accented_name_as_ucs2_even_normalised() {
    let value = inspect("Seán");
    assert_eq!(value["encoding"], "UCS-2");
    assert_eq!(value["non_gsm"], json!(["á"]));
    assert_eq!(value["normalised"]["encoding"], "UCS-2");
    assert_eq!(value["normalised"]["text"], "Seán");
}

#[test]
fn sms_inspect_json_shows_a_curly_quote_costs_ucs2_until_normalised() {
    assert_eq!(
        inspect("It’s at 2pm"),
        json!({
            "encoding": "UCS-2", "segments": 1, "characters": 11, "non_gsm": ["’"],
            "normalised": {
                "encoding": "GSM-7", "segments": 1, "characters": 11, "non_gsm": [],
                "text": "It's at 2pm",
            },
            "reading_ease": 119.2, "words_per_sentence": 3.0,
        })
    );
}

#[test]
fn sms_inspect_json_shows_readability_and_an_ellipsis_does_not_end_a_sentence() {
    let value = inspect("See you soon\u{2026} bring your card. Thanks");
    assert_eq!(value["words_per_sentence"], 3.5, "{value}");
    assert!(value["reading_ease"].as_f64().unwrap() > 60.0, "{value}");
    let dots = inspect("See you soon... bring your card. Thanks");
    assert_eq!(dots["words_per_sentence"], 3.5, "{dots}");
}

fn preview_json(args: &[&str], templates: Option<&Path>) -> Value {
    let mut all = vec!["templates", "preview", "--json"];
    all.extend(args);
    let output = homeward(&all, templates);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn templates_preview_json_gives_the_text_its_cost_and_readability() {
    let value = preview_json(&["gp_registration", "--var", "first_name=Seán"], None);
    assert_eq!(value["template"], "gp_registration");
    assert_eq!(value["language"], "en");
    assert_eq!(value["requested_language"], "en");
    let text = value["text"].as_str().unwrap();
    assert!(
        text.starts_with("Hi Seán, this is your local health team. "),
        "{text}"
    );
    assert_eq!(value["encoding"], "UCS-2");
    assert_eq!(value["non_gsm"], json!(["á"]));
    assert!(value["segments"].as_u64().unwrap() >= 1);
    assert_eq!(value["budget"], 1);
    assert!(value["reading_ease"].as_f64().unwrap() >= 60.0, "{value}");
    assert!(
        value["words_per_sentence"].as_f64().unwrap() <= 15.0,
        "{value}"
    );
    assert_eq!(value["problems"], json!([]));
}

#[test]
fn templates_preview_json_lists_the_problems_and_leaves_reading_ease_to_english() {
    let dir = folder_with_a_bad_template();
    let value = preview_json(&["bad"], Some(dir.path()));
    let problems = value["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["line"] == 6
            && p["severity"] == "error"
            && p["message"].as_str().unwrap().contains("\"court\"")),
        "{value}"
    );
    assert_eq!(problems.len(), 2, "{value}");

    let polish = preview_json(&["nhs_inform", "--lang", "pl"], None);
    assert_eq!(polish["language"], "pl");
    assert_eq!(polish["reading_ease"], Value::Null);
    assert!(polish["words_per_sentence"].as_f64().unwrap() > 0.0);
    assert!(
        polish["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["severity"] == "warning"),
        "the translation awaits review: {polish}"
    );
}

#[test]
fn sms_inspect_prints_a_readable_summary_without_json() {
    let output = homeward(&["sms", "inspect", "Hi Seán – see you soon"], None);
    let out = stdout(&output);
    assert!(output.status.success());
    assert!(
        out.starts_with("As given:    UCS-2, 22 characters"),
        "{out}"
    );
    assert!(out.contains("Normalised:  UCS-2"), "{out}");
    assert!(out.contains("Hi Seán - see you soon"), "{out}");
}
