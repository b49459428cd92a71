//! Words staff read for Homeward's states and kinds, with the tag colour
//! that goes with each (colour only decorates: the words carry the meaning).

use crate::dispatch::ProviderState;
use crate::domain::MessageState;

pub(super) fn state(state: MessageState) -> (&'static str, &'static str) {
    use MessageState::*;
    match state {
        Pending => ("Waiting to send", "grey"),
        Claimed => ("Sending", "blue"),
        Retrying => ("Will try again", "yellow"),
        Sent => ("Sent", "teal"),
        Delivered => ("Delivered", "green"),
        Failed => ("Failed", "red"),
        Cancelled => ("Cancelled", "grey"),
        Suppressed => ("Not sent", "orange"),
        Expired => ("Too late to send", "grey"),
    }
}

pub(super) fn provider(state: ProviderState) -> (&'static str, &'static str) {
    match state {
        ProviderState::Sending => ("Sending", "green"),
        ProviderState::RateLimited => ("Sending slowly: at its rate limit", "yellow"),
        ProviderState::SkippedUntil(_) => ("Failing repeatedly", "red"),
        ProviderState::OtherDaemon => ("Sent through by another server", "grey"),
        ProviderState::SwitchedOff => ("Not sending: sending is switched off", "orange"),
    }
}

/// A language's name, for the few Homeward has texts in; else its code.
pub(super) fn language(code: &str) -> &str {
    match code {
        "en" => "English",
        "pl" => "Polish",
        "gd" => "Scottish Gaelic",
        "cy" => "Welsh",
        "ur" => "Urdu",
        "ar" => "Arabic",
        "ro" => "Romanian",
        other => other,
    }
}

/// What Homeward made of a reply (`optout::Intent`'s stored names).
pub(super) fn intent(intent: &str) -> &'static str {
    match intent {
        "opt_out" => "Asked to stop: opted out",
        "opt_in" => "Asked to start again: opted back in",
        "start_like" => "Might want to start again: needs a person",
        "help" => "Asked for help: sent the help text",
        "who_is_this" => "Asked who this is: sent the help text",
        "wrong_number" => "Says it is the wrong number: texts paused",
        "stop_like" => "Might mean stop: needs a person",
        _ => "A reply for staff to read",
    }
}

/// What an attention item is about (`optout`'s kinds).
pub(super) fn attention(kind: &str) -> &'static str {
    match kind {
        "who_is_this" => "Asked who is texting",
        "start_like" => "Might want texts again",
        "wrong_number" => "Wrong number",
        "stop_like" => "Might want texts to stop",
        "no_delivery" => "No text delivered for a while",
        "reply" => "Reply to read",
        _ => "Needs a person",
    }
}

/// What an appointment is for, as staff say it.
pub(super) fn appointment(kind: crate::domain::AppointmentKind) -> &'static str {
    use crate::domain::AppointmentKind::*;
    match kind {
        Gp => "Doctor (GP)",
        AddictionService => "Drug and alcohol service",
        Housing => "Housing",
        JusticeSocialWork => "Justice social work",
        MentalHealth => "Mental health",
        Dentist => "Dentist",
        Pharmacy => "Pharmacy",
        Benefits => "Benefits",
        Other => "Something else",
    }
}

/// A template's name as staff read it: "gp_registration" is "GP registration".
pub(super) fn template(name: &str) -> String {
    let words: Vec<String> = name
        .split('_')
        .enumerate()
        .map(|(i, word)| match word {
            "gp" | "nhs" | "sms" => word.to_uppercase(),
            _ if i == 0 => {
                let mut chars = word.chars();
                chars
                    .next()
                    .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
            }
            _ => word.to_owned(),
        })
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_names_read_as_words_with_their_acronyms() {
        assert_eq!(super::template("gp_registration"), "GP registration");
        assert_eq!(super::template("nhs_inform"), "NHS inform");
        assert_eq!(super::template("week_checkin"), "Week checkin");
    }
}
