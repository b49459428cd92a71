//! The headers every page and asset is sent with.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Scripts, styles and images from this origin only (the design system's
/// CSS uses one inline `data:` image); no inline script, no framing, forms
/// post only here.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) async fn secure(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut response = next.run(req).await;
    apply(response.headers_mut(), is_asset);
    response
}

pub(super) fn apply(headers: &mut axum::http::HeaderMap, is_asset: bool) {
    let cache = if is_asset {
        // Assets are public and change only with a new build.
        "public, max-age=3600"
    } else {
        // Pages hold personal data: no copy in any cache, the back button included.
        "no-store"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}
