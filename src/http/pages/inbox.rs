//! The two-way inbox: what needs a person, newest first, each item with the
//! conversation beside it; one item's page to reply to the person or mark
//! the item resolved.
//!
//! A reply form carries a one-time key made when the page is drawn, which
//! becomes the reply's idempotency key: a double click, or a refresh that
//! posts again, plans the text once.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::PageError;
use super::render::Page;
use super::session::{SameOrigin, Staff};
use super::sign_in::{FieldError, detail};
use super::{dates, labels};
use crate::actions::Resolution;
use crate::casework::{InboxItem, Said};
use crate::domain::{MessageBody, MessageId, MessageOrigin, Person, Secret};
use crate::http::AppState;
use crate::planner::{PlanError, ReplyRequest};
use crate::templates::TypedProblem;

#[derive(Deserialize)]
pub(super) struct Older {
    /// The page goes on after this item.
    after: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(Older { after }): Query<Older>,
) -> Result<Html<String>, PageError> {
    let zone = state.casework.zone();
    let org = staff.session.user.org_id;
    let later_page = after.is_some();
    let (inbox, next) = state.casework.inbox(org, after).await?;
    let items: Vec<Value> = inbox
        .iter()
        .map(|i| {
            json!({
                "href": format!("/attention/{}", i.item.id),
                "about": labels::attention(&i.item.kind),
                "who": who(i.person.as_ref()),
                "raised": dates::when(i.item.created_at, zone),
                "detail": i.item.detail,
                "opted_out": i.opted_out,
                "lines": lines(&i.conversation, i.person.as_ref(), zone),
            })
        })
        .collect();
    Page {
        template: "attention.html",
        nav: "attention",
        session: Some(&staff.session),
        trail: &[("/", "Today"), ("", "Needs attention")],
    }
    .render(json!({
        "items": items,
        "later_page": later_page,
        "next": next.map(|id| format!("/attention?after={id}")).unwrap_or_default(),
    }))
}

