//! A send outcome as the columns it sets, so each backend records a whole
//! group of outcomes in one statement, with one meaning for both.

use chrono::{DateTime, Utc};

use super::SendRecord;
use crate::domain::MessageState;

pub(super) struct OutcomeColumns<'a> {
    pub state: MessageState,
    /// 1 when the outcome used up an attempt, else 0.
    pub attempted: i32,
    /// A retry's new send time.
    pub send_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub provider: Option<&'a str>,
    pub provider_id: Option<&'a str>,
    /// Why, for the message's state history.
    pub reason: String,
}

impl SendRecord {
    pub(super) fn columns(&self, now: DateTime<Utc>) -> OutcomeColumns<'_> {
        let mut columns = OutcomeColumns {
            state: MessageState::Failed,
            attempted: 0,
            send_at: None,
            sent_at: None,
            provider: None,
            provider_id: None,
            reason: String::new(),
        };
        match self {
            Self::Sent {
                provider,
                provider_id,
            } => {
                columns.state = MessageState::Sent;
                columns.attempted = 1;
                columns.sent_at = Some(now);
                columns.provider = Some(provider);
                columns.provider_id = Some(provider_id);
                columns.reason = format!("accepted by {provider} as {provider_id}");
            }
            Self::Retry {
                at,
                reason,
                count_attempt,
            } => {
                columns.state = if *count_attempt {
                    MessageState::Retrying
                } else {
                    MessageState::Pending
                };
                columns.attempted = i32::from(*count_attempt);
                columns.send_at = Some(*at);
                columns.reason = reason.clone();
            }
            Self::Failed { reason } => {
                columns.attempted = 1;
                columns.reason = reason.clone();
            }
            Self::Suppressed { reason } => {
                columns.state = MessageState::Suppressed;
                columns.reason = reason.clone();
            }
            Self::Expired { reason } => {
                columns.state = MessageState::Expired;
                columns.reason = reason.clone();
            }
        }
        columns
    }
}

/// Where a delivery report moves a sent message, and why.
pub(super) fn delivery_change(
    provider: &str,
    delivered: &Result<(), String>,
) -> (MessageState, String) {
    match delivered {
        Ok(()) => (
            MessageState::Delivered,
            format!("{provider} reports it delivered"),
        ),
        Err(why) => (
            MessageState::Failed,
            format!("{provider} reports it undelivered: {why}"),
        ),
    }
}
