//! Settings for SMS providers and the dispatcher that sends through them.
//!
//! Providers are a table keyed by the operator's name for each, so one key
//! can be overridden from the environment, e.g.
//! `HOMEWARD__PROVIDERS__TWILIO__AUTH_TOKEN`. `dispatch.providers` lists the
//! names in failover order.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, invalid, positive};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Log,
    Webhook,
    Twilio,
    Vonage,
    Notify,
}

/// One provider. Which keys apply depends on `kind`; a key that does not
/// apply, or a required one missing, is an error naming it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    /// Sends per second allowed by the provider (the dispatcher's governor).
    #[serde(default = "default_rate")]
    pub rate_per_second: u32,
    /// How many sends may go at once after a quiet spell.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// How long one send may take before it counts as a transient failure.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The API's base URL; defaults to the provider's public one.
    pub base_url: Option<String>,
    /// webhook: where to POST each text.
    pub url: Option<String>,
    /// webhook: the HMAC-SHA256 key for the `X-Homeward-Signature` header.
    pub secret: Option<SecretString>,
    /// twilio: Account SID (`AC…`) and Auth Token.
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    /// twilio: the secret of the SharedKey a Twilio Webhook Setting signs
    /// webhooks with (those carrying `X-Twilio-Webhooks-Signature-Settings`).
    pub webhook_shared_key: Option<SecretString>,
    /// twilio: a Messaging Service SID (`MG…`), or `from`.
    pub messaging_service_sid: Option<String>,
    /// twilio, vonage: the sender number or alphanumeric sender id.
    pub from: Option<String>,
    /// vonage: API key and secret; notify: the whole API key.
    pub api_key: Option<SecretString>,
    pub api_secret: Option<SecretString>,
    /// vonage: the signature secret for signed webhooks.
    pub signature_secret: Option<SecretString>,
    /// notify: the id of a template whose body is `((body))`.
    pub template_id: Option<String>,
    /// notify: the bearer token Notify sends with its callbacks.
    pub callback_token: Option<SecretString>,
}

fn default_rate() -> u32 {
    10
}

fn default_burst() -> u32 {
    1
}

fn default_timeout() -> u64 {
    10
}

impl ProviderSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// How the dispatcher sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchSettings {
    /// Whether this daemon sends at all (false: API and planning only).
    pub enabled: bool,
    /// Provider names in failover order: the first healthy one sends.
    pub providers: Vec<String>,
    /// When to look for texts that are due while none are (a cron
    /// expression with seconds, in `time.zone`); while texts are due, rounds
    /// follow each other at once.
    pub due_check_cron: super::CronSchedule,
    /// Texts claimed per round.
    pub batch_size: u32,
    /// Sends in flight at once.
    pub concurrency: u32,
    /// How long a claim lasts; a claim not finished by then (a crash) is
    /// resolved at the next start or by another daemon.
    pub lease_secs: u64,
    /// Attempts before a transient failure becomes final.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long.
    pub retry_base_secs: u64,
    /// Consecutive failures that open a provider's circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker skips its provider.
    pub breaker_cooldown_secs: u64,
}

impl DispatchSettings {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }
}

pub(super) fn validate(
    dispatch: &DispatchSettings,
    providers: &BTreeMap<String, ProviderSettings>,
) -> Result<(), ConfigError> {
    if dispatch.providers.is_empty() {
        return invalid(
            "dispatch.providers",
            "[]",
            "at least one provider name from [providers]",
        );
    }
    for name in &dispatch.providers {
        if !providers.contains_key(name) {
            let known = providers.keys().cloned().collect::<Vec<_>>().join(", ");
            return invalid(
                "dispatch.providers",
                name,
                &format!("a name defined under [providers] ({known})"),
            );
        }
    }
    positive("dispatch.batch_size", dispatch.batch_size.into())?;
    positive("dispatch.concurrency", dispatch.concurrency.into())?;
    positive("dispatch.lease_secs", dispatch.lease_secs)?;
    positive("dispatch.max_attempts", dispatch.max_attempts.into())?;
    positive(
        "dispatch.breaker_failures",
        dispatch.breaker_failures.into(),
    )?;
    for (name, p) in providers {
        validate_provider(name, p)?;
    }
    Ok(())
}

fn validate_provider(name: &str, p: &ProviderSettings) -> Result<(), ConfigError> {
    let key = |field: &str| format!("providers.{name}.{field}");
    positive(&key("rate_per_second"), p.rate_per_second.into())?;
    positive(&key("burst"), p.burst.into())?;
    positive(&key("timeout_secs"), p.timeout_secs)?;
    let (required, optional) = p.kind.keys();
    for (field, present) in p.credentials() {
        if present && !required.contains(&field) && !optional.contains(&field) {
            return invalid(
                &key(field),
                "(set)",
                &format!("not a key of a {:?} provider", p.kind),
            );
        }
        if !present && required.contains(&field) {
            return invalid(
                &key(field),
                "",
                &format!("required for a {:?} provider", p.kind),
            );
        }
    }
    if p.kind == ProviderKind::Twilio && p.messaging_service_sid.is_none() && p.from.is_none() {
        return invalid(
            &key("from"),
            "",
            "a Twilio provider needs messaging_service_sid or from",
        );
    }
    Ok(())
}

impl ProviderKind {
    /// The kind-specific keys: required, then optional.
    fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Log => (&[], &[]),
            Self::Webhook => (&["url", "secret"], &[]),
            Self::Twilio => (
                &["account_sid", "auth_token"],
                &[
                    "base_url",
                    "messaging_service_sid",
                    "from",
                    "webhook_shared_key",
                ],
            ),
            Self::Vonage => (
                &["api_key", "api_secret", "from"],
                &["base_url", "signature_secret"],
            ),
            Self::Notify => (&["api_key", "template_id", "callback_token"], &["base_url"]),
        }
    }
}

impl ProviderSettings {
    fn credentials(&self) -> [(&'static str, bool); 13] {
        [
            ("callback_token", self.callback_token.is_some()),
            ("base_url", self.base_url.is_some()),
            ("url", self.url.is_some()),
            ("secret", self.secret.is_some()),
            ("account_sid", self.account_sid.is_some()),
            ("auth_token", self.auth_token.is_some()),
            ("webhook_shared_key", self.webhook_shared_key.is_some()),
            (
                "messaging_service_sid",
                self.messaging_service_sid.is_some(),
            ),
            ("from", self.from.is_some()),
            ("api_key", self.api_key.is_some()),
            ("api_secret", self.api_secret.is_some()),
            ("signature_secret", self.signature_secret.is_some()),
            ("template_id", self.template_id.is_some()),
        ]
    }
}
