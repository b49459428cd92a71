//! Settings: one typed tree, read in one place.
//!
//! Layers, later wins: the built-in `config/default.toml` (compiled in, so the
//! daemon needs no files to start), an optional file given with `--config`,
//! then environment variables `HOMEWARD__SECTION__KEY`. Unknown keys are
//! errors, and every value is checked before anything starts, so a mistake
//! stops the daemon with the key, the value and what is allowed. No other
//! module reads the environment.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../config/default.toml");
const ENV_PREFIX: &str = "HOMEWARD__";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub time: TimeSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
}

impl ServerSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    // A PostgreSQL URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &"[redacted]")
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSettings {
    #[serde(deserialize_with = "deserialize_zone")]
    pub zone: Tz,
}

/// A setting that cannot be used, with enough detail to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {key} = {value:?} is not allowed: {allowed}")]
    Invalid {
        key: &'static str,
        value: String,
        allowed: String,
    },
}

impl Settings {
    /// Read the layers and check every value.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Invalid {
                    key: "--config",
                    value: path.display().to_string(),
                    allowed: "a readable TOML file".into(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::from_figment(figment.merge(Env::prefixed(ENV_PREFIX).split("__")))
    }

    /// The built-in defaults with overrides given as `(dotted.key, TOML value)`,
    /// for tests and tools that configure Homeward programmatically.
    pub fn defaults_with(overrides: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        for (key, value) in overrides {
            let value: figment::value::Value = value.parse().map_err(|_| ConfigError::Invalid {
                key: "override",
                value: format!("{key} = {value}"),
                allowed: "a TOML value".into(),
            })?;
            figment = figment.merge((*key, value));
        }
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")) {
            return invalid("database.url", url, "a sqlite:// URL");
        }
        positive(
            "database.max_connections",
            self.database.max_connections as u64,
        )?;
        positive("server.max_body_bytes", self.server.max_body_bytes as u64)?;
        positive(
            "server.max_import_bytes",
            self.server.max_import_bytes as u64,
        )?;
        positive(
            "server.request_timeout_secs",
            self.server.request_timeout_secs,
        )?;
        if !is_log_filter(&self.log.level) {
            return invalid(
                "log.level",
                &self.log.level,
                "a level (error, warn, info, debug, trace) or tracing directives",
            );
        }
        Ok(())
    }
}

/// A bare word in a tracing filter names a target, so a misspelt level
/// ("inf") would silently log nothing; bare words must be levels here.
fn is_log_filter(filter: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let bare_words_are_levels = filter
        .split(',')
        .filter(|d| !d.contains(['=', '[']))
        .all(|d| LEVELS.contains(&d.trim().to_ascii_lowercase().as_str()));
    bare_words_are_levels && tracing_subscriber::EnvFilter::try_new(filter).is_ok()
}

fn invalid<T>(key: &'static str, value: &str, allowed: &str) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid {
        key,
        value: value.to_owned(),
        allowed: allowed.to_owned(),
    })
}

fn positive(key: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return invalid(key, "0", "a number greater than 0");
    }
    Ok(())
}

fn deserialize_zone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let name = String::deserialize(d)?;
    name.parse::<Tz>().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone {name:?}; use an IANA name such as \"Europe/London\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_defaults_are_valid() {
        let settings = Settings::defaults_with(&[]).unwrap();
        assert_eq!(settings.time.zone, chrono_tz::Europe::London);
        assert_eq!(settings.log.format, LogFormat::Pretty);
    }

    #[test]
    fn an_unknown_time_zone_is_named_in_the_error() {
        let err = Settings::defaults_with(&[("time.zone", "\"Europe/Glasgow\"")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Europe/Glasgow"), "{text}");
        assert!(text.contains("zone"), "{text}");
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        let err = Settings::defaults_with(&[("server.bnid", "\"x\"")]).unwrap_err();
        assert!(err.to_string().contains("bnid"), "{err}");
    }

    #[test]
    fn a_bad_log_level_names_key_value_and_choices() {
        let err = Settings::defaults_with(&[("log.level", "\"loud\"")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: log.level = \"loud\" is not allowed: a level (error, warn, info, debug, trace) or tracing directives"
        );
    }
}
