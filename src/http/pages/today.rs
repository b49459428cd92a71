//! Today: who is released today and tomorrow, what goes out today, the last
//! week, what needs a person, and how sending is going.

use axum::extract::State;
use axum::response::Html;
use serde_json::{Value, json};

use super::error::PageError;
use super::render::Page;
use super::session::Staff;
use super::{dates, labels};
use crate::domain::{Event, EventDetail, MessageState, Person};
use crate::http::AppState;

pub(super) async fn show(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Html<String>, PageError> {
    let today = state.casework.today(staff.session.user.org_id).await?;
    let tomorrow = today.today.succ_opt().unwrap_or(today.today);
    let providers: Vec<Value> = today
        .providers
        .iter()
        .map(|p| {
            let (label, colour) = labels::provider(p.state);
            json!([p.name, { "tag": label, "colour": colour }])
        })
        .collect();
    let values = json!({
        "today": dates::day(today.today),
        "tomorrow": dates::day(tomorrow),
        "released_today": released(&today.released_today),
        "released_tomorrow": released(&today.released_tomorrow),
        "due_today": counts(&today.due_today),
        "due_total": today.due_today.iter().map(|(_, n)| n).sum::<u64>(),
        "last_week": counts(&today.last_week),
        "open_attention": today.open_attention,
        "providers": providers,
        "queue_depth": today.queue_depth,
    });
    Page {
        template: "today.html",
        nav: "today",
        session: Some(&staff.session),
        trail: &[],
    }
    .render(values)
}

/// Table rows: the person (a link to their page), and where from.
pub(super) fn released(rows: &[(Person, Event)]) -> Vec<Value> {
    rows.iter()
        .map(|(person, event)| {
            let from = match &event.detail {
                EventDetail::Liberation { establishment, .. } => {
                    establishment.as_ref().map_or("", |e| e.as_str()).to_owned()
                }
                EventDetail::Appointment { .. } => String::new(),
            };
            let href = format!("/people/{}", person.id);
            json!([{ "text": person.external_ref.as_str(), "href": href }, person.first_name.as_str(), from])
        })
        .collect()
}

/// Table rows: a state's words as a tag, and how many, in life-cycle order.
pub(super) fn counts(counts: &[(MessageState, u64)]) -> Vec<Value> {
    let mut counts = counts.to_vec();
    counts.sort_by_key(|(state, _)| *state as u8);
    counts
        .iter()
        .map(|(state, n)| {
            let (label, colour) = labels::state(*state);
            json!([{ "tag": label, "colour": colour }, n])
        })
        .collect()
}
