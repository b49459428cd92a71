//! Settings: one typed tree, read in one place.
//!
//! Layers, later wins: the built-in `config/default.toml` (compiled in, so the
//! daemon needs no files to start), an optional file given with `--config`,
//! then environment variables `HOMEWARD__SECTION__KEY`. Unknown keys are
//! errors, and every value is checked before anything starts, so a mistake
//! stops the daemon with the key, the value and what is allowed. No other
//! module reads the environment.

mod providers;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::domain::{Language, MobilePolicy, Region, TemplateName};

pub use providers::{
    DispatchSettings, Limits, LogProviderSettings, NotifySettings, ProviderKind, ProviderSettings,
    TwilioSettings, VonageSettings, WebhookSettings,
};
pub use values::{CronSchedule, LocalTime};

const DEFAULTS: &str = include_str!("../../config/default.toml");
const ENV_PREFIX: &str = "HOMEWARD__";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub time: TimeSettings,
    pub templates: TemplateSettings,
    pub planner: PlannerSettings,
    pub ingest: IngestSettings,
    pub dispatch: DispatchSettings,
    pub optout: OptOutSettings,
    pub retention: RetentionSettings,
    pub staff: StaffSettings,
    pub providers: BTreeMap<String, ProviderSettings>,
}

/// Staff sign-in on the web pages (see README, "Staff pages").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSettings {
    /// A session unused this long ends.
    pub idle_timeout_mins: std::num::NonZeroU32,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout_hours: std::num::NonZeroU32,
    /// Failed sign-ins allowed per account, and per address, in
    /// `lockout_mins`, before further attempts wait.
    pub max_failed_sign_ins: std::num::NonZeroU32,
    pub lockout_mins: std::num::NonZeroU32,
}

impl StaffSettings {
    pub fn idle_timeout(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.idle_timeout_mins.get().into())
    }

    pub fn absolute_timeout(&self) -> chrono::Duration {
        chrono::Duration::hours(self.absolute_timeout_hours.get().into())
    }

    pub fn lockout(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.lockout_mins.get().into())
    }
}

/// How long personal data is kept (see README, "Data protection").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days after a person's last event (and last change) before their data
    /// is deleted, once no text waits for them.
    pub keep_days: u32,
}

impl RetentionSettings {
    pub fn keep_for(&self) -> chrono::Duration {
        chrono::Duration::days(self.keep_days.into())
    }
}

/// How replies are read (see `optout::keywords`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOutSettings {
    pub opt_out_words: Vec<String>,
    pub opt_in_words: Vec<String>,
    pub help_words: Vec<String>,
    pub stop_phrases: Vec<String>,
    pub wrong_number_phrases: Vec<String>,
    /// Questions about who is texting, by language tag: they get the HELP
    /// reply. Matched in every language, as a reply's language is unknown.
    pub who_phrases: BTreeMap<String, Vec<String>>,
    pub silent_days: u32,
}

impl OptOutSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        for (key, words) in [
            ("optout.opt_out_words", &self.opt_out_words),
            ("optout.opt_in_words", &self.opt_in_words),
        ] {
            if words.iter().all(|w| w.trim().is_empty()) {
                return invalid(key, "[]", "at least one word");
            }
        }
        // A re-subscribing reply must be exactly the word, in ASCII letters.
        if let Some(word) = self
            .opt_in_words
            .iter()
            .find(|w| w.is_empty() || !w.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            return invalid("optout.opt_in_words", word, "words of ASCII letters only");
        }
        if let Some(tag) = self
            .who_phrases
            .keys()
            .find(|t| Language::parse(t).is_err())
        {
            return invalid("optout.who_phrases", tag, "language tags, e.g. en or pl");
        }
        positive("optout.silent_days", self.silent_days.into())
    }
}

/// What people and events Homeward takes in (see `ingest`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// The countries whose mobiles Homeward texts; the first is assumed for
    /// numbers written without a country code.
    #[serde(deserialize_with = "deserialize_regions")]
    pub allowed_regions: Vec<Region>,
    /// Whether a number that may be a landline (libphonenumber's "fixed
    /// line or mobile", as in the US) is accepted.
    pub accept_fixed_line_or_mobile: bool,
}

