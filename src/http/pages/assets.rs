//! The design system's CSS, script and icons, and Homeward's own, compiled
//! into the binary (see `assets/README.md` for versions and updating).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::PageError;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "sgds/css/design-system.min.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/sgds/css/design-system.min.css"),
    ),
    (
        "sgds/scripts/design-system.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/sgds/scripts/design-system.js"),
    ),
    (
        "sgds/images/icons/icons.stack.svg",
        "image/svg+xml",
        include_bytes!("assets/sgds/images/icons/icons.stack.svg"),
    ),
    (
        "homeward.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/homeward.js"),
    ),
    (
        "homeward-nojs.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/homeward-nojs.css"),
    ),
    (
        "homeward.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/homeward.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("assets/favicon.svg"),
    ),
];

pub(super) async fn serve(Path(path): Path<String>) -> Result<Response, PageError> {
    let (_, kind, body) = FILES
        .iter()
        .find(|(name, _, _)| *name == path)
        .ok_or(PageError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, *kind)], *body).into_response())
}
