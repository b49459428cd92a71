//! Campaign rules: which texts to plan around which events, and when.
//!
//! Rules live in `config/campaigns.toml`, are read once at start-up and are
//! checked there: a rule naming an unknown template, an absurd offset, or a
//! liberation text that would go before the person is out stops the daemon
//! with the rule and the reason.

use std::collections::HashSet;
use std::path::Path;

use chrono::{Duration, NaiveTime};
use serde::Deserialize;

use crate::domain::{AppointmentKind, EventDetail, EventKind, TemplateName};

/// The furthest a rule may reach from its event, either side.
const MAX_OFFSET_DAYS: i64 = 366;
const MAX_EXPIRY_HOURS: i64 = 7 * 24;

/// When a rule sends, relative to its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOffset {
    /// A number of days from the event's local date, at a local time.
    Days { days: i64, at: NaiveTime },
    /// A number of hours from an appointment's start.
    Hours(i64),
}

/// One campaign rule, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRule {
    pub id: String,
    pub event: EventKind,
    /// Appointment types this rule is for; empty means all.
    pub appointment_types: Vec<AppointmentKind>,
    pub offset: RuleOffset,
    pub template: TemplateName,
    pub expires_after: Duration,
    pub enabled: bool,
    pub goal: Option<String>,
    pub priority: u8,
    /// An earlier start than the sending window allows, for this rule only
    /// (people are often released early in the morning).
    pub earliest: Option<NaiveTime>,
}

impl CampaignRule {
    /// Does this rule apply to an event like `detail`?
    pub fn matches(&self, detail: &EventDetail) -> bool {
        match detail {
            EventDetail::Liberation { .. } => self.event == EventKind::Liberation,
            EventDetail::Appointment {
                appointment_type, ..
            } => {
                self.event == EventKind::Appointment
                    && (self.appointment_types.is_empty()
                        || self.appointment_types.contains(appointment_type))
            }
        }
    }
}

/// A rule that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("campaign rules: cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("campaign rules: {path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("campaign rule {rule:?}: {reason}")]
    Invalid { rule: String, reason: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: String,
    event: EventKind,
    #[serde(default)]
    appointment_types: Vec<AppointmentKind>,
    offset_days: Option<i64>,
    offset_hours: Option<i64>,
    send_at: Option<String>,
    earliest: Option<String>,
    template: String,
    expires_after_hours: i64,
    #[serde(default = "yes")]
    enabled: bool,
    goal: Option<String>,
    #[serde(default = "middle")]
    priority: u8,
}

fn yes() -> bool {
    true
}

fn middle() -> u8 {
    5
}

/// Read and check a rules file. `template_exists` says whether a template
/// name is known (in English, the language every template must have).
pub fn load(
    path: &Path,
    template_exists: impl Fn(&TemplateName) -> bool,
) -> Result<Vec<CampaignRule>, RuleError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RuleError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown, template_exists)
}

