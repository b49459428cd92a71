//! Which waiting texts to a number must move, or expire, to keep sending
//! hours, the daily cap and the minimum gap.
//!
//! Fitting looks at every text to a number, whoever planned it, so it works
//! on a light view of each ([`Slot`]) that can come from a stored message or
//! from one planning is about to write. Planning fits its own texts before
//! writing them, together with the texts already stored for the same numbers
//! and with its own changes laid over those, so that one transaction holds
//! the texts and their placements; reading every new text back after
//! writing it was a third of planning's time on a large import.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::caps::{Candidate, CapPolicy, Placement, fit};
use crate::domain::{Message, MessageId, MessageOrigin, MessageState, NewMessage, PhoneNumber};
use crate::store::{MessageUpdate, PlanChanges};

/// How far back a daily cap looks for texts that already went.
pub fn cap_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(1)
}

/// Fit the texts `changes` leaves waiting to `mobiles`, with the texts
/// already stored for them, as if `changes` had been applied first:
/// `stored` holds the messages planning diffed against and `others` what
/// `messages_to_numbers(mobiles, cap_since(now))` found. New texts get
/// their place before they are written; stored ones are moved or expired
/// by further changes. Returns how many texts fitting expired.
pub fn fit_planned(
    policy: &CapPolicy,
    changes: &mut PlanChanges,
    stored: &[Message],
    others: &[Message],
    mobiles: &HashSet<&PhoneNumber>,
    now: DateTime<Utc>,
) -> usize {
    let moves = {
        let slots = planned_slots(changes, stored, others, mobiles, cap_since(now));
        moves(policy, &slots, now)
    };
    let created: HashMap<MessageId, usize> = index(changes.create.iter().map(|(m, _, _)| m.id));
    let updated: HashMap<MessageId, usize> = index(changes.update.iter().map(|u| u.id));
    let messages: HashMap<MessageId, &Message> =
        stored.iter().chain(others).map(|m| (m.id, m)).collect();
    let mut expired = 0;
    for (id, placement) in moves {
        match placement {
            Placement::At(at) => match (created.get(&id), updated.get(&id)) {
                (Some(i), _) => changes.create[*i].0.send_at = at,
                (None, Some(i)) => changes.update[*i].send_at = at,
                (None, None) => changes.update.push(rescheduled(messages[&id], at)),
            },
            Placement::Expired(why) => {
                changes.expire.push((id, why.describe().to_owned()));
                expired += 1;
            }
        }
    }
    expired
}

/// Every text to `mobiles` a daily cap counts once `changes` is applied.
fn planned_slots<'a>(
    changes: &'a PlanChanges,
    stored: &'a [Message],
    others: &'a [Message],
    mobiles: &HashSet<&PhoneNumber>,
    since: DateTime<Utc>,
) -> Vec<Slot<'a>> {
    let cancelled: HashSet<MessageId> = changes.cancel.iter().map(|(id, _)| *id).collect();
    let updates: HashMap<MessageId, &MessageUpdate> =
        changes.update.iter().map(|u| (u.id, u)).collect();
    let mut seen = HashSet::new();
    let mut slots = Vec::new();
    for m in stored.iter().chain(others) {
        if !seen.insert(m.id) || (cancelled.contains(&m.id) && m.state.is_waiting()) {
            continue;
        }
        let slot = match updates.get(&m.id) {
            Some(update) => Slot::stored(m).updated(update),
            None => Slot::stored(m),
        };
        slots.push(slot);
    }
    slots.extend(
        changes
            .create
            .iter()
            .map(|(m, state, _)| Slot::new(m, *state)),
    );
    slots.retain(|s| s.counts(since) && mobiles.contains(s.mobile));
    slots
}

/// Positions by id.
fn index(ids: impl Iterator<Item = MessageId>) -> HashMap<MessageId, usize> {
    ids.enumerate().map(|(i, id)| (id, i)).collect()
}

