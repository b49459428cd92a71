//! People: the list, finding someone, one person's whole story, one text.
//!
//! A search is a POST whose answer is the results page itself, so the
//! prison number or mobile typed never appears in a URL.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::about_person::person_name;
use super::error::PageError;
use super::person_forms::{Saved, saved_query};
use super::render::Page;
use super::session::{SameOrigin, Staff};
use super::sign_in::{FieldError, detail};
use super::{dates, labels};
use crate::casework::Story;
use crate::domain::{Event, EventDetail, Message, MessageId, MessageOrigin, Person, PersonId};
use crate::http::AppState;
use crate::store::Page as Paging;
use crate::templates::sms;

const PAGE_SIZE: u32 = 50;

#[derive(Deserialize)]
pub(super) struct After {
    after: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(after): Query<After>,
) -> Result<Html<String>, PageError> {
    let after = match after.after.as_deref() {
        Some(raw) => Some(raw.parse::<PersonId>().map_err(|_| PageError::NotFound)?),
        None => None,
    };
    let org = staff.session.user.org_id;
    let page = Paging {
        after,
        limit: PAGE_SIZE,
    };
    let people = state.casework.people(org, page).await?;
    let next = (people.len() == PAGE_SIZE as usize)
        .then(|| people.last().map(|p| format!("/people?after={}", p.id)))
        .flatten();
    render_people(&staff, &people, None, Vec::new(), next)
}

#[derive(Deserialize)]
pub(super) struct SearchForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    query: String,
}

pub(super) async fn search(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Form(form): Form<SearchForm>,
) -> Result<Html<String>, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    if form.query.trim().is_empty() {
        let error = FieldError::new(
            "query",
            "Enter a prison number, a first name or a mobile number",
        );
        return render_people(&staff, &[], None, vec![error], None);
    }
    let found = state
        .casework
        .search(staff.session.user.org_id, &form.query)
        .await?;
    let search = Search {
        query: &form.query,
        more: found.more,
    };
    render_people(&staff, &found.people, Some(search), Vec::new(), None)
}

/// A search as the page shows it back.
struct Search<'a> {
    query: &'a str,
    /// More people have the name than are shown.
    more: bool,
}

fn render_people(
    staff: &Staff,
    people: &[Person],
    search: Option<Search>,
    errors: Vec<FieldError>,
    next: Option<String>,
) -> Result<Html<String>, PageError> {
    let rows: Vec<Value> = people
        .iter()
        .map(|p| {
            let href = format!("/people/{}", p.id);
            json!([{ "text": p.external_ref.as_str(), "href": href }, p.first_name.as_str(), labels::language(p.language.as_str())])
        })
        .collect();
    let searched = search.is_some();
    let (query, more) = search.map_or(("", false), |s| (s.query, s.more));
    let values = json!({
        "rows": rows, "query": query, "errors": errors, "next": next.unwrap_or_default(), "searched": searched,
        "caption": if searched { "People found" } else { "Everyone, in the order they were added" },
        "more": more, "limit": crate::store::SEARCH_LIMIT,
    });
    let here = if searched { "Search results" } else { "People" };
    let trail = [("/", "Today"), ("", here)];
    Page {
        template: "people.html",
        nav: "people",
        session: Some(&staff.session),
        trail: &trail,
    }
    .render(values)
}

pub(super) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    saved: Query<Saved>,
) -> Result<Html<String>, PageError> {
    let id: PersonId = id.parse().map_err(|_| PageError::NotFound)?;
    let org = staff.session.user.org_id;
    let story = state
        .casework
        .story(org, id)
        .await?
        .ok_or(PageError::NotFound)?;
    let zone = state.casework.zone();
    let mut values = story_values(&story, zone);
    if let Some((title, body)) = saved_query(saved).message() {
        values["saved"] = json!({ "title": title, "body": body });
    }
    let name = person_name(&story.person);
    let trail = [("/", "Today"), ("/people", "People"), ("", name.as_str())];
    Page {
        template: "person.html",
        nav: "people",
        session: Some(&staff.session),
        trail: &trail,
    }
    .render(values)
}

fn story_values(story: &Story, zone: chrono_tz::Tz) -> Value {
    let p = &story.person;
    let texts: Vec<Value> = story
        .messages
        .iter()
        .map(|m| text_row(m, story, zone))
        .collect();
    let replies: Vec<Value> = story
        .replies
        .iter()
        .map(|r| {
            json!([
                dates::when(r.received_at, zone),
                r.body,
                labels::intent(&r.intent)
            ])
        })
        .collect();
    let attention: Vec<Value> = story
        .attention
        .iter()
        .map(|a| {
            let status = if a.resolved_at.is_some() {
                "Resolved"
            } else {
                "Open"
            };
            json!([
                dates::when(a.created_at, zone),
                labels::attention(&a.kind),
                a.detail,
                status
            ])
        })
        .collect();
    json!({
        "id": p.id.to_string(),
        "reference": p.external_ref.as_str(),
        "first_name": p.first_name.as_str(),
        "details": [
            detail("Prison number", p.external_ref.as_str()),
            detail("First name", p.first_name.as_str()),
            detail("Mobile", p.mobile.as_e164()),
            detail("Language", labels::language(p.language.as_str())),
        ],
        "opted_out": story.opted_out_since.map(|at| dates::when(at, zone)),
        "paused": story.paused_since.map(|at| dates::when(at, zone)),
        "events": story.events.iter().map(|e| event_row(e, zone)).collect::<Vec<_>>(),
        "texts": texts,
        "replies": replies,
        "attention": attention,
        "goals": story.goals.iter().map(|g| goal_words(g)).collect::<Vec<_>>(),
    })
}

