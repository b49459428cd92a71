//! Builds a configured provider: the one place that turns settings into a
//! concrete adapter, so a bad value is caught at start-up, named by its key,
//! rather than on the first send.
//!
//! Every HTTP provider gets its own client with the provider's timeout,
//! rustls, and no redirects (a redirected POST can turn into a GET or carry
//! credentials somewhere unexpected). Base URLs must be `https://`; plain
//! `http://` is allowed only to a loopback address, for tests and local
//! fakes. A base URL is the host root (e.g. `https://rest.nexmo.com`): each
//! adapter appends its documented path. Errors never quote a secret.

use std::net::IpAddr;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use super::Provider;
use super::http::Transport;
use super::log::LogProvider;
use super::notify::{self, NotifyProvider};
use super::twilio::{Sender, TwilioProvider};
use super::vonage::VonageProvider;
use super::webhook::WebhookProvider;
use crate::clock::{Clock, SystemClock};
use crate::config::{
    Limits, NotifySettings, ProviderKind, ProviderSettings, TwilioSettings, VonageSettings,
    WebhookSettings,
};

const TWILIO_BASE: &str = "https://api.twilio.com";
const VONAGE_BASE: &str = "https://rest.nexmo.com";
const NOTIFY_BASE: &str = "https://api.notifications.service.gov.uk";

/// Why a provider could not be built. `key` is the full settings key, e.g.
/// `providers.twilio.account_sid`.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{key} is required for a {kind:?} provider")]
    Missing { key: String, kind: ProviderKind },
    #[error("{key} is invalid: {problem}")]
    Invalid { key: String, problem: String },
    #[error("could not build the HTTP client for provider {provider}: {source}")]
    Client {
        provider: String,
        #[source]
        source: reqwest::Error,
    },
}

/// Build the provider the operator named `name`. `public_base_url` is
/// `server.public_base_url`: when set, providers that take a per-message
/// callback URL are told `{public_base_url}/webhooks/{name}/status`.
pub fn build(
    name: &str,
    settings: &ProviderSettings,
    public_base_url: Option<&str>,
) -> Result<Arc<dyn Provider>, BuildError> {
    build_with_clock(name, settings, public_base_url, Arc::new(SystemClock))
}

/// [`build`] with a given clock (webhook timestamps, Notify tokens,
/// `Retry-After` dates), so tests can set the time.
pub fn build_with_clock(
    name: &str,
    settings: &ProviderSettings,
    public_base_url: Option<&str>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Provider>, BuildError> {
    let context = Context {
        name,
        kind: settings.kind(),
        limits: settings.limits(),
        public_base_url,
        clock,
    };
    match settings {
        ProviderSettings::Log(_) => Ok(Arc::new(LogProvider::new(name))),
        ProviderSettings::Webhook(s) => context.webhook(s),
        ProviderSettings::Twilio(s) => context.twilio(s),
        ProviderSettings::Vonage(s) => context.vonage(s),
        ProviderSettings::Notify(s) => context.notify(s),
    }
}

struct Context<'a> {
    name: &'a str,
    kind: ProviderKind,
    limits: Limits,
    public_base_url: Option<&'a str>,
    clock: Arc<dyn Clock>,
}

