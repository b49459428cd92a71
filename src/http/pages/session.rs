//! Who is looking at a page, and whether a form really came from one of our
//! pages.
//!
//! A signed-in browser holds a random session id in an `HttpOnly`,
//! `SameSite=Lax` cookie (`Secure` when `server.public_base_url` is https);
//! the store keeps only its hash, with the user, a CSRF token and when it
//! was made and last used (see `accounts` for the timeouts). Before sign-in
//! the forms (sign in, setup, choosing a password) use a second cookie
//! holding a random CSRF token that the form must repeat.
//!
//! Every POST must also carry an `Origin` (or, failing that, a `Referer`)
//! naming this site: `server.public_base_url` where set, else the `Host`
//! the request was sent to. A missing or wrong token or origin is a 403 that
//! changes nothing.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

use super::error::PageError;
use crate::domain::{Secret, StaffSession};
use crate::http::AppState;

/// The cookie that carries a signed-in member of staff's session.
pub const SESSION_COOKIE: &str = "homeward_session";
pub(super) const FORM_COOKIE: &str = "homeward_form";

/// A signed-in staff member.
pub(super) struct Staff {
    pub session: StaffSession,
    /// The session id as the browser sent it.
    pub cookie: String,
}

impl Staff {
    /// A POST's CSRF token must be this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        same_secret(presented, &self.session.csrf_token)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let cookie = cookie(&parts.headers, SESSION_COOKIE).ok_or(PageError::SignIn)?;
        let session = state.accounts.session(&cookie).await?;
        let session = session.ok_or(PageError::SignIn)?;
        tracing::Span::current().record("org", tracing::field::display(session.user.org_id));
        Ok(Self { session, cookie })
    }
}

/// A signed-in admin: a staff member gets a 403 page.
pub(super) struct StaffAdmin(pub Staff);

impl FromRequestParts<AppState> for StaffAdmin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let staff = Staff::from_request_parts(parts, state).await?;
        match staff.session.user.role {
            crate::domain::Role::Admin => Ok(Self(staff)),
            crate::domain::Role::Staff => Err(PageError::Forbidden),
        }
    }
}

/// A POST from one of this site's own pages (checked before anything else).
pub(super) struct SameOrigin;

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let expected = match &state.public_base_url {
            Some(base) => origin_of(base),
            None => parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|host| format!("http://{host}")),
        };
        let sent = parts
            .headers
            .get(header::ORIGIN)
            .or_else(|| parts.headers.get(header::REFERER))
            .and_then(|v| v.to_str().ok())
            .and_then(origin_of);
        match (expected, sent) {
            (Some(expected), Some(sent)) if expected.eq_ignore_ascii_case(&sent) => Ok(Self),
            _ => Err(PageError::Forbidden),
        }
    }
}

/// The address a request came from, for throttling sign-ins ("unknown"
/// when the router is driven without a socket, as in page tests).
pub(super) struct PeerAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(Self(peer))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// A cookie's value from the request's `Cookie` headers. Written here
/// because reading two cookies by name is a few lines, and a cookie crate
/// would bring its own parser for a format this simple (RFC 6265 §5.4).
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, for the whole site,
/// `Secure` when the site is served over https. An empty value ends it.
pub(super) fn set_cookie(name: &str, value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let expiry = if value.is_empty() { "; Max-Age=0" } else { "" };
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{expiry}");
    HeaderValue::from_str(&cookie).expect("cookie values are URL-safe base64")
}

/// Whether cookies must be `Secure`.
pub(super) fn secure_cookies(state: &AppState) -> bool {
    state
        .public_base_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"))
}

/// The pre-sign-in form token: the one in the browser's cookie, or a new
/// one to set.
fn form_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, FORM_COOKIE) {
        Some(token) => (token, false),
        None => (Secret::generate().expose().to_owned(), true),
    }
}

/// A page whose form is used before sign-in (sign in, setup, choosing a
/// password), rendered with the browser's form token; a browser without one
/// is given one in a cookie.
pub(super) fn pre_sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    template: &'static str,
    mut values: serde_json::Value,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    let (token, fresh) = form_token(headers);
    values["csrf_token"] = token.clone().into();
    let page = super::render::Page {
        template,
        nav: "",
        session: None,
        trail: &[],
    };
    let mut response = page.render(values)?.into_response();
    if fresh {
        let cookie = set_cookie(FORM_COOKIE, &token, secure_cookies(state));
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// A pre-sign-in form must repeat the token in its cookie.
pub(super) fn check_form_token(headers: &HeaderMap, presented: &str) -> Result<(), PageError> {
    let expected = cookie(headers, FORM_COOKIE).ok_or(PageError::Forbidden)?;
    same_secret(presented, &expected)
}

fn same_secret(presented: &str, expected: &str) -> Result<(), PageError> {
    let same: bool = presented.as_bytes().ct_eq(expected.as_bytes()).into();
    if same && !expected.is_empty() {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; homeward_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, FORM_COOKIE), None);
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://sms.example.org/sign-in?x=1").as_deref(),
            Some("https://sms.example.org")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("null"), None);
    }

    #[test]
    fn cookies_are_http_only_and_secure_over_https() {
        let c = set_cookie(SESSION_COOKIE, "abc", true);
        assert_eq!(
            c,
            "homeward_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let gone = set_cookie(SESSION_COOKIE, "", false);
        assert_eq!(
            gone,
            "homeward_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