#[derive(Deserialize)]
pub(super) struct Done {
    /// The reply just planned, to confirm it.
    reply: Option<String>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Html<String>, PageError> {
    let item = find(&state, &staff, &id).await?;
    let mut sent = None;
    if let Some(reply) = done.reply.and_then(|r| r.parse::<MessageId>().ok()) {
        let org = staff.session.user.org_id;
        let text = state.casework.text(org, reply).await?;
        sent = text.map(|(m, _, _)| m.send_at);
    }
    let form = ReplyPage {
        key: Secret::generate().expose().to_owned(),
        sent,
        ..ReplyPage::default()
    };
    render_item(&state, &staff, &item, form)
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    body: String,
    confirm: Option<String>,
}

pub(super) async fn reply(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let item = find(&state, &staff, &id).await?;
    let key = form.form_key.trim();
    if key.is_empty() || key.len() > 100 {
        return Err(PageError::Forbidden);
    }
    let request = ReplyRequest {
        person: item.item.person_id,
        body: MessageBody::new(form.body.clone()),
        key: Some(key.to_owned()),
        confirmed: form.confirm.is_some(),
    };
    let (errors, ask_confirm) = match state.actions.reply(&staff.session.caller(), request).await {
        Ok(replied) => {
            let to = format!("/attention/{id}?reply={}", replied.message.id);
            return Ok(Redirect::to(&to).into_response());
        }
        Err(PlanError::TextRefused(problems)) => refusals(&problems),
        Err(PlanError::OptedOut) => (vec![FieldError::new("body", OPTED_OUT)], false),
        Err(e) => return Err(e.into()),
    };
    let form = ReplyPage {
        key: key.to_owned(),
        body: form.body,
        ask_confirm,
        errors,
        sent: None,
    };
    Ok(render_item(&state, &staff, &item, form)?.into_response())
}

const OPTED_OUT: &str = "This person has opted out, so no reply can be sent until they text START";

/// Each problem beside the text box, and whether the only thing wrong is
/// that the worker has not confirmed a text of several segments.
fn refusals(problems: &[TypedProblem]) -> (Vec<FieldError>, bool) {
    let errors = problems
        .iter()
        .map(|p| FieldError::new("body", p))
        .collect();
    let segments = |p: &TypedProblem| matches!(p, TypedProblem::Segments { .. });
    (errors, problems.iter().all(segments))
}

#[derive(Deserialize)]
pub(super) struct ResolveForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn resolve(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let caller = staff.session.caller();
    match state.actions.resolve(&caller, &id, &form.note).await? {
        Resolution::NotFound => Err(PageError::NotFound),
        // Resolved by a colleague meanwhile, or a second click: either way
        // the item is done, which is what the worker wanted.
        Resolution::Resolved | Resolution::AlreadyResolved => {
            Ok(Redirect::to(&format!("/attention/{id}")).into_response())
        }
    }
}

async fn find(state: &AppState, staff: &Staff, id: &str) -> Result<InboxItem, PageError> {
    let org = staff.session.user.org_id;
    let item = state.casework.inbox_item(org, id).await?;
    item.ok_or(PageError::NotFound)
}

/// The reply form as it is drawn: fresh, or again after a refusal.
#[derive(Default)]
struct ReplyPage {
    key: String,
    body: String,
    errors: Vec<FieldError>,
    /// The text is refused only for want of confirming its segments.
    ask_confirm: bool,
    /// A reply was just planned, to go at this time.
    sent: Option<chrono::DateTime<chrono::Utc>>,
}

fn render_item(
    state: &AppState,
    staff: &Staff,
    i: &InboxItem,
    form: ReplyPage,
) -> Result<Html<String>, PageError> {
    let zone = state.casework.zone();
    let now = state.clock.now();
    let about = labels::attention(&i.item.kind);
    let mut details = vec![
        detail("Raised", dates::when(i.item.created_at, zone)),
        detail("About", about),
        detail("Detail", &i.item.detail),
    ];
    if let Some(at) = i.item.resolved_at {
        details.push(detail("Resolved", dates::when(at, zone)));
        if let Some(note) = i.item.resolution.as_deref().filter(|n| !n.is_empty()) {
            details.push(detail("Note", note));
        }
    }
    let sent = form.sent.map(|at| match at <= now {
        true => "It is being sent now.".to_owned(),
        false => format!(
            "It is outside sending hours, so it will be sent on {}.",
            dates::when(at, zone)
        ),
    });
    let values = json!({
        "title": format!("{about}: {}", who(i.person.as_ref())),
        "label": "Needs attention",
        "person_href": i.person.as_ref().map(|p| format!("/people/{}", p.id)),
        "first_name": i.person.as_ref().map(|p| p.first_name.as_str()),
        "details": details,
        "lines": lines(&i.conversation, i.person.as_ref(), zone),
        "open": i.item.resolved_at.is_none(),
        "opted_out": i.opted_out,
        "form_key": form.key,
        "body": form.body,
        "errors": form.errors,
        "ask_confirm": form.ask_confirm,
        "sent": sent,
        "action": format!("/attention/{}", i.item.id),
    });
    Page {
        template: "attention_item.html",
        nav: "attention",
        session: Some(&staff.session),
        trail: &[
            ("/", "Today"),
            ("/attention", "Needs attention"),
            ("", about),
        ],
    }
    .render(values)
}

fn who(person: Option<&Person>) -> String {
    match person {
        Some(p) => format!("{} ({})", p.first_name.as_str(), p.external_ref.as_str()),
        None => "a person since erased".to_owned(),
    }
}

/// A conversation for the `conversation` macro.
fn lines(talk: &[Said], person: Option<&Person>, zone: chrono_tz::Tz) -> Vec<Value> {
    let them = person.map_or("They", |p| p.first_name.as_str());
    talk.iter()
        .map(|said| match said {
            Said::Them(inbound) => json!({
                "who": format!("{them} said"),
                "when": dates::when(inbound.received_at, zone),
                "text": inbound.body,
                "ours": false,
            }),
            Said::Us(m) => {
                let (state, colour) = labels::state(m.state);
                let who = match m.origin {
                    MessageOrigin::StaffReply => "Staff replied",
                    MessageOrigin::Reply { .. } => "Homeward answered",
                    _ => "Homeward sent",
                };
                json!({
                    "who": who,
                    "when": dates::when(m.send_at, zone),
                    "text": m.body.as_str(),
                    "state": state,
                    "colour": colour,
                    "href": format!("/texts/{}", m.id),
                    "ours": true,
                })
            }
        })
        .collect()
}
