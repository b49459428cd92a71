//! The last word on opt-out, as close to each provider call as it gets,
//! shared by every send in flight.
//!
//! Each send asks just before its provider call. Questions are answered in
//! groups by one look-up that starts after each of them was asked, so a
//! STOP recorded before a text's question always stops that text, and a
//! round of many texts costs a handful of look-ups rather than one each.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::domain::PhoneNumber;
use crate::store::{Store, StoreError};

/// Questions answered by one look-up, at most.
const GROUP: usize = 64;

type Question = (PhoneNumber, oneshot::Sender<bool>);

pub struct OptOutGate {
    store: Arc<dyn Store>,
    questions: mpsc::UnboundedSender<Question>,
}

impl OptOutGate {
    /// The gate, and the loop that answers it: run both for the round.
    pub fn new(store: Arc<dyn Store>) -> (Self, impl Future<Output = ()>) {
        let (questions, asked) = mpsc::unbounded_channel();
        let answers = answer(store.clone(), asked);
        (Self { store, questions }, answers)
    }

    /// Is this number on the suppression list now?
    pub async fn is_suppressed(&self, mobile: &PhoneNumber) -> Result<bool, StoreError> {
        let (answer, answered) = oneshot::channel();
        if self.questions.send((mobile.clone(), answer)).is_ok()
            && let Ok(suppressed) = answered.await
        {
            return Ok(suppressed);
        }
        // The group look-up failed: ask alone, and report why if it fails.
        self.store.is_suppressed(mobile).await
    }
}

async fn answer(store: Arc<dyn Store>, mut asked: mpsc::UnboundedReceiver<Question>) {
    let mut group = Vec::with_capacity(GROUP);
    while asked.recv_many(&mut group, GROUP).await > 0 {
        let numbers: Vec<PhoneNumber> = group.iter().map(|(m, _)| m.clone()).collect();
        match store.suppressed_among(&numbers).await {
            Ok(suppressed) => {
                for (mobile, answer) in group.drain(..) {
                    // The asker may have gone (shutdown); nothing to tell.
                    let _ = answer.send(suppressed.contains(&mobile));
                }
            }
            // Dropping the answers sends each asker to its own look-up.
            Err(e) => {
                tracing::warn!(error = %e, "opt-out look-up failed; asking one by one");
                group.clear();
            }
        }
    }
}