impl Context<'_> {
    fn webhook(&self, s: &WebhookSettings) -> Result<Arc<dyn Provider>, BuildError> {
        let url = checked_url(self.key("url"), &s.url)?;
        let secret = self.secret("secret", &s.secret)?;
        let provider = WebhookProvider::new(self.name.into(), url, secret, self.transport()?);
        Ok(Arc::new(provider))
    }

    fn twilio(&self, s: &TwilioSettings) -> Result<Arc<dyn Provider>, BuildError> {
        if !is_sid(&s.account_sid, "AC") {
            return Err(self.invalid("account_sid", "must be AC followed by 32 hex digits"));
        }
        let sender = match (&s.messaging_service_sid, &s.from) {
            (Some(sid), _) if is_sid(sid, "MG") => Sender::Service(sid.clone()),
            (Some(_), _) => {
                return Err(self.invalid(
                    "messaging_service_sid",
                    "must be MG followed by 32 hex digits",
                ));
            }
            (None, Some(from)) if !from.trim().is_empty() => Sender::Number(from.trim().into()),
            (None, _) => return Err(self.missing("from")),
        };
        let base = self.base_url(&s.base_url, TWILIO_BASE)?;
        Ok(Arc::new(TwilioProvider {
            name: self.name.into(),
            endpoint: with_path(
                base,
                &["2010-04-01", "Accounts", &s.account_sid, "Messages.json"],
            ),
            account_sid: s.account_sid.clone(),
            auth_token: self.secret("auth_token", &s.auth_token)?,
            webhook_shared_key: self
                .optional_secret("webhook_shared_key", &s.webhook_shared_key)?,
            sender,
            status_callback: self.status_callback()?,
            transport: self.transport()?,
        }))
    }

    fn vonage(&self, s: &VonageSettings) -> Result<Arc<dyn Provider>, BuildError> {
        let from = s.from.trim();
        if from.is_empty() {
            return Err(self.missing("from"));
        }
        // Vonage wants numbers as bare digits; a sender name stays as it is.
        let numeric = from
            .strip_prefix('+')
            .filter(|rest| rest.bytes().all(|b| b.is_ascii_digit()));
        let base = self.base_url(&s.base_url, VONAGE_BASE)?;
        Ok(Arc::new(VonageProvider {
            name: self.name.into(),
            endpoint: with_path(base, &["sms", "json"]),
            api_key: self.secret("api_key", &s.api_key)?,
            api_secret: self.secret("api_secret", &s.api_secret)?,
            from: numeric.unwrap_or(from).to_string(),
            callback: self.status_callback()?,
            signature_secret: s.signature_secret.clone(),
            transport: self.transport()?,
        }))
    }

    fn notify(&self, s: &NotifySettings) -> Result<Arc<dyn Provider>, BuildError> {
        let api_key = self.secret("api_key", &s.api_key)?;
        let (service_id, secret) = notify::split_api_key(api_key.expose_secret().trim())
            .ok_or_else(|| self.invalid("api_key", "must be Notify's whole API key: {key name}-{service id}-{secret}, both ids UUIDs"))?;
        let template_id = s.template_id.trim();
        if !notify::is_uuid(template_id) {
            return Err(self.invalid("template_id", "must be the template's UUID"));
        }
        let base = self.base_url(&s.base_url, NOTIFY_BASE)?;
        Ok(Arc::new(NotifyProvider {
            name: self.name.into(),
            endpoint: with_path(base, &["v2", "notifications", "sms"]),
            service_id: service_id.to_string(),
            secret: secret.to_string().into(),
            template_id: template_id.to_string(),
            callback_token: self.secret("callback_token", &s.callback_token)?,
            transport: self.transport()?,
        }))
    }

    fn transport(&self) -> Result<Transport, BuildError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(self.limits.timeout)
            .connect_timeout(self.limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("homeward/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| BuildError::Client {
                provider: self.name.into(),
                source,
            })?;
        Ok(Transport {
            client,
            clock: self.clock.clone(),
        })
    }

    fn base_url(&self, given: &Option<String>, default: &str) -> Result<Url, BuildError> {
        let text = given.as_deref().unwrap_or(default);
        checked_url(self.key("base_url"), text)
    }

    /// `{public_base_url}/webhooks/{name}/status`, if we can be reached.
    fn status_callback(&self) -> Result<Option<String>, BuildError> {
        let Some(base) = self.public_base_url else {
            return Ok(None);
        };
        let base = checked_url("server.public_base_url".into(), base)?;
        Ok(Some(
            with_path(base, &["webhooks", self.name, "status"]).to_string(),
        ))
    }

    /// A required secret: present (serde saw to that) and not blank.
    fn secret(&self, field: &str, value: &SecretString) -> Result<SecretString, BuildError> {
        if value.expose_secret().trim().is_empty() {
            return Err(self.missing(field));
        }
        Ok(value.clone())
    }

    /// An optional secret: absent is fine, blank is a mistake.
    fn optional_secret(
        &self,
        field: &str,
        value: &Option<SecretString>,
    ) -> Result<Option<SecretString>, BuildError> {
        match value {
            None => Ok(None),
            Some(secret) if secret.expose_secret().trim().is_empty() => {
                Err(self.invalid(field, "is blank: give the secret, or leave the key out"))
            }
            Some(secret) => Ok(Some(secret.clone())),
        }
    }

    fn key(&self, field: &str) -> String {
        format!("providers.{}.{field}", self.name)
    }

    fn missing(&self, field: &str) -> BuildError {
        BuildError::Missing {
            key: self.key(field),
            kind: self.kind,
        }
    }

    fn invalid(&self, field: &str, problem: &str) -> BuildError {
        BuildError::Invalid {
            key: self.key(field),
            problem: problem.into(),
        }
    }
}

