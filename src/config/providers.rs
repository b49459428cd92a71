//! Settings for SMS providers and the dispatcher that sends through them.
//!
//! Providers are a table keyed by the operator's name for each, so one key
//! can be overridden from the environment, e.g.
//! `HOMEWARD__PROVIDERS__TWILIO__AUTH_TOKEN`. `dispatch.providers` lists the
//! names in failover order.

use std::collections::BTreeMap;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{Deserializer, Error as _, Unexpected};

use super::{ConfigError, invalid, positive};

/// Which adapter a provider uses: the `kind` key of its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Log,
    Webhook,
    Twilio,
    Vonage,
    Notify,
}

/// One provider, by kind. Each kind has its own keys, so a key that does
/// not apply, or a required one missing, stops start-up naming it (serde's
/// "unknown field" / "missing field", with figment's key path), and nothing
/// downstream asks whether a required key is there.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderSettings {
    /// Records what would be sent (number masked, no text).
    Log(LogProviderSettings),
    Webhook(WebhookSettings),
    Twilio(TwilioSettings),
    Vonage(VonageSettings),
    Notify(NotifySettings),
}

/// How fast and how long a provider may be asked; every kind has these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sends per second allowed by the provider (the dispatcher's governor).
    pub rate_per_second: NonZeroU32,
    /// How many sends may go at once after a quiet spell.
    pub burst: NonZeroU32,
    /// How long one send may take before it counts as a transient failure.
    pub timeout: Duration,
}

/// A kind's settings struct: its own keys plus the limits every kind has.
/// (A macro because serde cannot flatten the shared keys into a struct that
/// also refuses unknown keys.)
macro_rules! provider_kind {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            #[serde(default = "default_rate", deserialize_with = "rate")]
            pub rate_per_second: NonZeroU32,
            #[serde(default = "default_burst", deserialize_with = "burst")]
            pub burst: NonZeroU32,
            #[serde(default = "default_timeout", deserialize_with = "timeout")]
            pub timeout_secs: NonZeroU64,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl $name {
            fn limits(&self) -> Limits {
                Limits {
                    rate_per_second: self.rate_per_second,
                    burst: self.burst,
                    timeout: Duration::from_secs(self.timeout_secs.get()),
                }
            }
        }
    };
}

provider_kind!(
    /// `kind = "log"`: no keys of its own.
    LogProviderSettings {}
);
provider_kind!(
    /// `kind = "webhook"`: Homeward's own documented contract.
    WebhookSettings {
        /// Where to POST each text.
        url: String,
        /// The HMAC-SHA256 key for the `X-Homeward-Signature` header.
        secret: SecretString,
    }
);
provider_kind!(
    /// `kind = "twilio"`.
    TwilioSettings {
        /// Account SID (`AC…`) and Auth Token.
        account_sid: String,
        auth_token: SecretString,
        /// The secret of the SharedKey a Twilio Webhook Setting signs
        /// webhooks with (those carrying `X-Twilio-Webhooks-Signature-Settings`).
        webhook_shared_key: Option<SecretString>,
        /// A Messaging Service SID (`MG…`), or `from`.
        messaging_service_sid: Option<String>,
        /// The sender number or alphanumeric sender id.
        from: Option<String>,
        /// The API's base URL; defaults to Twilio's.
        base_url: Option<String>,
    }
);
provider_kind!(
    /// `kind = "vonage"`.
    VonageSettings {
        api_key: SecretString,
        api_secret: SecretString,
        /// The sender number or alphanumeric sender id.
        from: String,
        /// The signature secret for signed webhooks.
        signature_secret: Option<SecretString>,
        /// The API's base URL; defaults to Vonage's.
        base_url: Option<String>,
    }
);
provider_kind!(
    /// `kind = "notify"`: GOV.UK Notify.
    NotifySettings {
        /// The whole API key.
        api_key: SecretString,
        /// The id of a template whose body is `((body))`.
        template_id: String,
        /// The bearer token Notify sends with its callbacks.
        callback_token: SecretString,
        /// The API's base URL; defaults to Notify's.
        base_url: Option<String>,
    }
);

// A kind's table is read through serde's buffer for tagged enums, where
// figment can name only the provider, not the key: these name the key in
// what they expect.
fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
    small(
        d,
        "rate_per_second: a whole number of sends a second, at least 1",
    )
}

fn burst<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
    small(d, "burst: a whole number of sends, at least 1")
}

fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU64, D::Error> {
    at_least_one(d, "timeout_secs: a whole number of seconds, at least 1")
}

fn small<'de, D: Deserializer<'de>>(d: D, expected: &'static str) -> Result<NonZeroU32, D::Error> {
    let n = at_least_one(d, expected)?;
    NonZeroU32::try_from(n)
        .map_err(|_| D::Error::invalid_value(Unexpected::Unsigned(n.get()), &expected))
}

fn at_least_one<'de, D: Deserializer<'de>>(
    d: D,
    expected: &'static str,
) -> Result<NonZeroU64, D::Error> {
    let n = u64::deserialize(d)?;
    NonZeroU64::new(n).ok_or_else(|| D::Error::invalid_value(Unexpected::Unsigned(n), &expected))
}

fn default_rate() -> NonZeroU32 {
    NonZeroU32::new(10).expect("10 is not zero")
}

fn default_burst() -> NonZeroU32 {
    NonZeroU32::MIN
}

fn default_timeout() -> NonZeroU64 {
    NonZeroU64::new(10).expect("10 is not zero")
}

impl ProviderSettings {
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::Log(_) => ProviderKind::Log,
            Self::Webhook(_) => ProviderKind::Webhook,
            Self::Twilio(_) => ProviderKind::Twilio,
            Self::Vonage(_) => ProviderKind::Vonage,
            Self::Notify(_) => ProviderKind::Notify,
        }
    }

    pub fn limits(&self) -> Limits {
        match self {
            Self::Log(s) => s.limits(),
            Self::Webhook(s) => s.limits(),
            Self::Twilio(s) => s.limits(),
            Self::Vonage(s) => s.limits(),
            Self::Notify(s) => s.limits(),
        }
    }
}

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
    Ok(())
}
