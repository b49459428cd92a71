//! What a change to a person did to their texts, in words staff read on the
//! page after saving: "2 texts moved, 1 cancelled, 1 new text planned".
//!
//! Re-planning cancels the texts of an old date and plans new ones, so a
//! text cancelled and a text planned from the same template in one change
//! are one text moved.

use std::collections::HashMap;

use crate::domain::{Message, MessageId, MessageState};

/// How a change moved a person's waiting texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextChanges {
    pub planned: usize,
    pub moved: usize,
    pub cancelled: usize,
}

impl TextChanges {
    /// Compare the person's texts before and after a change.
    #[must_use]
    pub fn between(before: &[Message], after: &[Message]) -> Self {
        let was: HashMap<MessageId, &Message> = before.iter().map(|m| (m.id, m)).collect();
        let mut stopped: HashMap<&str, usize> = HashMap::new();
        let mut started: HashMap<&str, usize> = HashMap::new();
        let mut changes = Self::default();
        for m in after {
            match was.get(&m.id) {
                Some(old)
                    if old.state.is_waiting()
                        && !m.state.is_waiting()
                        && m.state != MessageState::Claimed =>
                {
                    *stopped.entry(m.template.as_str()).or_default() += 1;
                }
                Some(old)
                    if old.state.is_waiting()
                        && m.state.is_waiting()
                        && old.send_at != m.send_at =>
                {
                    changes.moved += 1;
                }
                None if m.state.is_waiting() => {
                    *started.entry(m.template.as_str()).or_default() += 1
                }
                _ => {}
            }
        }
        for (template, gone) in stopped {
            let new = started.remove(template).unwrap_or(0);
            changes.moved += gone.min(new);
            changes.cancelled += gone.saturating_sub(new);
            changes.planned += new.saturating_sub(gone);
        }
        changes.planned += started.values().sum::<usize>();
        changes
    }

    /// "2 texts moved, 1 cancelled", or that nothing changed.
    #[must_use]
    pub fn describe(&self) -> String {
        let texts = |n: usize| if n == 1 { "text" } else { "texts" };
        let mut parts = Vec::new();
        if self.planned > 0 {
            parts.push(format!(
                "{} new {} planned",
                self.planned,
                texts(self.planned)
            ));
        }
        if self.moved > 0 {
            parts.push(format!("{} {} moved", self.moved, texts(self.moved)));
        }
        if self.cancelled > 0 {
            parts.push(format!(
                "{} {} cancelled",
                self.cancelled,
                texts(self.cancelled)
            ));
        }
        if parts.is_empty() {
            return "No texts changed.".to_owned();
        }
        let mut sentence = parts.join(", ");
        sentence[..1].make_ascii_uppercase();
        sentence + "."
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::domain::{
        Language, MessageBody, MessageOrigin, OrgId, PersonId, PhoneNumber, TemplateName,
    };

    fn text(template: &str, state: MessageState, hours: i64) -> Message {
        let now = Utc::now();
        Message {
            id: MessageId::new(),
            org_id: OrgId::new(),
            person_id: PersonId::new(),
            origin: MessageOrigin::Nudge,
            dedupe_key: "k".into(),
            template: TemplateName::parse(template).unwrap(),
            language: Language::english(),
            body: MessageBody::new("Hi".into()),
            mobile: PhoneNumber::parse("+447400123456").unwrap(),
            state,
            due_at: now,
            send_at: now + Duration::hours(hours),
            expires_at: now + Duration::hours(48),
            earliest: None,
            priority: 5,
            goal: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn with(m: &Message, state: MessageState, hours: i64) -> Message {
        let mut changed = m.clone();
        changed.state = state;
        changed.send_at = Utc::now() + Duration::hours(hours);
        changed
    }

    #[test]
    fn a_moved_date_is_texts_moved_not_cancelled_and_planned() {
        use MessageState::*;
        let gp = text("gp_registration", Pending, 24);
        let nhs = text("nhs_inform", Pending, 72);
        let sent = text("week_checkin", Delivered, -24);
        let before = [gp.clone(), nhs.clone(), sent.clone()];
        let after = [
            with(&gp, Cancelled, 24),
            with(&nhs, Cancelled, 72),
            text("gp_registration", Pending, 48),
            text("nhs_inform", Pending, 96),
            sent,
        ];
        let changes = TextChanges::between(&before, &after);
        assert_eq!(
            changes,
            TextChanges {
                planned: 0,
                moved: 2,
                cancelled: 0
            }
        );
        assert_eq!(changes.describe(), "2 texts moved.");
    }

    #[test]
    fn cancelled_planned_and_rescheduled_texts_are_counted_apart() {
        use MessageState::*;
        let a = text("appointment_day_before", Pending, 24);
        let b = text("week_checkin", Pending, 30);
        let before = [a.clone(), b.clone()];
        let after = [
            with(&a, Cancelled, 24),
            with(&b, Pending, 40),
            text("nhs_inform", Pending, 50),
        ];
        let changes = TextChanges::between(&before, &after);
        assert_eq!(
            changes,
            TextChanges {
                planned: 1,
                moved: 1,
                cancelled: 1
            }
        );
        assert_eq!(
            changes.describe(),
            "1 new text planned, 1 text moved, 1 text cancelled."
        );
        assert_eq!(
            TextChanges::between(&before, &before).describe(),
            "No texts changed."
        );
    }
}
