//! The opt-outs, read-only (a person's page stops or allows their texts).

use axum::extract::State;
use axum::response::Html;
use serde_json::{Value, json};

use super::dates;
use super::error::PageError;
use super::render::Page;
use super::session::Staff;
use crate::domain::Person;
use crate::http::AppState;

fn person_cell(person: Option<&Person>) -> Value {
    match person {
        Some(p) => json!({
            "text": format!("{} ({})", p.first_name.as_str(), p.external_ref.as_str()),
            "href": format!("/people/{}", p.id),
        }),
        None => json!("Erased"),
    }
}

pub(super) async fn opt_outs(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Html<String>, PageError> {
    let zone = state.casework.zone();
    let opted_out = state.casework.opt_outs(staff.session.user.org_id).await?;
    let rows: Vec<Value> = opted_out
        .iter()
        .map(|(person, s)| {
            let how = match s.source.as_str() {
                "reply" => "They texted STOP".to_owned(),
                source if source.starts_with("staff") => "Added by staff".to_owned(),
                provider => format!("Reported by {provider}"),
            };
            json!([person_cell(Some(person)), dates::when(s.since, zone), how])
        })
        .collect();
    Page {
        template: "opt_outs.html",
        nav: "optouts",
        session: Some(&staff.session),
        trail: &[("/", "Today"), ("", "Opt-outs")],
    }
    .render(json!({ "rows": rows }))
}
