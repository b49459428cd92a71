//! Dates and times as staff read them, in `time.zone`: "Tuesday 8 December",
//! "9:30am" (GOV.UK and SG style).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

pub(super) fn day(date: NaiveDate) -> String {
    date.format("%A %-d %B").to_string()
}

pub(super) fn day_of(at: DateTime<Utc>, zone: Tz) -> String {
    day(at.with_timezone(&zone).date_naive())
}

pub(super) fn time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%-I:%M%P").to_string()
}

/// "Tuesday 8 December at 9:30am".
pub(super) fn when(at: DateTime<Utc>, zone: Tz) -> String {
    format!("{} at {}", day_of(at, zone), time(at, zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_people_say_them_in_local_time() {
        let zone = chrono_tz::Europe::London;
        let summer: DateTime<Utc> = "2026-07-07T08:30:00Z".parse().unwrap();
        assert_eq!(when(summer, zone), "Tuesday 7 July at 9:30am");
        let winter: DateTime<Utc> = "2026-12-08T23:30:00Z".parse().unwrap();
        assert_eq!(when(winter, zone), "Tuesday 8 December at 11:30pm");
        assert_eq!(
            day(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            "Tuesday 1 December"
        );
    }
}
