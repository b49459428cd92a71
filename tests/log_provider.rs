//! What the log provider writes to the log: the number masked, never the
//! text. Its own test binary, so its subscriber is the process's only one:
//! under `cargo test`, a subscriber set for one thread can miss an event
//! whose callsite another test's thread registered first.

use std::sync::{Arc, Mutex};

use homeward::domain::{MessageId, PhoneNumber};
use homeward::providers::{LogProvider, OutboundSms, Provider};
use homeward::templates::sms::Encoding;

/// The log, kept in memory.
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
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sms = OutboundSms {
        reference: MessageId::new(),
        to: PhoneNumber::parse("07400 123456").unwrap(),
        body: "Your appointment is at 10am".into(),
        encoding: Encoding::Gsm7,
    };
    LogProvider::new("dev").send(&sms).await.unwrap();

    let line = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(line.contains("+44740****456"), "{line}");
    assert!(line.contains("segments=1"), "{line}");
    assert!(!line.contains("+447400123456"), "{line}");
    assert!(!line.contains("appointment"), "{line}");
}
