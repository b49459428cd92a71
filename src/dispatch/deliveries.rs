//! Delivery reports from providers: the last word on whether a text arrived.
//!
//! A report is believed only about a message its own provider sent, and
//! only while that message is sent and waiting for it. Its side effects
//! (opting the number out, pausing an invalid number) follow only from a
//! report that applied: a signed report naming someone else's message, or
//! repeating itself, changes nothing at all.

use chrono::{DateTime, Utc};

use crate::providers::{DeliveryStatus, StatusUpdate};
use crate::store::{DeliveryMatch, Store, StoreError, Unmatched};

/// What one report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    /// It moved a message to delivered or failed.
    Applied,
    /// Still on its way, or a failure the provider may yet retry: nothing
    /// to record.
    InProgress,
    /// Ignored, and why (a metric label: `unknown_message`,
    /// `not_sent_by_provider` or `state`).
    Ignored(&'static str),
}

/// Apply one report from `provider`.
pub async fn apply(
    store: &dyn Store,
    provider: &str,
    update: &StatusUpdate,
    now: DateTime<Utc>,
) -> Result<ReportOutcome, StoreError> {
    let delivered = match &update.status {
        DeliveryStatus::InProgress => return Ok(ReportOutcome::InProgress),
        DeliveryStatus::Delivered => Ok(()),
        DeliveryStatus::Failed {
            permanent: false, ..
        } => return Ok(ReportOutcome::InProgress),
        DeliveryStatus::Failed { reason, .. } => Err(reason.clone()),
    };
    let found = store
        .record_delivery(
            provider,
            &update.provider_id,
            update.reference,
            delivered,
            now,
        )
        .await?;
    let ignored = |why| Ok(ReportOutcome::Ignored(why));
    let message = match found {
        DeliveryMatch::Applied(message) => message,
        DeliveryMatch::NotApplicable(_) => return ignored("state"),
        DeliveryMatch::Unmatched(Unmatched::UnknownMessage) => return ignored("unknown_message"),
        DeliveryMatch::Unmatched(Unmatched::NotSentByProvider) => {
            return ignored("not_sent_by_provider");
        }
    };
    if let DeliveryStatus::Failed {
        reason,
        invalid_number,
        opted_out,
        ..
    } = &update.status
    {
        if *invalid_number {
            store.mark_number_invalid(message.person_id, now).await?;
        }
        if *opted_out {
            store
                .suppress(&message.mobile, provider, reason, now)
                .await?;
        }
    }
    Ok(ReportOutcome::Applied)
}