fn event_row(event: &Event, zone: chrono_tz::Tz) -> Value {
    match &event.detail {
        EventDetail::Liberation {
            date,
            establishment,
            status,
        } => json!([
            { "text": "Release", "href": event_href(event) },
            dates::day(*date),
            establishment.as_ref().map_or("", |e| e.as_str()),
            capitalised(status.as_str()),
        ]),
        EventDetail::Appointment {
            starts_at,
            place,
            appointment_type,
            status,
        } => json!([
            {
                "text": format!("Appointment: {}", labels::appointment(*appointment_type)),
                "href": event_href(event),
            },
            dates::when(*starts_at, zone),
            place.as_ref().map_or("", |p| p.as_str()),
            capitalised(status.as_str()),
        ]),
    }
}

/// Where a release or appointment is moved or cancelled.
fn event_href(event: &Event) -> String {
    format!("/people/{}/events/{}", event.person_id, event.id)
}

/// "expected" as a sentence starts: "Expected".
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn text_row(message: &Message, story: &Story, zone: chrono_tz::Tz) -> Value {
    // A waiting text to a number that opted out will be stopped when its
    // time comes (or sent, if the person texts START first); an answer to
    // the person's own text, such as the STOP confirmation, still goes.
    let answer = matches!(message.origin, MessageOrigin::Reply { .. });
    let (label, colour) = match (message.state.is_waiting(), story.opted_out_since) {
        (true, Some(_)) if !answer => ("Stopped: opted out", "orange"),
        _ => labels::state(message.state),
    };
    let upcoming = message.state.is_waiting() && message.send_at > story.now;
    let when = dates::when(message.send_at, zone);
    let when = if upcoming {
        format!("{when} (upcoming)")
    } else {
        when
    };
    let href = format!("/texts/{}", message.id);
    json!([
        { "text": when, "href": href },
        origin_words(&message.origin, message.template.as_str()),
        { "tag": label, "colour": colour },
    ])
}

fn origin_words(origin: &MessageOrigin, template: &str) -> String {
    let typed = template == crate::domain::TemplateName::typed().as_str();
    let template = labels::template(template);
    match origin {
        MessageOrigin::Rule { .. } => format!("Reminder: {template}"),
        MessageOrigin::Nudge if typed => "Text written by staff".to_owned(),
        MessageOrigin::Nudge => format!("Nudge: {template}"),
        MessageOrigin::Reply { .. } => format!("Answer to a reply: {template}"),
        MessageOrigin::StaffReply => "Reply from staff".to_owned(),
    }
}

pub(super) fn goal_words(goal: &str) -> String {
    match goal {
        "gp_registered" => "Registered with a GP".to_owned(),
        other => other.replace('_', " "),
    }
}

pub(super) async fn text(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let id: MessageId = id.parse().map_err(|_| PageError::NotFound)?;
    let org = staff.session.user.org_id;
    let (message, person, transitions) = state
        .casework
        .text(org, id)
        .await?
        .ok_or(PageError::NotFound)?;
    let zone = state.casework.zone();
    let analysis = sms::analyse(message.body.as_str());
    let (label, colour) = labels::state(message.state);
    let history: Vec<Value> = transitions
        .iter()
        .map(|t| {
            let (to, _) = labels::state(t.to);
            json!([dates::when(t.at, zone), to, t.reason])
        })
        .collect();
    let values = json!({
        "person_href": format!("/people/{}", person.id),
        "reference": person.external_ref.as_str(),
        "first_name": person.first_name.as_str(),
        "body": message.body.as_str(),
        "state": label,
        "colour": colour,
        "what": origin_words(&message.origin, message.template.as_str()),
        "send_at": dates::when(message.send_at, zone),
        "encoding": analysis.encoding.label(),
        "characters": analysis.characters,
        "details": [
            detail("Encoding", analysis.encoding.label()),
            detail("Characters", analysis.characters),
            detail("Parts (SMS segments)", analysis.segments),
        ],
        "history": history,
    });
    let name = person_name(&person);
    let href = format!("/people/{}", person.id);
    let trail = [
        ("/", "Today"),
        ("/people", "People"),
        (href.as_str(), name.as_str()),
        ("", "Text"),
    ];
    Page {
        template: "text.html",
        nav: "people",
        session: Some(&staff.session),
        trail: &trail,
    }
    .render(values)
}
