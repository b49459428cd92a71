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
    use std::sync::{Arc, Mutex};

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

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_log_line_masks_the_number_and_leaves_out_the_body() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // Another test's thread may have cached "nobody listens" for the
        // provider's log line while this subscriber did not yet exist;
        // `cargo test` runs tests on threads of one process.
        tracing::callsite::rebuild_interest_cache();

        LogProvider::new("dev").send(&sms()).await.unwrap();

        let line = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(line.contains("+44740****456"), "{line}");
        assert!(line.contains("segments=1"), "{line}");
        assert!(!line.contains("+447400123456"), "{line}");
        assert!(!line.contains("appointment"), "{line}");
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
