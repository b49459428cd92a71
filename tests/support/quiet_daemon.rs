//! Settings for a daemon of a test's own: a random port, a fresh SQLite file
//! and key file in `dir`, warnings only in the log, and no sending.

use std::path::Path;

use homeward::config::Settings;

#[allow(dead_code)] // the browser tests take the defaults
pub fn settings_in(dir: &Path) -> Settings {
    settings_with(dir, &[])
}

/// [`settings_in`], with more settings on top.
pub fn settings_with(dir: &Path, extra: &[(&str, &str)]) -> Settings {
    let url = format!("{:?}", format!("sqlite://{}", dir.join("h.db").display()));
    let keys = format!("{:?}", dir.join("h.keys").display().to_string());
    let mut overrides = vec![
        ("server.bind", "\"127.0.0.1:0\""),
        ("database.url", url.as_str()),
        ("database.key_file", keys.as_str()),
        ("log.level", "\"warn\""),
        ("dispatch.enabled", "false"),
    ];
    overrides.extend_from_slice(extra);
    Settings::defaults_with(&overrides).expect("test settings are valid")
}
