//! Uploading a releases or appointments file: choose it, see the check page
//! (who will be added, updated or left as they are, the rows refused and
//! why, the texts it will plan with a sample of each), then Import or
//! Cancel. Nothing is stored before Import (see `ingest::upload`).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Multipart, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::PageError;
use super::render::Page;
use super::session::{SameOrigin, Staff};
use super::sign_in::{FieldError, detail};
use super::{dates, labels};
use crate::http::AppState;
use crate::ingest::csv_file::ImportKind;
use crate::ingest::{ImportError, ImportSummary, Quiet, UploadCheck, UploadError};

const TRAIL: &[(&str, &str)] = &[("/", "Today"), ("", "Upload a file")];

pub(super) async fn form(staff: Staff) -> Result<Html<String>, PageError> {
    render_form(&staff, "", Vec::new())
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf_token: String,
    kind: String,
    file: Vec<u8>,
}

pub(super) async fn check(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let upload = read(multipart).await?;
    staff.check_csrf(&upload.csrf_token)?;
    let kind = match upload.kind.as_str() {
        "releases" => Some(ImportKind::Releases),
        "appointments" => Some(ImportKind::Appointments),
        _ => None,
    };
    let mut errors = Vec::new();
    if kind.is_none() {
        errors.push(FieldError::new("kind", "Choose what the file holds"));
    }
    if upload.file.is_empty() {
        errors.push(FieldError::new("file", "Choose a CSV file to upload"));
    }
    let (Some(kind), true) = (kind, errors.is_empty()) else {
        return Ok(render_form(&staff, &upload.kind, errors)?.into_response());
    };
    let user = &staff.session.user;
    match state
        .ingest
        .check_upload(user.org_id, user.id, kind, upload.file)
        .await
    {
        Ok(check) => Ok(render_check(&state, &staff, &check)?.into_response()),
        Err(ImportError::File(e)) => {
            let error = FieldError::new("file", format!("The file cannot be read: {e}"));
            Ok(render_form(&staff, &upload.kind, vec![error])?.into_response())
        }
        Err(e) => Err(PageError::internal(e)),
    }
}

#[derive(Deserialize)]
pub(super) struct Confirm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    upload_id: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    action: String,
}

pub(super) async fn confirm(
    State(state): State<AppState>,
    _: SameOrigin,
    staff: Staff,
    Form(form): Form<Confirm>,
) -> Result<Response, PageError> {
    staff.check_csrf(&form.csrf_token)?;
    let user = &staff.session.user;
    if form.action != "import" {
        state
            .ingest
            .cancel_upload(user.org_id, user.id, &form.upload_id);
        return Ok(Redirect::to("/upload").into_response());
    }
    let held = (form.upload_id.as_str(), form.digest.as_str());
    match state
        .ingest
        .import_upload(user.org_id, user.id, held, &Quiet)
        .await
    {
        Ok(summary) => Ok(render_done(&staff, &summary)?.into_response()),
        Err(e @ (UploadError::Gone | UploadError::Changed)) => {
            let error = FieldError::new("file", e);
            Ok(render_form(&staff, "", vec![error])?.into_response())
        }
        Err(UploadError::Import(e)) => Err(PageError::internal(e)),
    }
}

/// The form's fields; the file is read whole (the route's body limit is
/// `server.max_import_bytes`, as for the API's imports).
async fn read(mut multipart: Multipart) -> Result<Upload, PageError> {
    let bad = |_| PageError::Forbidden;
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf_token" => upload.csrf_token = field.text().await.map_err(bad)?,
            "kind" => upload.kind = field.text().await.map_err(bad)?,
            "file" => upload.file = field.bytes().await.map_err(bad)?.to_vec(),
            _ => {}
        }
    }
    Ok(upload)
}

fn render_form(
    staff: &Staff,
    kind: &str,
    errors: Vec<FieldError>,
) -> Result<Html<String>, PageError> {
    let page = Page {
        template: "upload.html",
        nav: "upload",
        session: Some(&staff.session),
        trail: TRAIL,
    };
    page.render(json!({ "title": "Upload a file", "kind": kind, "errors": errors }))
}

fn render_check(
    state: &AppState,
    staff: &Staff,
    check: &UploadCheck,
) -> Result<Html<String>, PageError> {
    let noun = check.kind.noun();
    let problems: Vec<Value> = check
        .problems
        .iter()
        .map(|p| {
            let reason = match &p.error.value {
                Some(value) => format!("{:?} {}", value, p.error.reason),
                None => p.error.reason.clone(),
            };
            json!([p.line.to_string(), p.error.field, reason])
        })
        .collect();
    let values = json!({
        "title": format!("Check the {noun} file"),
        "label": "Upload a file",
        "counts": [
            detail(&people_or_events(check.kind, "to add"), check.created),
            detail(&people_or_events(check.kind, "to update"), check.updated),
            detail("Rows already up to date", check.unchanged),
            detail("Rows that cannot be imported", check.rejected()),
        ],
        "problems": problems,
        "texts": text_groups(state, check),
        "importable": check.created + check.updated + check.unchanged > 0,
        "upload_id": check.id,
        "digest": check.digest,
    });
    let trail = [
        ("/", "Today"),
        ("/upload", "Upload a file"),
        ("", "Check the file"),
    ];
    Page {
        template: "upload_check.html",
        nav: "upload",
        session: Some(&staff.session),
        trail: &trail,
    }
    .render(values)
}

fn people_or_events(kind: ImportKind, what: &str) -> String {
    match kind {
        ImportKind::Releases => format!("People {what}"),
        ImportKind::Appointments => format!("Appointments {what}"),
    }
}

/// One row per template: how many texts, when the first goes, and one of
/// them as it will read.
fn text_groups(state: &AppState, check: &UploadCheck) -> Vec<Value> {
    let zone = state.casework.zone();
    let mut groups: BTreeMap<&str, (usize, &crate::planner::preview::PreviewRow)> = BTreeMap::new();
    for row in &check.texts {
        groups.entry(row.template.as_str()).or_insert((0, row)).0 += 1;
    }
    groups
        .into_iter()
        .map(|(template, (count, first))| {
            json!({
                "template": labels::template(template),
                "count": count,
                "first": dates::when(first.send_at_utc, zone),
                "state": labels::state(first.state).0,
                "sample": first.text.as_str(),
                "segments": first.segments,
            })
        })
        .collect()
}

fn render_done(staff: &Staff, summary: &ImportSummary) -> Result<Html<String>, PageError> {
    let values = json!({
        "title": "Import complete",
        "label": "Upload a file",
        "counts": [
            detail("Added", summary.created),
            detail("Updated", summary.updated),
            detail("Already up to date", summary.unchanged),
            detail("Rows not imported", summary.rejected),
            detail("Texts planned", summary.planned.created),
            detail("Texts moved", summary.planned.updated),
            detail("Texts cancelled", summary.planned.cancelled),
        ],
    });
    let trail = [
        ("/", "Today"),
        ("/upload", "Upload a file"),
        ("", "Import complete"),
    ];
    Page {
        template: "upload_done.html",
        nav: "upload",
        session: Some(&staff.session),
        trail: &trail,
    }
    .render(values)
}