/// A Twilio SID: the two-letter prefix and 32 hex digits.
fn is_sid(text: &str, prefix: &str) -> bool {
    text.len() == 34 && text.starts_with(prefix) && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parse a URL we will send credentials or texts to: https, or http to
/// this machine. The value is not quoted back: it may hold a token.
fn checked_url(key: String, text: &str) -> Result<Url, BuildError> {
    let invalid = |problem: String| BuildError::Invalid {
        key: key.clone(),
        problem,
    };
    let url = Url::parse(text.trim()).map_err(|e| invalid(format!("not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(invalid(
            "must be an https:// URL (http:// only to a loopback address)".into(),
        )),
    }
}

/// `base` with `segments` appended to its path, each percent-encoded.
fn with_path(mut base: Url, segments: &[&str]) -> Url {
    base.path_segments_mut()
        .expect("checked URLs are http(s), which have paths")
        .pop_if_empty()
        .extend(segments);
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings as an operator writes them.
    fn read(toml_text: &str) -> ProviderSettings {
        toml::from_str(toml_text).unwrap()
    }

    fn twilio_settings() -> TwilioSettings {
        let settings = read(&format!(
            "kind = \"twilio\"\naccount_sid = \"AC{}\"\nauth_token = \"token\"\n\
             from = \"+447700900000\"",
            "a1".repeat(16)
        ));
        match settings {
            ProviderSettings::Twilio(twilio) => twilio,
            other => panic!("{other:?}"),
        }
    }

    fn twilio(change: impl FnOnce(&mut TwilioSettings)) -> ProviderSettings {
        let mut settings = twilio_settings();
        change(&mut settings);
        ProviderSettings::Twilio(settings)
    }

    fn secret(text: &str) -> Option<SecretString> {
        Some(text.to_string().into())
    }

    fn error(name: &str, settings: &ProviderSettings) -> String {
        match build(name, settings, None) {
            Ok(_) => panic!("built"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn every_kind_builds_from_valid_settings() {
        let notify = read(
            "kind = \"notify\"\n\
             api_key = \"key-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0\"\n\
             template_id = \"f33517ff-2a88-4f6e-b855-c550268ce08a\"\ncallback_token = \"cb\"",
        );
        let vonage = read(
            "kind = \"vonage\"\napi_key = \"abcd1234\"\napi_secret = \"abcdef0123456789\"\n\
             from = \"Homeward\"",
        );
        let webhook =
            read("kind = \"webhook\"\nurl = \"https://gateway.example/sms\"\nsecret = \"s\"");
        for (name, settings) in [
            ("log", read("kind = \"log\"")),
            ("t", twilio(|_| {})),
            ("n", notify),
            ("v", vonage),
            ("w", webhook),
        ] {
            let provider = build(name, &settings, Some("https://sms.example.org")).unwrap();
            assert_eq!(provider.name(), name);
        }
    }

    #[test]
    fn a_key_of_another_kind_or_a_missing_one_is_named() {
        let wrong = toml::from_str::<ProviderSettings>("kind = \"log\"\nurl = \"https://x\"");
        let wrong = wrong.unwrap_err().to_string();
        assert!(wrong.contains("unknown field `url`"), "{wrong}");
        let missing = toml::from_str::<ProviderSettings>("kind = \"webhook\"\nsecret = \"s\"");
        let missing = missing.unwrap_err().to_string();
        assert!(missing.contains("missing field `url`"), "{missing}");
        let zero = toml::from_str::<ProviderSettings>("kind = \"log\"\nrate_per_second = 0");
        assert!(
            zero.unwrap_err()
                .to_string()
                .contains("rate_per_second: a whole number")
        );
    }

    #[test]
    fn bad_values_are_named_by_their_key() {
        let bad_sid = twilio(|t| t.account_sid = "AC123".into());
        assert!(error("tw", &bad_sid).starts_with("providers.tw.account_sid is invalid"));
        let bad_service = twilio(|t| t.messaging_service_sid = Some("MG1".into()));
        assert!(error("tw", &bad_service).starts_with("providers.tw.messaging_service_sid"));
        let no_sender = twilio(|t| t.from = None);
        assert!(error("tw", &no_sender).starts_with("providers.tw.from is required"));
        let bad_base = twilio(|t| t.base_url = Some("not a url".into()));
        assert!(error("tw", &bad_base).starts_with("providers.tw.base_url is invalid"));
        let plain_http = twilio(|t| t.base_url = Some("http://api.twilio.com".into()));
        assert!(error("tw", &plain_http).contains("https://"));
        let no_token = twilio(|t| t.auth_token = "  ".to_string().into());
        assert!(error("tw", &no_token).starts_with("providers.tw.auth_token is required"));
        let blank_shared_key = twilio(|t| t.webhook_shared_key = secret(" "));
        assert!(
            error("tw", &blank_shared_key)
                .starts_with("providers.tw.webhook_shared_key is invalid")
        );
    }

    #[test]
    fn a_malformed_notify_key_is_refused_without_quoting_it() {
        let settings = read(
            "kind = \"notify\"\napi_key = \"key-not-a-real-secret-value\"\n\
             template_id = \"f33517ff-2a88-4f6e-b855-c550268ce08a\"\ncallback_token = \"cb\"",
        );
        let message = error("gov", &settings);
        assert!(
            message.starts_with("providers.gov.api_key is invalid"),
            "{message}"
        );
        assert!(!message.contains("not-a-real-secret"), "{message}");
    }

    #[test]
    fn loopback_fakes_may_use_plain_http() {
        for base in [
            "http://127.0.0.1:9999",
            "http://localhost:1",
            "http://[::1]:80/",
        ] {
            let settings = twilio(|t| t.base_url = Some(base.into()));
            assert!(build("tw", &settings, None).is_ok(), "{base}");
        }
    }

    #[test]
    fn callback_urls_and_endpoints_are_built_from_segments() {
        let base = checked_url("k".into(), "https://sms.example.org/homeward/").unwrap();
        assert_eq!(
            with_path(base, &["webhooks", "twilio uk", "status"]).as_str(),
            "https://sms.example.org/homeward/webhooks/twilio%20uk/status"
        );
        let root = checked_url("k".into(), "https://api.twilio.com").unwrap();
        assert_eq!(
            with_path(root, &["2010-04-01", "Accounts", "AC1", "Messages.json"]).as_str(),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
        );
    }
}
