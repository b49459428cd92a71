//! Page tests: the staff pages through the real router (no socket), read as
//! HTML. Browser tests in real Chromium are in `tests/browser.rs`.

mod admin;
mod harness;
mod inbox;
mod nudge;
mod pages;
mod person_forms;
mod sign_in;
mod stop_texts;
mod upload;

use harness::Page;

/// What every page must have: one `<h1>`, a `<title>` that begins with it,
/// a CSRF token in every form, and the headers that keep it private.
pub fn check_page(page: &Page) {
    let headings = page.texts("h1");
    assert_eq!(headings.len(), 1, "one h1 in {}", page.body);
    let title = page.text("title");
    let title = title.trim_start_matches("Error: ");
    assert!(
        title.starts_with(&headings[0]),
        "title {title:?} begins with h1 {:?}",
        headings[0]
    );
    let forms = page.texts("form[method=post]").len();
    let tokens = page.attrs("form[method=post] input[name=csrf_token]", "value");
    assert_eq!(tokens.len(), forms, "a CSRF token in every form that posts");
    assert!(
        tokens.iter().all(|t| t.len() >= 40),
        "tokens are long and random: {tokens:?}"
    );
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(
        page.header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert!(
        !page
            .header("content-security-policy")
            .contains("unsafe-inline")
    );
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("referrer-policy"), "same-origin");
    let scripts = page.texts("script").len();
    let external = page.attrs("script[src]", "src");
    assert_eq!(
        external.len(),
        scripts,
        "every script is a file: no inline script"
    );
    assert!(
        external.iter().all(|src| src.starts_with("/assets/")),
        "{external:?}"
    );
}
