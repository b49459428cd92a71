//! Configuration values that are more than a string: parsed once, when the
//! configuration is read, so nothing downstream parses them again or keeps
//! an `expect` on the way. A value that does not parse stops start-up with
//! figment's error, which names the key, shows the value and says what is
//! allowed (the `expecting` text below).

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use chrono::NaiveTime;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A local time of day written `HH:MM`, e.g. a sending window's edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime(pub NaiveTime);

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

impl FromStr for LocalTime {
    type Err = chrono::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveTime::parse_from_str(s, "%H:%M").map(LocalTime)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parsed::new("a local time written HH:MM, e.g. \"09:00\""))
    }
}

/// A cron expression with seconds (`sec min hour day month weekday`),
/// evaluated in `time.zone`.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    schedule: cron::Schedule,
    written: String,
}

impl CronSchedule {
    pub fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl FromStr for CronSchedule {
    type Err = cron::error::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self {
            schedule: s.parse()?,
            written: s.to_owned(),
        })
    }
}

impl<'de> Deserialize<'de> for CronSchedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parsed::new(
            "a cron expression with seconds, e.g. \"0 */5 * * * *\" (every five minutes)",
        ))
    }
}

/// A string visitor that parses with `T`'s `FromStr`, reporting failures
/// as "invalid value …, expected <expecting>".
struct Parsed<T> {
    expecting: &'static str,
    into: PhantomData<T>,
}

impl<T> Parsed<T> {
    fn new(expecting: &'static str) -> Self {
        Self {
            expecting,
            into: PhantomData,
        }
    }
}

impl<T: FromStr> Visitor<'_> for Parsed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        let expecting = self.expecting;
        value
            .parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &expecting))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Both {
        at: LocalTime,
        every: CronSchedule,
    }

    fn read(toml_text: &str) -> Result<Both, String> {
        toml::from_str(toml_text).map_err(|e| e.to_string())
    }

    #[test]
    fn times_and_schedules_are_parsed_when_read() {
        let both = read("at = \"09:30\"\nevery = \"0 */5 * * * *\"").unwrap();
        assert_eq!(both.at.to_string(), "09:30");
        assert_eq!(both.every.to_string(), "0 */5 * * * *");
        assert!(both.every.schedule().upcoming(chrono::Utc).next().is_some());
    }

    #[test]
    fn a_bad_value_is_named_with_what_is_allowed() {
        let err = read("at = \"9am\"\nevery = \"* * * * * *\"").unwrap_err();
        assert!(err.contains("\"9am\"") && err.contains("HH:MM"), "{err}");
        let err = read("at = \"09:00\"\nevery = \"often\"").unwrap_err();
        assert!(
            err.contains("\"often\"") && err.contains("cron expression"),
            "{err}"
        );
    }
}
