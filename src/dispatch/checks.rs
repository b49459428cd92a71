//! The checks made again at send time, whatever planning decided earlier:
//! too late, opted out, number known bad, outside sending hours, over the
//! daily cap. Each failing check says what to record instead of sending.

use chrono::{DateTime, Duration, Utc};

use crate::domain::MessageOrigin;
use crate::planner::{Candidate, CapPolicy, Placement, fit};
use crate::store::{ClaimedMessage, DispatchStore, SendRecord, StoreError};

/// How long a text to a number that failed permanently waits before it is
/// looked at again (staff may have changed the number by then).
const INVALID_NUMBER_PAUSE: Duration = Duration::hours(1);

/// `None` when the message may go now.
pub async fn hold(
    store: &dyn DispatchStore,
    policy: &CapPolicy,
    claimed: &ClaimedMessage,
    now: DateTime<Utc>,
) -> Result<Option<SendRecord>, StoreError> {
    let m = &claimed.message;
    if m.expires_at <= now {
        return Ok(Some(SendRecord::Expired {
            reason: "its expiry time passed before it could be sent".into(),
        }));
    }
    // An answer to a person's own text (their STOP confirmation, a HELP
    // reply) goes at once, opted out or not, outside the cap and the hours.
    if is_reply(claimed) {
        return Ok(None);
    }
    if store.is_suppressed(&m.mobile).await? {
        return Ok(Some(opted_out()));
    }
    if claimed.number_invalid {
        let reason =
            "paused: this person's number failed permanently; waiting for staff to change it"
                .into();
        return Ok(Some(SendRecord::Retry {
            at: now + INVALID_NUMBER_PAUSE,
            reason,
            count_attempt: false,
        }));
    }
    let taken = store
        .sends_to_number(&m.mobile, now - Duration::days(1), m.id)
        .await?;
    let candidate = Candidate {
        id: m.id,
        due: now,
        expires: m.expires_at,
        priority: m.priority,
        earliest: m.earliest,
    };
    Ok(match fit(policy, &taken, &[candidate], now)[0].1 {
        Placement::At(at) if at <= now => None,
        Placement::At(at) => Some(SendRecord::Retry {
            at,
            reason: "outside sending hours, or the daily cap or minimum gap for this number".into(),
            count_attempt: false,
        }),
        Placement::Expired(why) => Some(SendRecord::Expired {
            reason: why.describe().into(),
        }),
    })
}

pub fn is_reply(claimed: &ClaimedMessage) -> bool {
    matches!(claimed.message.origin, MessageOrigin::Reply { .. })
}

pub fn opted_out() -> SendRecord {
    SendRecord::Suppressed {
        reason: "the number has opted out (STOP)".into(),
    }
}