/// A stored waiting text moved to `at`, everything else as it is.
pub fn rescheduled(m: &Message, at: DateTime<Utc>) -> MessageUpdate {
    MessageUpdate {
        id: m.id,
        body: m.body.clone(),
        language: m.language.clone(),
        mobile: m.mobile.clone(),
        due_at: m.due_at,
        send_at: at,
        expires_at: m.expires_at,
    }
}

/// A text to a number, as fitting sees it.
#[derive(Debug, Clone)]
pub struct Slot<'a> {
    pub id: MessageId,
    pub mobile: &'a PhoneNumber,
    pub state: MessageState,
    pub due: DateTime<Utc>,
    pub send_at: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub priority: u8,
    pub earliest: Option<NaiveTime>,
    /// A reply to a person's own text, which a daily cap does not count.
    pub reply: bool,
    /// A staff reply: placed in sending hours when written and never moved
    /// by the cap, though the cap counts it.
    pub fixed: bool,
}

impl<'a> Slot<'a> {
    pub fn stored(m: &'a Message) -> Self {
        Self {
            id: m.id,
            mobile: &m.mobile,
            state: m.state,
            due: m.due_at,
            send_at: m.send_at,
            expires: m.expires_at,
            priority: m.priority,
            earliest: m.earliest,
            reply: matches!(m.origin, MessageOrigin::Reply { .. }),
            fixed: matches!(m.origin, MessageOrigin::StaffReply),
        }
    }

    pub fn new(m: &'a NewMessage, state: MessageState) -> Self {
        Self {
            id: m.id,
            mobile: &m.mobile,
            state,
            due: m.due_at,
            send_at: m.send_at,
            expires: m.expires_at,
            priority: m.priority,
            earliest: m.earliest,
            reply: matches!(m.origin, MessageOrigin::Reply { .. }),
            fixed: matches!(m.origin, MessageOrigin::StaffReply),
        }
    }

    /// The slot once `update` is applied (it only touches waiting texts).
    pub fn updated(mut self, update: &'a MessageUpdate) -> Self {
        if self.state.is_waiting() {
            self.mobile = &update.mobile;
            self.due = update.due_at;
            self.send_at = update.send_at;
            self.expires = update.expires_at;
        }
        self
    }

    /// Does a daily cap from `since` count this text? The same test as
    /// `MessageStore::messages_to_numbers`.
    pub fn counts(&self, since: DateTime<Utc>) -> bool {
        use MessageState::*;
        !self.reply
            && matches!(self.state, Pending | Retrying | Claimed | Sent | Delivered)
            && self.send_at >= since
    }
}

/// The waiting texts whose placement changes: to a new time, or expired.
/// Texts that keep their time are left out.
pub fn moves(
    policy: &CapPolicy,
    slots: &[Slot<'_>],
    now: DateTime<Utc>,
) -> Vec<(MessageId, Placement)> {
    let mut by_number: HashMap<&PhoneNumber, Vec<&Slot<'_>>> = HashMap::new();
    for slot in slots {
        by_number.entry(slot.mobile).or_default().push(slot);
    }
    let mut out = Vec::new();
    for texts in by_number.values() {
        let (waiting, fixed): (Vec<&Slot<'_>>, Vec<&Slot<'_>>) = texts
            .iter()
            .partition(|s| s.state == MessageState::Pending && !s.fixed);
        let already: Vec<_> = fixed.iter().map(|s| s.send_at).collect();
        let candidates: Vec<_> = waiting.iter().map(|s| candidate(s)).collect();
        let send_at: HashMap<MessageId, DateTime<Utc>> =
            waiting.iter().map(|s| (s.id, s.send_at)).collect();
        out.extend(
            fit(policy, &already, &candidates, now)
                .into_iter()
                .filter(|(id, placement)| *placement != Placement::At(send_at[id])),
        );
    }
    out
}

fn candidate(slot: &Slot<'_>) -> Candidate {
    Candidate {
        id: slot.id,
        due: slot.due,
        expires: slot.expires,
        priority: slot.priority,
        earliest: slot.earliest,
    }
}