impl IngestSettings {
    /// The numbers Homeward may text, as one value to hand to ingest.
    pub fn mobiles(&self) -> MobilePolicy {
        MobilePolicy::new(
            self.allowed_regions.clone(),
            self.accept_fixed_line_or_mobile,
        )
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.allowed_regions.is_empty() {
            return invalid(
                "ingest.allowed_regions",
                "[]",
                "at least one country code, e.g. [\"GB\", \"GG\", \"JE\", \"IM\"]",
            );
        }
        Ok(())
    }
}

/// How reminders are planned: the rules file, sending hours and caps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannerSettings {
    pub campaigns_file: PathBuf,
    pub send_window_start: LocalTime,
    pub send_window_end: LocalTime,
    pub daily_cap: u32,
    pub min_gap_minutes: u32,
    pub nudge_horizon_days: u32,
    pub sweep_cron: CronSchedule,
    /// Goals staff may record beyond those the campaign rules name.
    #[serde(deserialize_with = "deserialize_goals")]
    pub extra_goals: Vec<TemplateName>,
}

impl PlannerSettings {
    /// The local sending window: start before end, checked by `validate`.
    pub fn window(&self) -> (chrono::NaiveTime, chrono::NaiveTime) {
        (self.send_window_start.0, self.send_window_end.0)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.send_window_start >= self.send_window_end {
            let value = format!("{}–{}", self.send_window_start, self.send_window_end);
            return invalid(
                "planner.send_window_start/end",
                &value,
                "a start before the end, leaving a window to send in",
            );
        }
        positive("planner.daily_cap", u64::from(self.daily_cap))?;
        positive(
            "planner.nudge_horizon_days",
            u64::from(self.nudge_horizon_days),
        )?;
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    pub request_timeout_secs: u64,
    /// How long a connection may take to send a request's head.
    pub header_read_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    /// Requests per second each API token may make, after its burst.
    pub api_rate_per_second: NonZeroU32,
    /// Requests each API token may make at once.
    pub api_burst: NonZeroU32,
    /// The URL providers reach this daemon at (behind any proxy), e.g.
    /// `https://sms.example.org`; webhook signatures cover the full URL.
    #[serde(default)]
    pub public_base_url: Option<String>,
}

impl ServerSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs)
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
    /// SQLite: how long a write waits for the database lock.
    pub busy_timeout_ms: u64,
    /// PostgreSQL: how long a statement may run, and how long a query waits
    /// for a pooled connection.
    pub statement_timeout_ms: u64,
    /// The file holding the keys that seal personal data (see `vault`).
    /// Empty: beside an SQLite database (`homeward.db.keys`), or
    /// `homeward.keys` in the working directory for PostgreSQL.
    pub key_file: String,
    /// The keys themselves, as the key file would hold them, for operators
    /// who supply secrets through the environment
    /// (`HOMEWARD__DATABASE__KEYS`). Takes precedence over `key_file`.
    pub keys: Option<secrecy::SecretString>,
}

/// Which database a `database.url` names, read from its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

impl DatabaseSettings {
    /// The backend `url` names, or `None` for a scheme Homeward cannot use.
    pub fn backend(&self) -> Option<DatabaseBackend> {
        let url = self.url.as_str();
        if url.starts_with("sqlite:") {
            Some(DatabaseBackend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DatabaseBackend::Postgres)
        } else {
            None
        }
    }

    /// Where the keys live when they are not given inline; `None` for an
    /// in-memory database, whose keys need not outlive it.
    pub fn key_path(&self) -> Option<std::path::PathBuf> {
        if !self.key_file.is_empty() {
            return Some(self.key_file.clone().into());
        }
        match self.backend() {
            Some(DatabaseBackend::Sqlite) => {
                let path = self
                    .url
                    .trim_start_matches("sqlite:")
                    .trim_start_matches("//");
                let path = path.split('?').next().unwrap_or_default();
                (!path.is_empty()
                    && !path.contains(":memory:")
                    && !self.url.contains("mode=memory"))
                .then(|| format!("{path}.keys").into())
            }
            _ => Some("homeward.keys".into()),
        }
    }

    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_millis(self.statement_timeout_ms)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.backend().is_none() {
            // Only the scheme is shown: the rest may carry a password.
            let scheme = self.url.split(':').next().unwrap_or_default();
            return invalid(
                "database.url",
                &format!("{scheme}:…"),
                "a sqlite:// URL (one daemon) or a postgres:// or postgresql:// URL (several daemons)",
            );
        }
        positive("database.max_connections", self.max_connections.into())?;
        // PostgreSQL keeps the timeout in a 32-bit integer.
        if !(1..=i32::MAX as u64).contains(&self.statement_timeout_ms) {
            return invalid(
                "database.statement_timeout_ms",
                &self.statement_timeout_ms.to_string(),
                "milliseconds from 1 to 2147483647",
            );
        }
        Ok(())
    }
}

