//! `/v1/imports/*`: CSV uploads, with the same rules as `homeward import`.
//! The good rows are imported and every refused row is reported; a file that
//! cannot be read at all (wrong header, wrong delimiter) changes nothing.

use std::io::Cursor;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;

use crate::domain::{Actor, Caller};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::ingest::csv_file::ImportKind;
use crate::ingest::{ImportError, ImportSummary, Quiet};

/// Import a releases CSV: people and their liberation dates.
#[utoipa::path(
    post,
    path = "/imports/releases",
    operation_id = "import_releases",
    tag = "imports",
    request_body(
        content = String,
        content_type = "text/csv",
        description = "Comma-separated, UTF-8, with a header line. Required columns: external_ref, first_name, mobile, release_date; optional: language, establishment, status, event_ref.",
        example = json!("external_ref,first_name,mobile,release_date\nSPS-1001,Alex,07400 123456,2026-12-01\n")
    ),
    responses(
        (status = 200, description = "Imported: the good rows are in, every refused row is listed", body = ImportSummary),
        (status = 400, description = "The body could not be read", body = ErrorBody),
        (status = 413, description = "The file is larger than `server.max_import_bytes`", body = ErrorBody),
        (status = 415, description = "The body is not sent as text/csv", body = ErrorBody),
        (status = 422, description = "The file cannot be read at all (header, delimiter, encoding): nothing was imported", body = ErrorBody),
    )
)]
pub async fn releases(
    state: State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    import(state, caller, headers, body, ImportKind::Releases).await
}

/// Import an appointments CSV, for people already imported.
#[utoipa::path(
    post,
    path = "/imports/appointments",
    operation_id = "import_appointments",
    tag = "imports",
    request_body(
        content = String,
        content_type = "text/csv",
        description = "Comma-separated, UTF-8, with a header line. Required columns: external_ref, event_ref, date, time (local HH:MM), appointment_type; optional: place, status.",
        example = json!("external_ref,event_ref,date,time,appointment_type\nSPS-1001,gp-1,2026-12-03,14:30,gp\n")
    ),
    responses(
        (status = 200, description = "Imported: the good rows are in, every refused row is listed", body = ImportSummary),
        (status = 400, description = "The body could not be read", body = ErrorBody),
        (status = 413, description = "The file is larger than `server.max_import_bytes`", body = ErrorBody),
        (status = 415, description = "The body is not sent as text/csv", body = ErrorBody),
        (status = 422, description = "The file cannot be read at all (header, delimiter, encoding): nothing was imported", body = ErrorBody),
    )
)]
pub async fn appointments(
    state: State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    import(state, caller, headers, body, ImportKind::Appointments).await
}

async fn import(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    kind: ImportKind,
) -> Result<impl IntoResponse, ApiError> {
    require_csv(&headers)?;
    let body = body?;
    let summary = state
        .ingest
        .import(
            caller.org_id,
            kind,
            Cursor::new(body),
            &Quiet,
            Actor::from(&caller),
        )
        .await
        .map_err(|e| match e {
            ImportError::File(e) => ApiError::Unprocessable(e.to_string()),
            e @ (ImportError::Store { .. } | ImportError::Plan(_) | ImportError::Preview(_)) => {
                ApiError::Unexpected(e.into())
            }
        })?;
    tracing::info!(
        kind = kind.noun(),
        created = summary.created,
        updated = summary.updated,
        unchanged = summary.unchanged,
        rejected = summary.rejected,
        "import finished"
    );
    Ok(Json(summary))
}

fn require_csv(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("text/csv") || essence.eq_ignore_ascii_case("application/csv") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "send the file with 'Content-Type: text/csv' (got {content_type:?})"
        )))
    }
}
