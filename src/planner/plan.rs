//! Deciding what should be planned for one event, and what must change.
//!
//! Pure functions over what is stored: the service around them does the
//! reading, rendering and writing. Planning is idempotent because every
//! planned text has a key (rule × event × occasion) and a key that is
//! already live is never planned again.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::rules::CampaignRule;
use super::timing::{Occasion, occasion};
use crate::domain::{
    AppointmentStatus, Event, EventDetail, Message, MessageId, MessageOrigin, MessageState,
};

/// A text a rule wants for an event.
#[derive(Debug, Clone)]
pub struct Wanted<'r> {
    pub rule: &'r CampaignRule,
    pub key: String,
    pub occasion: Occasion,
}

/// Is the event still one to text about?
fn is_live(detail: &EventDetail) -> bool {
    match detail {
        EventDetail::Appointment { status, .. } => *status == AppointmentStatus::Scheduled,
        EventDetail::Liberation { .. } => !detail.is_cancelled(),
    }
}

/// The texts enabled rules want for `event`, leaving out rules whose goal
/// the person has reached.
pub fn wanted<'r>(
    rules: &'r [CampaignRule],
    goals: &HashSet<String>,
    event: &Event,
    zone: Tz,
) -> Vec<Wanted<'r>> {
    if !is_live(&event.detail) {
        return Vec::new();
    }
    rules
        .iter()
        .filter(|r| r.enabled && r.matches(&event.detail))
        .filter(|r| r.goal.as_ref().is_none_or(|g| !goals.contains(g)))
        .filter_map(|rule| {
            let occasion = occasion(rule, &event.detail, zone)?;
            let key = format!("{}/{}/{}", rule.id, event.id, occasion.due.to_rfc3339());
            Some(Wanted {
                rule,
                key,
                occasion,
            })
        })
        .collect()
}

/// How the wanted texts differ from the stored ones.
#[derive(Debug, Default)]
pub struct Diff<'w, 'r> {
    /// Wanted texts with no live message yet.
    pub create: Vec<&'w Wanted<'r>>,
    /// Waiting messages that are still wanted (to re-render and re-time).
    pub keep: Vec<(&'w Wanted<'r>, MessageId)>,
    /// Waiting messages no longer wanted, with the reason.
    pub cancel: Vec<(MessageId, String)>,
}

pub fn diff<'w, 'r>(
    wanted: &'w [Wanted<'r>],
    stored: &[&Message],
    rules: &[CampaignRule],
    goals: &HashSet<String>,
    event: &Event,
) -> Diff<'w, 'r> {
    let live: HashMap<&str, &Message> = stored
        .iter()
        .filter(|m| m.state != MessageState::Cancelled)
        .map(|m| (m.dedupe_key.as_str(), *m))
        .collect();
    let mut out = Diff::default();
    for w in wanted {
        match live.get(w.key.as_str()) {
            None => out.create.push(w),
            Some(m) if m.state == MessageState::Pending => out.keep.push((w, m.id)),
            Some(_) => {}
        }
    }
    let wanted_keys: HashSet<&str> = wanted.iter().map(|w| w.key.as_str()).collect();
    for m in stored {
        if m.state == MessageState::Pending && !wanted_keys.contains(m.dedupe_key.as_str()) {
            out.cancel
                .push((m.id, why_unwanted(m, rules, goals, event)));
        }
    }
    out
}

fn why_unwanted(
    message: &Message,
    rules: &[CampaignRule],
    goals: &HashSet<String>,
    event: &Event,
) -> String {
    let kind = event.detail.kind();
    if !is_live(&event.detail) {
        return format!("the {kind} is no longer going ahead (status changed)");
    }
    let MessageOrigin::Rule { rule_id, .. } = &message.origin else {
        return "no longer planned".into();
    };
    match rules.iter().find(|r| &r.id == rule_id) {
        None => format!("rule {rule_id} was removed"),
        Some(r) if !r.enabled => format!("rule {rule_id} was disabled"),
        Some(r) if r.goal.as_ref().is_some_and(|g| goals.contains(g)) => {
            format!("goal {} was reached", r.goal.as_deref().unwrap_or_default())
        }
        Some(_) => format!("the {kind} moved to another date or time"),
    }
}

/// A new text is expired from the start when it is planned too late.
pub fn initial_state(occasion: &Occasion, now: DateTime<Utc>) -> MessageState {
    if occasion.expires <= now {
        MessageState::Expired
    } else {
        MessageState::Pending
    }
}