impl std::fmt::Debug for DatabaseSettings {
    // A PostgreSQL URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &"[redacted]")
            .field("backend", &self.backend())
            .field("max_connections", &self.max_connections)
            .field("busy_timeout_ms", &self.busy_timeout_ms)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .field("key_file", &self.key_file)
            .field("keys", &self.keys.as_ref().map(|_| "[redacted]"))
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

/// The SMS templates and the checks they must pass (see `templates`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSettings {
    /// The folder holding `sms/<language>/<name>.txt.tera`; a relative path
    /// is read from the working directory.
    pub directory: PathBuf,
    /// Who the texts say they are from: `{{ sender_name }}`.
    pub sender_name: String,
    /// A number that reaches a person: `{{ support_phone }}`.
    pub support_phone: String,
    /// Lowest Flesch reading ease allowed for English texts.
    pub min_reading_ease: f64,
    /// Highest average words per sentence allowed.
    pub max_words_per_sentence: u32,
    /// Whether a text may contain a web link or email address.
    pub allow_links: bool,
    /// Languages whose texts must fit GSM-7 with plain sample names.
    #[serde(deserialize_with = "deserialize_languages")]
    pub gsm7_languages: Vec<Language>,
    /// Words that must never appear in a text (whole words, any case).
    pub disclosing_words: Vec<String>,
    /// Words with plainer alternatives, refused unless explained.
    pub jargon_words: Vec<String>,
}

impl TemplateSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.directory.as_os_str().is_empty() {
            return invalid("templates.directory", "", "a folder path");
        }
        let name = &self.sender_name;
        let name_len = name.trim().chars().count();
        if !(1..=40).contains(&name_len) || name.chars().any(char::is_control) {
            return invalid(
                "templates.sender_name",
                name,
                "1 to 40 printable characters",
            );
        }
        if !is_speakable_phone(&self.support_phone) {
            return invalid(
                "templates.support_phone",
                &self.support_phone,
                "digits in groups of at most 4 separated by spaces, e.g. \"0800 22 44 88\"",
            );
        }
        let ease = self.min_reading_ease;
        if !(0.0..=120.0).contains(&ease) {
            return invalid(
                "templates.min_reading_ease",
                &ease.to_string(),
                "a number from 0 to 120 (60 is plain English)",
            );
        }
        if !(1..=60).contains(&self.max_words_per_sentence) {
            return invalid(
                "templates.max_words_per_sentence",
                &self.max_words_per_sentence.to_string(),
                "a whole number from 1 to 60",
            );
        }
        if self.disclosing_words.iter().all(|w| w.trim().is_empty()) {
            return invalid(
                "templates.disclosing_words",
                "[]",
                "at least one word; the built-in list is the safe default",
            );
        }
        Ok(())
    }
}

/// "0800 22 44 88", "111", "+44 141 211 3000": groups of 1-4 digits that a
/// person can read out, the same rule the template check applies.
fn is_speakable_phone(phone: &str) -> bool {
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    let groups: Vec<&str> = digits.split(' ').collect();
    digits.chars().filter(char::is_ascii_digit).count() >= 3
        && groups
            .iter()
            .all(|g| (1..=4).contains(&g.len()) && g.chars().all(|c| c.is_ascii_digit()))
}

