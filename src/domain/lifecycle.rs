//! The message life cycle: which state changes are legal, in one table.
//!
//! ```text
//! (planned) → pending → claimed → sent → delivered | failed
//!                ↑  ↓        ↓  ↘ retrying → claimed
//!                │  ↓        ↘ pending (put back: shutdown, quiet hours, cap)
//!                │  ↘ cancelled, expired, suppressed
//!                └──── suppressed (START revives what is still worth sending)
//! ```
//!
//! The stores apply a change only from the state it was checked against
//! (`UPDATE … WHERE state = <from>`), so a change that lost a race is seen,
//! never applied twice.

use super::MessageState;

/// A change of state that the life cycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a message cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: MessageState,
    pub to: MessageState,
}

impl MessageState {
    /// The states a message may be created in: waiting to be sent, or
    /// already decided at planning time (too late, or the number opted out).
    pub fn can_start_as(self) -> bool {
        use MessageState::*;
        matches!(self, Pending | Expired | Suppressed)
    }

    /// Whether a message in this state may move to `to`.
    pub fn can_become(self, to: MessageState) -> bool {
        use MessageState::*;
        match self {
            // Planning cancels, expires or suppresses what is still waiting.
            Pending | Retrying => matches!(to, Claimed | Cancelled | Expired | Suppressed),
            // A claim ends in a send, a retry, a final failure, a send-time
            // refusal, or goes back to waiting untouched; a lease that ran
            // out may be claimed again by another worker.
            Claimed => matches!(
                to,
                Claimed | Sent | Retrying | Pending | Failed | Suppressed | Expired
            ),
            // Only the provider's delivery report moves a sent text.
            Sent => matches!(to, Delivered | Failed),
            // START revives a suppressed text that is still worth sending.
            Suppressed => to == Pending,
            Delivered | Failed | Cancelled | Expired => false,
        }
    }

    /// [`can_become`](Self::can_become), as a typed error.
    pub fn check_transition(self, to: MessageState) -> Result<(), IllegalTransition> {
        if self.can_become(to) {
            Ok(())
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MessageState::{self, *};

    const ALL: [MessageState; 9] = [
        Pending, Claimed, Retrying, Sent, Delivered, Failed, Cancelled, Suppressed, Expired,
    ];

    /// Every legal change, written out once more by hand: the table above
    /// must agree with it pair by pair.
    const LEGAL: &[(MessageState, MessageState)] = &[
        (Pending, Claimed),
        (Pending, Cancelled),
        (Pending, Expired),
        (Pending, Suppressed),
        (Retrying, Claimed),
        (Retrying, Cancelled),
        (Retrying, Expired),
        (Retrying, Suppressed),
        (Claimed, Claimed),
        (Claimed, Sent),
        (Claimed, Retrying),
        (Claimed, Pending),
        (Claimed, Failed),
        (Claimed, Suppressed),
        (Claimed, Expired),
        (Sent, Delivered),
        (Sent, Failed),
        (Suppressed, Pending),
    ];

    #[test]
    fn every_pair_of_states_is_legal_exactly_when_the_life_cycle_lists_it() {
        for from in ALL {
            for to in ALL {
                let listed = LEGAL.contains(&(from, to));
                assert_eq!(from.can_become(to), listed, "{from} → {to}");
                assert_eq!(from.check_transition(to).is_ok(), listed, "{from} → {to}");
            }
        }
    }

    #[test]
    fn final_states_never_change_except_a_revived_suppression() {
        for from in ALL.into_iter().filter(|s| s.is_final()) {
            let exits: Vec<_> = ALL.into_iter().filter(|to| from.can_become(*to)).collect();
            let expected: &[MessageState] = if from == Suppressed { &[Pending] } else { &[] };
            assert_eq!(exits, expected, "{from}");
        }
    }

    #[test]
    fn a_delivered_text_is_never_sent_again_and_a_sent_one_never_waits_again() {
        for to in [Pending, Retrying, Claimed, Sent] {
            assert!(!Delivered.can_become(to));
            assert!(!Sent.can_become(to));
        }
    }

    #[test]
    fn an_illegal_change_names_both_states() {
        let error = Delivered.check_transition(Pending).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a message cannot go from delivered to pending"
        );
    }

    #[test]
    fn messages_start_waiting_or_already_decided() {
        let starts: Vec<_> = ALL.into_iter().filter(|s| s.can_start_as()).collect();
        assert_eq!(starts, [Pending, Suppressed, Expired]);
    }
}
