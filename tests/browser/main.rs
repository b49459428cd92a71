//! Browser tests: the real daemon on a random port, driven through real
//! headless Chromium (Debian's `chromium` and `chromium-driver`) with
//! WebDriver, with and without JavaScript. Every page is checked with
//! axe-core (a pinned copy in `tests/browser/axe/`) for WCAG 2.2 A and AA,
//! in both passes, and the browser's console must stay free of errors.
//!
//! Without chromedriver these tests skip with a message saying what to
//! install; with `CI` set they fail instead.
//!
//! Screenshots of each page go to `target/tmp/browser/`; with
//! `HOMEWARD_SCREENSHOTS=docs` the pages the README shows are also written
//! there.

mod first_day;
mod harness;
mod workers_day;
