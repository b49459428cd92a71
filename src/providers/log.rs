//! The log provider: sends nothing and records what it would have sent, for
//! development, demonstrations and dry runs of a new campaign.
//!
//! It logs at info level, so it obeys the rule for that level: the number
//! is masked and the body is never written, only its length and segments.
//! It receives no webhooks.

use async_trait::async_trait;

use super::{
    Accepted, InboundSms, OutboundSms, Provider, SendError, StatusUpdate, WebhookError,
    WebhookRequest,
};
use crate::templates::sms;

/// A provider that only writes a log line per text.
#[derive(Debug, Clone)]
pub struct LogProvider {
    name: String,
}

impl LogProvider {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

#[async_trait]
impl Provider for LogProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, SendError> {
        let analysis = sms::analyse(&sms.body);
        tracing::info!(
            provider = %self.name,
            reference = %sms.reference,
            to = %sms.to,
            encoding = sms.encoding.label(),
            characters = analysis.characters,
            segments = analysis.segments,
            "would send a text (log provider: nothing was sent)"
        );
        Ok(Accepted {
            provider_id: format!("log-{}", sms.reference),
        })
    }

    fn verify(&self, _request: &WebhookRequest) -> Result<(), WebhookError> {
        Err(WebhookError::Unsupported("any"))
    }

    fn parse_status(&self, _request: &WebhookRequest) -> Result<Vec<StatusUpdate>, WebhookError> {
        Err(WebhookError::Unsupported("delivery-status"))
    }

    fn parse_inbound(&self, _request: &WebhookRequest) -> Result<InboundSms, WebhookError> {
        Err(WebhookError::Unsupported("inbound-message"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MessageId, PhoneNumber};
    use crate::templates::sms::Encoding;
    use axum::http::HeaderMap;

    fn sms() -> OutboundSms {
        OutboundSms {
            reference: MessageId::new(),
            to: PhoneNumber::parse("07400 123456").unwrap(),
            body: "Your appointment is at 10am".into(),
            encoding: Encoding::Gsm7,
        }
    }

    #[tokio::test]
    async fn sending_is_accepted_with_an_id_made_from_the_reference() {
        let sms = sms();
        let accepted = LogProvider::new("dev").send(&sms).await.unwrap();
        assert_eq!(accepted.provider_id, format!("log-{}", sms.reference));
    }

    #[test]
    fn webhooks_are_not_supported() {
        let provider = LogProvider::new("dev");
        let request = WebhookRequest {
            url: "https://h/webhooks/dev/status".into(),
            headers: HeaderMap::new(),
            body: Default::default(),
        };
        assert!(matches!(
            provider.verify(&request),
            Err(WebhookError::Unsupported(_))
        ));
        assert!(matches!(
            provider.parse_status(&request),
            Err(WebhookError::Unsupported(_))
        ));
        assert!(matches!(
            provider.parse_inbound(&request),
            Err(WebhookError::Unsupported(_))
        ));
    }
}
