//! Local time, done once and correctly.
//!
//! Rules and the sending window are written in local time (Europe/London by
//! default); everything is stored in UTC. On the spring-forward day a local
//! time that does not exist moves to the first instant after the gap; on the
//! fall-back day a time that happens twice is taken at its first occurrence,
//! so a text is neither skipped nor sent twice.

use chrono::{DateTime, Days, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::rules::{CampaignRule, RuleOffset};
use crate::domain::EventDetail;

/// The UTC instant of a local date and time in `zone`.
pub fn local_instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        LocalResult::None => first_instant_after_gap(zone, naive),
    }
}

fn first_instant_after_gap(zone: Tz, naive: chrono::NaiveDateTime) -> DateTime<Utc> {
    // Gaps are at most a few hours; walk forward a minute at a time to the
    // first local time that exists, which is the instant the clocks jumped.
    (1..=24 * 60)
        .find_map(
            |m| match zone.from_local_datetime(&(naive + Duration::minutes(m))) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                    Some(at.with_timezone(&Utc))
                }
                LocalResult::None => None,
            },
        )
        .expect("no time zone skips a whole day")
}

/// The local hours in which texts may go out: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendingWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl SendingWindow {
    /// The first instant at or after `at` inside the window, opening at
    /// `earliest` instead of `start` where a rule allows it.
    pub fn next_allowed(
        &self,
        zone: Tz,
        at: DateTime<Utc>,
        earliest: Option<NaiveTime>,
    ) -> DateTime<Utc> {
        let start = earliest.map_or(self.start, |e| e.min(self.start));
        let local = at.with_timezone(&zone);
        let (date, time) = (local.date_naive(), local.time());
        if time < start {
            local_instant(zone, date, start)
        } else if time >= self.end {
            local_instant(zone, date + Days::new(1), self.start)
        } else {
            at
        }
    }

    /// The start of the window on the local day after `at`'s.
    pub fn next_day_start(&self, zone: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
        let date = at.with_timezone(&zone).date_naive();
        local_instant(zone, date + Days::new(1), self.start)
    }
}

/// When a rule wants to send for an event, before the window and caps, and
/// the last moment the text is still worth sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occasion {
    pub due: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

pub fn occasion(rule: &CampaignRule, detail: &EventDetail, zone: Tz) -> Option<Occasion> {
    let (due, hard_stop) = match (rule.offset, detail) {
        (RuleOffset::Days { days, at }, EventDetail::Liberation { date, .. }) => {
            (local_instant(zone, shift(*date, days)?, at), None)
        }
        (RuleOffset::Days { days, at }, EventDetail::Appointment { starts_at, .. }) => {
            let date = starts_at.with_timezone(&zone).date_naive();
            (
                local_instant(zone, shift(date, days)?, at),
                Some(*starts_at),
            )
        }
        (RuleOffset::Hours(hours), EventDetail::Appointment { starts_at, .. }) => {
            (*starts_at + Duration::hours(hours), Some(*starts_at))
        }
        (RuleOffset::Hours(_), EventDetail::Liberation { .. }) => return None,
    };
    // A reminder is useless once the appointment has begun.
    let expires = (due + rule.expires_after).min(hard_stop.unwrap_or(DateTime::<Utc>::MAX_UTC));
    Some(Occasion { due, expires })
}

fn shift(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        date.checked_add_days(Days::new(days as u64))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::London;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_to_the_first_instant_after_it() {
        // 29 March 2026: 01:00 GMT becomes 02:00 BST.
        let at = local_instant(London, d(2026, 3, 29), t(1, 30));
        assert_eq!(at.to_rfc3339(), "2026-03-29T01:00:00+00:00");
        assert_eq!(at.with_timezone(&London).time(), t(2, 0));
    }

    #[test]
    fn a_time_that_happens_twice_in_autumn_is_taken_once_at_its_first_occurrence() {
        // 25 October 2026: 02:00 BST becomes 01:00 GMT, so 01:30 happens twice.
        let at = local_instant(London, d(2026, 10, 25), t(1, 30));
        assert_eq!(at.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn ten_in_the_morning_is_ten_local_on_both_sides_of_a_change() {
        assert_eq!(
            local_instant(London, d(2026, 3, 28), t(10, 0)).to_rfc3339(),
            "2026-03-28T10:00:00+00:00"
        );
        assert_eq!(
            local_instant(London, d(2026, 3, 29), t(10, 0)).to_rfc3339(),
            "2026-03-29T09:00:00+00:00"
        );
        assert_eq!(
            local_instant(London, d(2026, 10, 25), t(10, 0)).to_rfc3339(),
            "2026-10-25T10:00:00+00:00"
        );
    }

    #[test]
    fn the_window_moves_early_and_late_texts_to_the_next_allowed_time() {
        let window = SendingWindow {
            start: t(9, 0),
            end: t(20, 0),
        };
        let early = local_instant(London, d(2026, 7, 1), t(7, 30));
        assert_eq!(
            window.next_allowed(London, early, None),
            local_instant(London, d(2026, 7, 1), t(9, 0))
        );
        assert_eq!(
            window.next_allowed(London, early, Some(t(7, 0))),
            early,
            "a rule's earlier start"
        );
        let late = local_instant(London, d(2026, 7, 1), t(20, 0));
        assert_eq!(
            window.next_allowed(London, late, None),
            local_instant(London, d(2026, 7, 2), t(9, 0))
        );
        let inside = local_instant(London, d(2026, 7, 1), t(12, 0));
        assert_eq!(window.next_allowed(London, inside, None), inside);
    }
}
