//! `homeward example releases`: a small releases file dated from today, so
//! the README's walk-through shows people released today and tomorrow on
//! whatever day it is run. The numbers are in a range libphonenumber takes
//! for UK mobiles; the default log provider never texts anyone.

use std::process::ExitCode;

use chrono::{Days, NaiveDate};
use clap::Subcommand;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum ExampleCommand {
    /// Print a releases CSV: two people released today, two tomorrow, one next week.
    Releases,
}

const PEOPLE: &[(&str, &str, u64, &str)] = &[
    ("SPS-1001", "Alex", 0, "HMP Barlinnie"),
    ("SPS-1002", "Seán", 0, "HMP Low Moss"),
    ("SPS-1003", "Jordan", 1, "HMP Edinburgh"),
    ("SPS-1004", "Robin", 1, "HMP Barlinnie"),
    ("SPS-1005", "Kim", 7, "HMP Greenock"),
];

pub fn example(settings: &Settings, cmd: ExampleCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ExampleCommand::Releases => {
            let today = SystemClock
                .now()
                .with_timezone(&settings.time.zone)
                .date_naive();
            print!("{}", releases(today));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn releases(today: NaiveDate) -> String {
    let mut csv = String::from("external_ref,first_name,mobile,release_date,establishment\n");
    for (i, (reference, name, days, prison)) in PEOPLE.iter().enumerate() {
        let date = today.checked_add_days(Days::new(*days)).unwrap_or(today);
        csv.push_str(&format!(
            "{reference},{name},07400 {:06},{date},{prison}\n",
            123_456 + i
        ));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_dated_from_the_day_it_is_made() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let csv = releases(today);
        assert!(csv.contains("SPS-1001,Alex,07400 123456,2027-03-01,HMP Barlinnie\n"));
        assert!(csv.contains("SPS-1004,Robin,07400 123459,2027-03-02,"));
        assert!(csv.contains("SPS-1005,Kim,07400 123460,2027-03-08,"));
        assert_eq!(csv.lines().count(), 6);
    }
}
