//! The checks made again at send time, whatever planning decided earlier:
//! too late, opted out, number known bad, outside sending hours, over the
//! daily cap. Each failing check says what to record instead of sending.
//!
//! What the checks need from the store is read once for a whole round
//! ([`RoundFacts`]); the checks themselves are pure.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::domain::{MessageId, MessageOrigin, PhoneNumber};
use crate::planner::{Candidate, CapPolicy, Placement, fit};
use crate::store::{ClaimedMessage, SendRecord, Store, StoreError};

/// How long a text to a number that failed permanently waits before it is
/// looked at again (staff may have changed the number by then).
const INVALID_NUMBER_PAUSE: Duration = Duration::hours(1);

/// What the store said about a round's numbers when it was claimed.
pub struct RoundFacts {
    suppressed: HashSet<PhoneNumber>,
    /// Texts to each number in the last day, other than this round's.
    taken: HashMap<PhoneNumber, Vec<DateTime<Utc>>>,
}

impl RoundFacts {
    pub async fn load(
        store: &dyn Store,
        claimed: &[ClaimedMessage],
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let numbers: HashSet<&PhoneNumber> = claimed.iter().map(|c| &c.message.mobile).collect();
        let numbers: Vec<PhoneNumber> = numbers.into_iter().cloned().collect();
        let ids: Vec<MessageId> = claimed.iter().map(|c| c.message.id).collect();
        Ok(Self {
            suppressed: store.suppressed_among(&numbers).await?,
            taken: store
                .sends_to_numbers(&numbers, now - Duration::days(1), &ids)
                .await?,
        })
    }

    /// Texts already sent to this number in the last day.
    pub fn taken(&self, mobile: &PhoneNumber) -> Vec<DateTime<Utc>> {
        self.taken.get(mobile).cloned().unwrap_or_default()
    }

    pub fn is_suppressed(&self, mobile: &PhoneNumber) -> bool {
        self.suppressed.contains(mobile)
    }
}

/// `None` when the message may go now. `taken` holds the times of texts
/// already sent to its number in the last day.
pub fn hold(
    policy: &CapPolicy,
    claimed: &ClaimedMessage,
    suppressed: bool,
    taken: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Option<SendRecord> {
    let m = &claimed.message;
    if m.expires_at <= now {
        return Some(SendRecord::Expired {
            reason: "its expiry time passed before it could be sent".into(),
        });
    }
    // An answer to a person's own text (their STOP confirmation, a HELP
    // reply) goes at once, opted out or not, outside the cap and the hours.
    if is_reply(claimed) {
        return None;
    }
    if suppressed {
        return Some(opted_out());
    }
    if claimed.number_invalid {
        let reason =
            "paused: this person's number failed permanently; waiting for staff to change it"
                .into();
        return Some(SendRecord::Retry {
            at: now + INVALID_NUMBER_PAUSE,
            reason,
            count_attempt: false,
        });
    }
    let candidate = Candidate {
        id: m.id,
        due: now,
        expires: m.expires_at,
        priority: m.priority,
        earliest: m.earliest,
    };
    let policy = match m.origin {
        MessageOrigin::StaffReply => policy.hours_only(),
        _ => *policy,
    };
    match fit(&policy, taken, &[candidate], now)[0].1 {
        Placement::At(at) if at <= now => None,
        Placement::At(at) => Some(SendRecord::Retry {
            at,
            reason: "outside sending hours, or the daily cap or minimum gap for this number".into(),
            count_attempt: false,
        }),
        Placement::Expired(why) => Some(SendRecord::Expired {
            reason: why.describe().into(),
        }),
    }
}

pub fn is_reply(claimed: &ClaimedMessage) -> bool {
    matches!(claimed.message.origin, MessageOrigin::Reply { .. })
}

pub fn opted_out() -> SendRecord {
    SendRecord::Suppressed {
        reason: "the number has opted out (STOP)".into(),
    }
}
