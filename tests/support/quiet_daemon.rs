//! Settings for a daemon of a test's own: a random port, a fresh SQLite file
//! and key file in `dir`, warnings only in the log, and no sending.

use std::path::Path;

use homeward::config::Settings;

pub fn settings_in(dir: &Path) -> Settings {
    let url = format!("{:?}", format!("sqlite://{}", dir.join("h.db").display()));
    let keys = format!("{:?}", dir.join("h.keys").display().to_string());
    let overrides = [
        ("server.bind", "\"127.0.0.1:0\""),
        ("database.url", url.as_str()),
        ("database.key_file", keys.as_str()),
        ("log.level", "\"warn\""),
        ("dispatch.enabled", "false"),
    ];
    Settings::defaults_with(&overrides).expect("test settings are valid")
}