/// A setting that cannot be used, with enough detail to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {key} = {value:?} is not allowed: {allowed}")]
    Invalid {
        key: String,
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
                    key: "--config".into(),
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
                key: "override".into(),
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
        self.database.validate()?;
        positive("server.max_body_bytes", self.server.max_body_bytes as u64)?;
        positive(
            "server.max_import_bytes",
            self.server.max_import_bytes as u64,
        )?;
        positive(
            "server.request_timeout_secs",
            self.server.request_timeout_secs,
        )?;
        positive(
            "server.header_read_timeout_secs",
            self.server.header_read_timeout_secs,
        )?;
        if !is_log_filter(&self.log.level) {
            return invalid(
                "log.level",
                &self.log.level,
                "a level (error, warn, info, debug, trace) or tracing directives",
            );
        }
        self.templates.validate()?;
        self.planner.validate()?;
        self.ingest.validate()?;
        providers::validate(&self.dispatch, &self.providers)?;
        self.optout.validate()?;
        if !(1..=3650).contains(&self.retention.keep_days) {
            return invalid(
                "retention.keep_days",
                &self.retention.keep_days.to_string(),
                "days from 1 to 3650",
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

fn invalid<T>(key: &str, value: &str, allowed: &str) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid {
        key: key.to_owned(),
        value: value.to_owned(),
        allowed: allowed.to_owned(),
    })
}

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
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

fn deserialize_regions<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Region>, D::Error> {
    let codes = Vec::<String>::deserialize(d)?;
    codes
        .iter()
        .map(|code| code.parse::<Region>().map_err(serde::de::Error::custom))
        .collect()
}

fn deserialize_goals<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<TemplateName>, D::Error> {
    let goals = Vec::<String>::deserialize(d)?;
    goals
        .iter()
        .map(|goal| {
            TemplateName::parse(goal)
                .map_err(|e| serde::de::Error::custom(format!("goal {goal:?} {e}")))
        })
        .collect()
}

fn deserialize_languages<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<Language>, D::Error> {
    let tags = Vec::<String>::deserialize(d)?;
    tags.iter()
        .map(|tag| {
            Language::parse(tag)
                .map_err(|e| serde::de::Error::custom(format!("language {tag:?} {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sending_window_that_leaves_no_time_is_refused() {
        let err =
            Settings::defaults_with(&[("planner.send_window_start", "\"20:00\"")]).unwrap_err();
        assert!(
            err.to_string().contains("planner.send_window_start/end"),
            "{err}"
        );
        let err = Settings::defaults_with(&[("planner.sweep_cron", "\"every day\"")]).unwrap_err();
        assert!(err.to_string().contains("every day"), "{err}");
        let err = Settings::defaults_with(&[("dispatch.due_check_cron", "\"often\"")]).unwrap_err();
        assert!(
            err.to_string().contains("dispatch.due_check_cron")
                && err.to_string().contains("often"),
            "{err}"
        );
        let err = Settings::defaults_with(&[("retention.keep_days", "0")]).unwrap_err();
        assert!(err.to_string().contains("retention.keep_days"), "{err}");
    }

    #[test]
    fn database_urls_choose_the_backend_and_others_are_refused_without_their_secrets() {
        let backend = |url: &str| {
            let value = format!("{url:?}");
            Settings::defaults_with(&[("database.url", value.as_str())])
                .map(|s| s.database.backend())
        };
        assert_eq!(
            backend("sqlite://h.db").unwrap(),
            Some(DatabaseBackend::Sqlite)
        );
        for url in ["postgres://u:p@db/h", "postgresql://db/h"] {
            assert_eq!(backend(url).unwrap(), Some(DatabaseBackend::Postgres));
        }
        let err = backend("mysql://user:hunter2@db/h")
            .unwrap_err()
            .to_string();
        assert!(err.contains("database.url"), "{err}");
        assert!(
            err.contains("postgres://") && err.contains("sqlite://"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        for timeout in ["0", "2147483648"] {
            let err =
                Settings::defaults_with(&[("database.statement_timeout_ms", timeout)]).unwrap_err();
            assert!(err.to_string().contains("statement_timeout_ms"), "{err}");
        }
    }

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

    #[test]
    fn the_template_defaults_name_a_neutral_sender_and_every_built_in_disclosing_word() {
        let t = Settings::defaults_with(&[]).unwrap().templates;
        assert_eq!(t.directory, PathBuf::from("templates"));
        assert_eq!(t.sender_name, "your local health team");
        assert!(!t.allow_links);
        assert_eq!(t.gsm7_languages, vec![Language::english()]);
        for word in crate::templates::disclosure::DEFAULT_DISCLOSING {
            assert!(t.disclosing_words.iter().any(|w| w == word), "{word}");
        }
        for word in crate::templates::disclosure::DEFAULT_JARGON {
            assert!(t.jargon_words.iter().any(|w| w == word), "{word}");
        }
    }

    #[test]
    fn template_limits_out_of_range_are_refused_naming_the_key() {
        let cases = [
            ("templates.min_reading_ease", "130"),
            ("templates.min_reading_ease", "-1.0"),
            ("templates.max_words_per_sentence", "0"),
            ("templates.support_phone", "\"08002244 88\""),
            ("templates.support_phone", "\"call us\""),
            ("templates.sender_name", "\"  \""),
            ("templates.disclosing_words", "[]"),
            ("templates.directory", "\"\""),
        ];
        for (key, value) in cases {
            let err = Settings::defaults_with(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key} = {value}: {err}");
        }
    }

    #[test]
    fn opt_in_words_must_be_plain_letters_and_who_phrases_keyed_by_language() {
        for (key, value) in [
            ("optout.opt_in_words", "[\"START!\"]"),
            ("optout.opt_in_words", "[\"ＹＥＳ\"]"),
            ("optout.opt_in_words", "[]"),
            ("optout.who_phrases", "{ english = [\"who is this\"] }"),
        ] {
            let err = Settings::defaults_with(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key} = {value}: {err}");
        }
        let optout = Settings::defaults_with(&[]).unwrap().optout;
        assert!(optout.who_phrases["en"].iter().any(|p| p == "who's this"));
        assert!(optout.who_phrases["pl"].iter().any(|p| p == "kto to"));
    }

    #[test]
    fn allowed_regions_are_read_as_countries_and_unknown_codes_refused_naming_key_and_value() {
        let ingest = Settings::defaults_with(&[]).unwrap().ingest;
        assert_eq!(ingest.mobiles(), MobilePolicy::uk());
        let ingest = Settings::defaults_with(&[("ingest.allowed_regions", "[\"ie\", \"GB\"]")])
            .unwrap()
            .ingest;
        let codes: Vec<&str> = ingest.allowed_regions.iter().map(|r| r.code()).collect();
        assert_eq!(codes, ["IE", "GB"]);
        let err = Settings::defaults_with(&[("ingest.allowed_regions", "[\"GB\", \"UK\"]")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ingest.allowed_regions") && err.contains("\"UK\""),
            "{err}"
        );
        let err = Settings::defaults_with(&[("ingest.allowed_regions", "[]")]).unwrap_err();
        assert!(err.to_string().contains("ingest.allowed_regions"), "{err}");
    }

    #[test]
    fn extra_goals_must_be_snake_case_names() {
        let planner = Settings::defaults_with(&[("planner.extra_goals", "[\"housed\"]")])
            .unwrap()
            .planner;
        assert_eq!(planner.extra_goals[0].as_str(), "housed");
        let err = Settings::defaults_with(&[("planner.extra_goals", "[\"Has GP\"]")]).unwrap_err();
        assert!(
            err.to_string().contains("extra_goals") && err.to_string().contains("Has GP"),
            "{err}"
        );
    }

    #[test]
    fn a_provider_key_of_another_kind_a_missing_one_or_a_zero_rate_is_named() {
        let cases = [
            ("providers.log.url", "\"https://x.example\"", "url"),
            ("providers.log.rate_per_second", "0", "rate_per_second"),
            ("providers.spare.kind", "\"webhook\"", "url"),
            ("providers.log.kind", "\"pigeon\"", "pigeon"),
        ];
        for (key, value, named) in cases {
            let err = Settings::defaults_with(&[(key, value)])
                .unwrap_err()
                .to_string();
            let provider = key.rsplit_once('.').unwrap().0;
            assert!(
                err.contains(provider) && err.contains(named),
                "{key} = {value}: {err}"
            );
        }
    }

    #[test]
    fn speakable_support_numbers_and_language_tags_are_accepted() {
        let t = Settings::defaults_with(&[
            ("templates.support_phone", "\"+44 141 211 3000\""),
            ("templates.gsm7_languages", "[\"en\", \"EN-gb\"]"),
        ])
        .unwrap()
        .templates;
        assert_eq!(t.support_phone, "+44 141 211 3000");
        assert_eq!(t.gsm7_languages[1].as_str(), "en-GB");
        let err =
            Settings::defaults_with(&[("templates.gsm7_languages", "[\"english\"]")]).unwrap_err();
        assert!(err.to_string().contains("english"), "{err}");
    }
}
