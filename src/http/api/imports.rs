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

use crate::domain::Caller;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::ingest::csv_file::ImportKind;
use crate::ingest::{ImportError, Quiet};

pub async fn releases(
    state: State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    import(state, caller, headers, body, ImportKind::Releases).await
}

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
        .import(caller.org_id, kind, Cursor::new(body), &Quiet)
        .await
        .map_err(|e| match e {
            ImportError::File(e) => ApiError::Unprocessable(e.to_string()),
            e @ (ImportError::Store { .. } | ImportError::Plan(_)) => {
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
