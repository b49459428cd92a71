//! SMS providers behind one trait: the dispatcher sends through whichever
//! the operator configured, and acts on the *class* of a failure, never on
//! its text.
//!
//! One module per provider, each built against the provider's official API
//! description (`../shared/specs/`): `log` (development and dry runs),
//! `webhook` (a generic JSON POST with an HMAC signature), `twilio`,
//! `vonage` and `notify` (GOV.UK Notify). Credentials are `SecretString`s
//! and never logged; phone numbers and message bodies are never logged.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::domain::{MessageId, PhoneNumber};
use crate::templates::sms::Encoding;

mod build;
mod http;
pub mod log;
pub mod notify;
mod params;
mod signature;
pub mod twilio;
pub mod vonage;
pub mod webhook;

pub use build::{BuildError, build, build_with_clock};
pub use log::LogProvider;
pub use notify::NotifyProvider;
pub use twilio::TwilioProvider;
pub use vonage::VonageProvider;
pub use webhook::WebhookProvider;

/// One text to hand to a provider.
#[derive(Clone)]
pub struct OutboundSms {
    /// Our message id: the provider's idempotency or client reference where
    /// it has one, and how its callbacks find the message again.
    pub reference: MessageId,
    pub to: PhoneNumber,
    pub body: String,
    pub encoding: Encoding,
}

impl fmt::Debug for OutboundSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundSms")
            .field("reference", &self.reference)
            .field("to", &self.to)
            .field(
                "body",
                &format_args!("[{} chars]", self.body.chars().count()),
            )
            .finish()
    }
}

/// The provider took the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's own id for the message (Twilio `SM…`, Vonage
    /// `message-id`, Notify's notification id).
    pub provider_id: String,
}

/// Why a send failed, by what the dispatcher should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (network trouble, 5xx, timeouts).
    #[error("transient failure: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The provider asked us to slow down (429 and the like).
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    /// It will never work for this message (bad number, rejected content).
    /// `invalid_number` says the number itself is the cause.
    #[error("permanent failure: {reason}")]
    Permanent {
        reason: String,
        invalid_number: bool,
    },
    /// The recipient opted out with the provider (e.g. Twilio 21610).
    #[error("the recipient has opted out with the provider: {reason}")]
    OptedOut { reason: String },
}

/// An incoming webhook request, as the HTTP edge received it.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// The full public URL the provider called (scheme, host, path and
    /// query), rebuilt from `server.public_base_url`, since signatures cover it.
    pub url: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What a delivery-status callback says about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub provider_id: String,
    /// Our reference where the provider echoes it back.
    pub reference: Option<MessageId>,
    pub status: DeliveryStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Still on its way (queued, sent to the carrier, buffered).
    InProgress,
    Delivered,
    /// Not delivered. `permanent` is false where the provider may still try.
    Failed {
        reason: String,
        permanent: bool,
        invalid_number: bool,
        opted_out: bool,
    },
}

/// A text a person sent us.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundSms {
    /// The provider's id, so a replayed webhook is processed once.
    pub provider_id: String,
    /// The sender's number as the provider gives it.
    pub from: String,
    /// Our number it was sent to.
    pub to: String,
    pub text: String,
    pub received_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for InboundSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundSms")
            .field("provider_id", &self.provider_id)
            .field("from", &crate::domain::mask(&self.from))
            .field(
                "text",
                &format_args!("[{} chars]", self.text.chars().count()),
            )
            .finish()
    }
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature or token: answer 403 and change nothing.
    #[error("the webhook's signature or token is missing or wrong")]
    Unauthenticated,
    /// Signed correctly but not a shape we understand.
    #[error("the webhook body is malformed: {0}")]
    Malformed(String),
    /// This provider does not send this kind of webhook.
    #[error("this provider does not send {0} webhooks")]
    Unsupported(&'static str),
}

/// The body to answer a webhook with, in the form the provider expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReply {
    pub content_type: &'static str,
    pub body: String,
}

impl WebhookReply {
    pub fn empty() -> Self {
        Self {
            content_type: "text/plain",
            body: String::new(),
        }
    }
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The name the operator gave it in the configuration.
    fn name(&self) -> &str;
    /// Send one text and classify the outcome.
    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, SendError>;
    /// Check a webhook's signature or token exactly as the provider documents it.
    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError>;
    /// Read a verified delivery-status callback.
    fn parse_status(&self, request: &WebhookRequest) -> Result<Vec<StatusUpdate>, WebhookError>;
    /// Read a verified inbound-message webhook.
    fn parse_inbound(&self, request: &WebhookRequest) -> Result<InboundSms, WebhookError>;
    /// What to answer a webhook with (Twilio wants TwiML, others accept empty).
    fn webhook_reply(&self) -> WebhookReply {
        WebhookReply::empty()
    }
}
