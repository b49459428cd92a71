//! A send outcome as the columns it sets, so each backend records a whole
//! group of outcomes in one statement, with one meaning for both; and what
//! a delivery report may change, decided once for both backends.

use chrono::{DateTime, Utc};

use super::SendRecord;
use crate::domain::{Message, MessageState};

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
    /// The state this outcome moves a claimed message to.
    pub(super) fn state(&self) -> MessageState {
        match self {
            Self::Sent { .. } => MessageState::Sent,
            Self::Retry {
                count_attempt: true,
                ..
            } => MessageState::Retrying,
            Self::Retry { .. } => MessageState::Pending,
            Self::Failed { .. } => MessageState::Failed,
            Self::Suppressed { .. } => MessageState::Suppressed,
            Self::Expired { .. } => MessageState::Expired,
        }
    }

    pub(super) fn columns(&self, now: DateTime<Utc>) -> OutcomeColumns<'_> {
        let mut columns = OutcomeColumns {
            state: self.state(),
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
                columns.attempted = i32::from(*count_attempt);
                columns.send_at = Some(*at);
                columns.reason = reason.clone();
            }
            Self::Failed { reason } => {
                columns.attempted = 1;
                columns.reason = reason.clone();
            }
            Self::Suppressed { reason } => {
                columns.reason = reason.clone();
            }
            Self::Expired { reason } => {
                columns.reason = reason.clone();
            }
        }
        columns
    }
}

/// What a delivery report did. A report is trusted only about a message
/// its own provider sent: anything else is ignored, and says why, so that
/// a provider's signing key cannot reach another provider's texts or
/// another organisation's unsent ones.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryMatch {
    /// It moved this message, sent by the reporting provider, from sent to
    /// delivered or failed (`message.state` is the new state).
    Applied(Box<Message>),
    /// It names a message the reporting provider sent, but one no report
    /// can move any more: a replay, or a late word after the last one.
    NotApplicable(MessageState),
    /// It names no message the reporting provider sent.
    Unmatched(Unmatched),
}

/// Why a report matched nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmatched {
    /// No message has this provider id or reference.
    UnknownMessage,
    /// The reference is a message, but not one this provider sent (another
    /// provider sent it, or it was never sent at all).
    NotSentByProvider,
}

/// Whether a report may move a message in `state`. Only `sent` moves.
/// Delivered and failed are both final: a delivery receipt is the
/// handset's own word that the text arrived, so a failure reported after it
/// is out of order (providers say callbacks may arrive out of order), and
/// accepting it would also let its side effects (opting the number out,
/// pausing it) act on a text the person received. A failure is final the
/// same way: its side effects have already happened.
pub(super) fn report_can_move(state: MessageState) -> bool {
    state == MessageState::Sent
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
