//! Every SMS template in every language, rendered with its sample values,
//! with its encoding, length, reading ease and anything the template check
//! says (a translation awaiting review, say). Read-only: templates are
//! files, changed by whoever runs the daemon and checked at start-up.

use axum::extract::State;
use axum::response::Html;
use serde_json::{Value, json};

use super::error::PageError;
use super::labels;
use super::render::Page;
use super::session::Staff;
use super::sign_in::detail;
use crate::http::AppState;

pub(super) async fn show(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Html<String>, PageError> {
    let planner = state.ingest.planner();
    let catalogue = planner.catalogue();
    let report = planner.template_report();
    let templates: Vec<Value> = catalogue
        .templates()
        .map(|info| {
            let rendered = catalogue.render_template(info, &info.samples);
            let summary = report
                .summaries
                .iter()
                .find(|s| s.name == info.name && s.language == info.language);
            let notes: Vec<String> = report
                .problems
                .iter()
                .filter(|p| {
                    p.template == info.name.as_str() && p.language == info.language.as_str()
                })
                .map(|p| p.finding.to_string())
                .collect();
            let facts = summary.map(|s| {
                let segments = s.plain.segments;
                vec![
                    detail(
                        "Length",
                        format!(
                            "{segments} {} (at most {})",
                            if segments == 1 { "text" } else { "texts" },
                            s.budget
                        ),
                    ),
                    detail("Characters", s.plain.encoding.label()),
                    detail(
                        "Reading ease",
                        format!("{:.0}", s.readability.flesch_reading_ease),
                    ),
                ]
            });
            json!({
                "id": format!("{}-{}", info.name.as_str(), info.language.as_str()),
                "name": labels::template(info.name.as_str()),
                "file": info.name.as_str(),
                "language": labels::language(info.language.as_str()),
                "description": info.description,
                "text": rendered.map(|r| r.text).unwrap_or_default(),
                "facts": facts.unwrap_or_default(),
                "notes": notes,
            })
        })
        .collect();
    Page {
        template: "templates.html",
        nav: "templates",
        session: Some(&staff.session),
        trail: &[("/", "Today"), ("", "Templates")],
    }
    .render(json!({ "templates": templates }))
}
