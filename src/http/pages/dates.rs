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

/// A date as staff type it: 9/12/2026 (day first, as in the UK) or
/// 2026-12-09; the error is a sentence for beside the field.
pub(super) fn read_day(raw: &str) -> Result<NaiveDate, &'static str> {
    match raw.trim() {
        "" => Err("Enter the date"),
        raw => NaiveDate::parse_from_str(raw, "%d/%m/%Y")
            .or_else(|_| NaiveDate::parse_from_str(raw, "%Y-%m-%d"))
            .map_err(|_| "Enter a real date, like 9/12/2026"),
    }
}

/// A time of day as staff type it: 14:30 (or 9:05).
pub(super) fn read_time(raw: &str) -> Result<chrono::NaiveTime, &'static str> {
    match raw.trim() {
        "" => Err("Enter the time"),
        raw => {
            chrono::NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| "Enter a time like 14:30")
        }
    }
}

/// A date as a form shows it back: 9/12/2026.
pub(super) fn typed_day(date: NaiveDate) -> String {
    date.format("%-d/%-m/%Y").to_string()
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

    #[test]
    fn dates_are_read_day_first_or_in_iso_form_and_shown_day_first() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        assert_eq!(read_day("9/12/2026"), Ok(day));
        assert_eq!(read_day(" 2026-12-09 "), Ok(day));
        assert_eq!(
            read_day("12/31/2026"),
            Err("Enter a real date, like 9/12/2026")
        );
        assert_eq!(read_day(""), Err("Enter the date"));
        assert_eq!(typed_day(day), "9/12/2026");
        assert_eq!(read_time("9:05").unwrap().to_string(), "09:05:00");
        assert!(read_time("25:00").is_err());
    }
}
