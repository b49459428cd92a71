//! Fitting one person's texts around the daily cap and the minimum gap.
//!
//! Too many texts overwhelm people, and one person may hear from a prison, a
//! throughcare team and a health board at once, so the cap counts every text
//! to the same number. When a day is full, the least important texts move
//! to the next day's window; a text that cannot fit before it expires is
//! expired, visibly, never silently dropped.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use super::timing::SendingWindow;
use crate::domain::MessageId;

/// The limits on texts to one number.
#[derive(Debug, Clone, Copy)]
pub struct CapPolicy {
    pub window: SendingWindow,
    pub daily_cap: u32,
    pub min_gap: Duration,
    pub zone: Tz,
}

impl CapPolicy {
    /// The policy the settings describe. Built once, at start-up, and
    /// handed to both the planner and the dispatcher, so the two can never
    /// disagree about when a text may go.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let planner = &settings.planner;
        let (start, end) = planner.window();
        Self {
            window: SendingWindow { start, end },
            daily_cap: planner.daily_cap,
            min_gap: Duration::minutes(planner.min_gap_minutes.into()),
            zone: settings.time.zone,
        }
    }

    /// Sending hours alone, for a staff reply: a worker answering a person
    /// is not held back by the texts the person already had today.
    #[must_use]
    pub fn hours_only(&self) -> Self {
        Self {
            daily_cap: u32::MAX,
            min_gap: Duration::zero(),
            ..*self
        }
    }

    /// The first time a text may go at or after `at`, by sending hours alone.
    #[must_use]
    pub fn next_opening(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.window.next_allowed(self.zone, at, None)
    }
}

/// A text waiting to go to the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: MessageId,
    pub due: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub priority: u8,
    pub earliest: Option<NaiveTime>,
}

/// Where a waiting text ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    At(DateTime<Utc>),
    Expired(ExpiryReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryReason {
    /// It was already too late when it was planned.
    TooLate,
    /// The sending window or the cap pushed it past its expiry.
    NoRoomBeforeExpiry,
}

impl ExpiryReason {
    pub fn describe(self) -> &'static str {
        match self {
            Self::TooLate => "planned after its expiry time (e.g. imported late)",
            Self::NoRoomBeforeExpiry => {
                "no allowed sending time before it expired (sending hours or daily cap)"
            }
        }
    }
}

/// Place each candidate given the times texts already went (or will go) to
/// this number. The most important texts of a day are placed first.
pub fn fit(
    policy: &CapPolicy,
    already: &[DateTime<Utc>],
    candidates: &[Candidate],
    now: DateTime<Utc>,
) -> Vec<(MessageId, Placement)> {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by_key(|c| (policy.local_day(c.due), c.priority, c.due, c.id));
    let mut taken: Vec<DateTime<Utc>> = already.to_vec();
    order
        .into_iter()
        .map(|c| {
            let placement = policy.place(c, &taken, now);
            if let Placement::At(at) = placement {
                taken.push(at);
            }
            (c.id, placement)
        })
        .collect()
}

impl CapPolicy {
    fn local_day(&self, at: DateTime<Utc>) -> chrono::NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    fn place(&self, c: &Candidate, taken: &[DateTime<Utc>], now: DateTime<Utc>) -> Placement {
        if c.expires <= now {
            return Placement::Expired(ExpiryReason::TooLate);
        }
        let mut at = self
            .window
            .next_allowed(self.zone, c.due.max(now), c.earliest);
        // Each step moves `at` forward by at least a minute or a day, so a
        // bounded number of steps either places the text or passes expiry.
        for _ in 0..64 {
            if at > c.expires {
                break;
            }
            let day = self.local_day(at);
            let same_day = taken.iter().filter(|t| self.local_day(**t) == day).count();
            if same_day >= self.daily_cap as usize {
                at = self.window.next_day_start(self.zone, at);
                continue;
            }
            match taken
                .iter()
                .filter(|t| (**t - at).abs() < self.min_gap)
                .max()
            {
                Some(clash) => {
                    at = self
                        .window
                        .next_allowed(self.zone, *clash + self.min_gap, c.earliest)
                }
                None => return Placement::At(at),
            }
        }
        Placement::Expired(ExpiryReason::NoRoomBeforeExpiry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::timing::local_instant;
    use chrono::NaiveDate;
    use chrono_tz::Europe::London;

    fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        let date = NaiveDate::from_ymd_opt(2026, 7, day).unwrap();
        local_instant(London, date, NaiveTime::from_hms_opt(h, m, 0).unwrap())
    }

    fn policy(cap: u32, gap_minutes: i64) -> CapPolicy {
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        CapPolicy {
            window: SendingWindow {
                start: t(9),
                end: t(20),
            },
            daily_cap: cap,
            min_gap: Duration::minutes(gap_minutes),
            zone: London,
        }
    }

    fn candidate(due: DateTime<Utc>, priority: u8) -> Candidate {
        Candidate {
            id: MessageId::new(),
            due,
            expires: due + Duration::days(2),
            priority,
            earliest: None,
        }
    }

    #[test]
    fn the_least_important_text_of_a_full_day_moves_to_the_next_morning() {
        let important = candidate(at(1, 15, 0), 1);
        let minor = candidate(at(1, 10, 0), 9);
        let placed = fit(
            &policy(2, 0),
            &[at(1, 9, 30)],
            &[minor, important],
            at(1, 8, 0),
        );
        assert!(placed.contains(&(important.id, Placement::At(at(1, 15, 0)))));
        assert!(placed.contains(&(minor.id, Placement::At(at(2, 9, 0)))));
    }

    #[test]
    fn texts_keep_the_minimum_gap() {
        let a = candidate(at(1, 10, 0), 1);
        let b = candidate(at(1, 10, 15), 1);
        let placed = fit(&policy(3, 60), &[], &[a, b], at(1, 8, 0));
        assert_eq!(placed[1], (b.id, Placement::At(at(1, 11, 0))));
    }

    #[test]
    fn a_text_that_cannot_fit_before_it_expires_is_expired_not_dropped() {
        let mut late = candidate(at(1, 19, 30), 1);
        late.expires = at(1, 21, 0);
        let placed = fit(&policy(1, 0), &[at(1, 12, 0)], &[late], at(1, 8, 0));
        assert_eq!(
            placed[0].1,
            Placement::Expired(ExpiryReason::NoRoomBeforeExpiry)
        );
        let gone = candidate(at(1, 10, 0), 1);
        let placed = fit(&policy(3, 0), &[], &[gone], at(4, 10, 0));
        assert_eq!(placed[0].1, Placement::Expired(ExpiryReason::TooLate));
    }

    #[test]
    fn a_text_due_at_night_waits_for_the_morning() {
        let night = candidate(at(1, 22, 0), 1);
        let placed = fit(&policy(3, 0), &[], &[night], at(1, 8, 0));
        assert_eq!(placed[0].1, Placement::At(at(2, 9, 0)));
    }
}