/// Check rules given as TOML text; `origin` names the text in errors.
pub fn parse(
    text: &str,
    origin: &str,
    template_exists: impl Fn(&TemplateName) -> bool,
) -> Result<Vec<CampaignRule>, RuleError> {
    let file: RuleFile = toml::from_str(text).map_err(|source| RuleError::Parse {
        path: origin.to_owned(),
        source: Box::new(source),
    })?;
    let mut ids = HashSet::new();
    let mut rules = Vec::with_capacity(file.rule.len());
    for entry in file.rule {
        let rule = entry.check(&template_exists)?;
        if !ids.insert(rule.id.clone()) {
            return Err(invalid(&rule.id, "the id is used by another rule".into()));
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn invalid(rule: &str, reason: String) -> RuleError {
    RuleError::Invalid {
        rule: rule.to_owned(),
        reason,
    }
}

impl RuleEntry {
    fn check(
        self,
        template_exists: &impl Fn(&TemplateName) -> bool,
    ) -> Result<CampaignRule, RuleError> {
        let id = self.id.clone();
        let fail = |reason: String| invalid(&id, reason);
        if TemplateName::parse(&self.id).is_err() {
            return Err(fail(
                "id must be lowercase snake_case, e.g. liberation_gp_registration".into(),
            ));
        }
        let template =
            TemplateName::parse(&self.template).map_err(|e| fail(format!("template {e}")))?;
        if !template_exists(&template) {
            return Err(fail(format!(
                "template {:?} does not exist under templates/sms/en/",
                self.template
            )));
        }
        let offset = self.offset().map_err(fail)?;
        if self.event == EventKind::Liberation {
            check_liberation(&self, offset).map_err(|r| invalid(&id, r))?;
        }
        if !(1..=MAX_EXPIRY_HOURS).contains(&self.expires_after_hours) {
            return Err(fail(format!(
                "expires_after_hours is {}; it must be 1 to {MAX_EXPIRY_HOURS}",
                self.expires_after_hours
            )));
        }
        let earliest = self
            .earliest
            .as_deref()
            .map(|t| parse_time("earliest", t))
            .transpose()
            .map_err(|r| invalid(&id, r))?;
        Ok(CampaignRule {
            id: self.id,
            event: self.event,
            appointment_types: self.appointment_types,
            offset,
            template,
            expires_after: Duration::hours(self.expires_after_hours),
            enabled: self.enabled,
            goal: self.goal,
            priority: self.priority,
            earliest,
        })
    }

    fn offset(&self) -> Result<RuleOffset, String> {
        match (self.offset_days, self.offset_hours, self.send_at.as_deref()) {
            (Some(days), None, Some(at)) if days.abs() <= MAX_OFFSET_DAYS => Ok(RuleOffset::Days {
                days,
                at: parse_time("send_at", at)?,
            }),
            (Some(days), None, Some(_)) => Err(format!(
                "offset_days is {days}; it must be within ±{MAX_OFFSET_DAYS}"
            )),
            (Some(_), None, None) => {
                Err("offset_days needs send_at, the local time to send (e.g. \"10:00\")".into())
            }
            (None, Some(hours), None) if hours.abs() <= MAX_OFFSET_DAYS * 24 => {
                Ok(RuleOffset::Hours(hours))
            }
            (None, Some(hours), None) => Err(format!(
                "offset_hours is {hours}; it must be within ±{}",
                MAX_OFFSET_DAYS * 24
            )),
            (None, Some(_), Some(_)) => {
                Err("offset_hours counts from the appointment's time; drop send_at".into())
            }
            (Some(_), Some(_), _) => Err("give offset_days or offset_hours, not both".into()),
            (None, None, _) => Err("give offset_days (with send_at) or offset_hours".into()),
        }
    }
}

fn check_liberation(entry: &RuleEntry, offset: RuleOffset) -> Result<(), String> {
    if !entry.appointment_types.is_empty() {
        return Err("appointment_types is for appointment rules".into());
    }
    match offset {
        RuleOffset::Hours(_) => {
            Err("a liberation has a date but no time: use offset_days with send_at".into())
        }
        RuleOffset::Days { days, .. } if days < 0 => Err(format!(
            "offset_days is {days}: a liberation text cannot go before the person is released"
        )),
        RuleOffset::Days { .. } => Ok(()),
    }
}

fn parse_time(field: &str, value: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(value, "%H:%M")
        .map_err(|_| format!("{field} {value:?} is not a time; write HH:MM, e.g. \"10:00\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Vec<CampaignRule>, RuleError> {
        parse(text, "test", |t| t.as_str() != "missing")
    }

    const GOOD: &str = r#"
        [[rule]]
        id = "gp"
        event = "liberation"
        offset_days = 0
        send_at = "10:00"
        template = "gp_registration"
        expires_after_hours = 8
    "#;

    #[test]
    fn a_good_rule_is_read_with_defaults() {
        let rules = check(GOOD).unwrap();
        assert_eq!(
            rules[0].offset,
            RuleOffset::Days {
                days: 0,
                at: NaiveTime::from_hms_opt(10, 0, 0).unwrap()
            }
        );
        assert!(rules[0].enabled);
        assert_eq!(rules[0].expires_after, Duration::hours(8));
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule_and_reason() {
        let cases = [
            (GOOD.replace("gp_registration", "missing"), "does not exist"),
            (
                GOOD.replace("offset_days = 0", "offset_days = -1"),
                "before the person is released",
            ),
            (
                GOOD.replace("offset_days = 0", "offset_days = 400"),
                "within ±366",
            ),
            (GOOD.replace("\"10:00\"", "\"25:00\""), "not a time"),
            (
                GOOD.replace("event = \"liberation\"", "event = \"birthday\""),
                "birthday",
            ),
            (
                GOOD.replace("expires_after_hours = 8", "expires_after_hours = 0"),
                "expires_after_hours",
            ),
            (
                GOOD.replace("offset_days = 0\n", "offset_hours = 2\n"),
                "drop send_at",
            ),
            (format!("{GOOD}{GOOD}"), "used by another rule"),
            (
                GOOD.replace("template =", "colour = \"red\"\n        template ="),
                "colour",
            ),
        ];
        for (text, expected) in cases {
            let err = check(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }
}
