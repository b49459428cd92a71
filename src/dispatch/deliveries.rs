//! Delivery reports from providers: the last word on whether a text arrived.

use chrono::{DateTime, Utc};

use crate::providers::{DeliveryStatus, StatusUpdate};
use crate::store::{Store, StoreError};

/// Apply one report. Returns whether it matched a message we sent.
pub async fn apply(
    store: &dyn Store,
    provider: &str,
    update: &StatusUpdate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let delivered = match &update.status {
        DeliveryStatus::InProgress => return Ok(true),
        DeliveryStatus::Delivered => Ok(()),
        DeliveryStatus::Failed {
            permanent: false, ..
        } => return Ok(true),
        DeliveryStatus::Failed { reason, .. } => Err(reason.clone()),
    };
    let message = store
        .record_delivery(
            provider,
            &update.provider_id,
            update.reference,
            delivered,
            now,
        )
        .await?;
    let Some(message) = message else {
        return Ok(false);
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
    Ok(true)
}
