//! Outcomes are written in groups: one transaction for whatever finished
//! while the previous group was being written, instead of one per text.
//!
//! A text's outcome is therefore recorded a little after its provider
//! call; a crash in between leaves its claim to run out and the text to be
//! sent again, as it always could between a provider call and its record
//! (safety invariant 3). Each sent text holds room in a window of one
//! batch until its outcome is written, so at most one batch's texts are
//! ever in that state, though batches follow each other without waiting
//! for the last outcomes of the one before.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

use super::{Outcome, Round, tally};
use crate::clock::Clock;
use crate::domain::MessageId;
use crate::store::{SendRecord, Store, StoreError};

/// Outcomes written in one transaction, at most.
const GROUP: usize = 500;

/// One text's outcome, and the provider it went through if any.
pub struct Finished {
    pub id: MessageId,
    pub provider: Option<String>,
    pub record: SendRecord,
    /// Its room in the window of texts sent and not yet recorded, given
    /// back once the outcome is written; `None` when it was not sent.
    pub _window: Option<OwnedSemaphorePermit>,
}

/// Write what arrives until every sender has gone; what was written,
/// counted. When a write fails, `stop` is set and nothing more is written.
pub async fn record(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    worker: &str,
    mut finished: mpsc::UnboundedReceiver<Finished>,
    stop: &CancellationToken,
) -> Result<Round, StoreError> {
    let mut written = Round::default();
    let mut group = Vec::with_capacity(GROUP);
    while finished.recv_many(&mut group, GROUP).await > 0 {
        let outcomes: Vec<(MessageId, SendRecord)> =
            group.iter().map(|f| (f.id, f.record.clone())).collect();
        let ours = match store.record_sends(worker, &outcomes, clock.now()).await {
            Ok(ours) => ours,
            Err(e) => {
                // Stop before the group's room in the window is given back,
                // or a text waiting for room would be sent unrecorded.
                stop.cancel();
                return Err(e);
            }
        };
        for (f, ours) in group.iter().zip(ours) {
            if !ours {
                tracing::warn!(message = %f.id, "claim was lost before its outcome was recorded");
            }
            let provider = f.provider.clone().unwrap_or_else(|| "none".to_owned());
            let outcome = Outcome::of(&f.record);
            metrics::counter!("sms_dispatch_total", "provider" => provider, "outcome" => outcome.label())
                .increment(1);
            tally(&mut written, outcome);
        }
        group.clear();
    }
    Ok(written)
}
