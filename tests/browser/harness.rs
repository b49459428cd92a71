//! What the browser tests drive: a daemon of their own, chromedriver, and a
//! browser that fills forms, presses buttons and checks every page it
//! lands on (axe-core, the console, a screenshot).

#[path = "../support/quiet_daemon.rs"]
pub mod quiet_daemon;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use homeward::config::Settings;
use homeward::domain::{Role, TokenSecret};
use homeward::startup::{self, Application};
use homeward::store::NewToken;
use serde_json::{Value, json};

const AXE: &str = include_str!("axe/axe.min.js");
pub const PASSWORD: &str = "tractor purple harbour";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JavaScript {
    On,
    Off,
}

/// The path to chromedriver, or `None` (after saying what to install) when
/// it is missing outside CI.
pub fn chromedriver() -> Option<PathBuf> {
    let found = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        let what = "chromedriver is not installed: apt-get install -y chromium chromium-driver";
        assert!(std::env::var_os("CI").is_none(), "{what}");
        eprintln!("skipping the browser tests: {what}");
    }
    found
}

pub struct Daemon {
    pub base: String,
    pub setup_link: String,
    pub settings: Settings,
    pub shutdown: tokio_util::sync::CancellationToken,
    pub _dir: tempfile::TempDir,
}

impl Daemon {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A daemon with more settings on top of the quiet test ones.
    pub async fn start_with(extra: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let settings = quiet_daemon::settings_with(dir.path(), &extra);
        let app = Application::build(&settings).await.unwrap();
        let base = format!("http://{}", app.address());
        let token = app
            .setup_token()
            .expect("a first run prints a setup link")
            .to_owned();
        let shutdown = app.shutdown_token();
        tokio::spawn(app.run_until_stopped());
        Self {
            setup_link: format!("{base}/setup?token={token}"),
            base,
            settings,
            shutdown,
            _dir: dir,
        }
    }

    /// People released today (Europe/London), through the API.
    pub async fn import_released_today(&self, people: &[&str]) {
        let store = startup::open_store(&self.settings.database).await.unwrap();
        let org = store.orgs().await.unwrap()[0].id;
        let secret = TokenSecret::generate();
        let token = NewToken {
            org_id: org,
            hash: secret.hash(),
            role: Role::Staff,
            label: None,
        };
        store
            .create_token(&token, chrono::Utc::now())
            .await
            .unwrap();
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::London)
            .date_naive();
        let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
        for (i, person) in people.iter().enumerate() {
            csv.push_str(&format!("{person},07400 {:06},{today}\n", 123_450 + i));
        }
        let response = reqwest::Client::new()
            .post(format!("{}/v1/imports/releases", self.base))
            .bearer_auth(secret.expose())
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "import: {}",
            response.status()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A chromedriver of our own on a free port, killed when dropped.
pub struct Driver {
    pub url: String,
    pub child: tokio::process::Child,
}

impl Driver {
    pub async fn start(path: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{url}/status")).await.is_ok() {
                return Self { url, child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {url}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// How many times (every 50 ms) to look for what a page should show: on
/// CI, four browsers and their daemons share two cores, and a form's answer
/// can take longer than five seconds to load.
const LOOKS: usize = 300;

pub struct Browser {
    pub client: Client,
    pub js: JavaScript,
}

impl Browser {
    pub async fn open(driver: &Driver, js: JavaScript) -> Self {
        let options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2200"],
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a Chromium session");
        // Tall enough that every page fits: a click needs no scrolling, and
        // a screenshot shows the whole page.
        client.set_window_size(1280, 2200).await.unwrap();
        let browser = Self { client, js };
        if js == JavaScript::Off {
            browser.scripts(false).await;
        }
        browser
    }

    pub async fn visit(&self, url: &str, _what: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn fill(&self, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            let input = self
                .client
                .find(Locator::Css(&format!("[name='{name}']")))
                .await
                .unwrap();
            input.clear().await.unwrap();
            input.send_keys(value).await.unwrap();
        }
    }

    /// Press the button with these words, as a person would.
    pub async fn press(&self, words: &str) {
        let xpath = format!("//button[normalize-space()='{words}']");
        self.click(Locator::XPath(&xpath)).await;
    }

    /// Two clicks in quick succession, as an impatient person makes them.
    pub async fn double_click(&self, xpath: &str) {
        use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
        let element = self.client.find(Locator::XPath(xpath)).await.unwrap();
        let mut clicks = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
            element,
            duration: None,
            x: 0.0,
            y: 0.0,
        });
        for _ in 0..2 {
            clicks = clicks
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                })
                .then(PointerAction::Up {
                    button: MOUSE_BUTTON_LEFT,
                });
        }
        self.client.perform_actions(clicks).await.unwrap();
    }

    pub async fn follow(&self, words: &str) {
        self.click(Locator::LinkText(words)).await;
    }

    pub async fn click(&self, locator: Locator<'_>) {
        let element = self.client.find(locator).await.unwrap();
        if self.js == JavaScript::On {
            // With JavaScript the design system pins a "Back to top" link to
            // the bottom of the window, over whatever is there.
            let args = vec![serde_json::to_value(&element).unwrap()];
            let centre = "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})";
            self.client.execute(centre, args).await.unwrap();
        }
        element.click().await.unwrap();
    }

    /// The "Sign out" button in the site navigation (on a wide window; the
    /// mobile menu holds a second, hidden one).
    pub async fn sign_out(&self) {
        let button = ".ds_site-header__navigation form[action='/sign-out'] button";
        self.click(Locator::Css(button)).await;
    }

    pub async fn main_text(&self) -> String {
        self.client
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The page's one heading is `heading`; then check it as a page.
    pub async fn expect_heading(&self, heading: &str, name: &str) {
        // The click that led here may still be loading the page.
        let mut seen = String::new();
        for _ in 0..LOOKS {
            seen = match self.client.find(Locator::Css("h1")).await {
                Ok(h1) => h1.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if seen == heading {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen, heading, "the heading of {name}");
        let title = self.client.title().await.unwrap();
        assert!(
            title.trim_start_matches("Error: ").starts_with(heading),
            "title {title:?}"
        );
        self.screenshot(name).await;
        self.check_accessibility(name).await;
        self.check_console(name).await;
    }

    /// Wait for an element the page should now show (after a form that
    /// answers with the same heading, say); its text.
    pub async fn wait_for(&self, css: &str) -> String {
        for _ in 0..LOOKS {
            if let Ok(found) = self.client.find(Locator::Css(css)).await {
                return found.text().await.unwrap_or_default();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {css} on the page");
    }

    /// Wait until the element shows `text` (the page before it may have had
    /// the same element with other words).
    pub async fn wait_for_text(&self, css: &str, text: &str) {
        let mut seen = String::new();
        for _ in 0..LOOKS {
            if let Ok(found) = self.client.find(Locator::Css(css)).await {
                seen = found.text().await.unwrap_or_default();
                if seen == text {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen, text, "{css}");
    }

    /// Choose a radio button or a checkbox by its id, through its label as
    /// a person would.
    pub async fn choose(&self, id: &str) {
        self.click(Locator::Css(&format!("label[for='{id}']")))
            .await;
    }

    /// Put a file in a file input.
    pub async fn attach(&self, name: &str, file: &Path) {
        let input = self
            .client
            .find(Locator::Css(&format!("input[type=file][name='{name}']")))
            .await
            .unwrap();
        input.send_keys(&file.display().to_string()).await.unwrap();
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let suffix = if self.js == JavaScript::On {
            "js"
        } else {
            "no-js"
        };
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}-{suffix}.png")), &png).unwrap();
        if let (Ok(docs), JavaScript::On, true) = (
            std::env::var("HOMEWARD_SCREENSHOTS"),
            self.js,
            [
                "today",
                "person",
                "upload-check",
                "nudge-preview",
                "reply-planned",
            ]
            .contains(&name),
        ) {
            std::fs::write(Path::new(&docs).join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// Turn the page's scripts off (or back on). Without JavaScript, the
    /// page is loaded with scripts off, as a browser without JavaScript
    /// shows it (its `<noscript>` too), and scripts are turned on only for
    /// the moment axe-core runs over that page as it stands: Chromium's own
    /// "JavaScript off" setting would also stop DevTools from running axe.
    pub async fn scripts(&self, on: bool) {
        let params = json!({ "value": !on });
        let cmd = "Emulation.setScriptExecutionDisabled";
        self.client.issue_cmd(Cdp { cmd, params }).await.unwrap();
    }

    /// axe-core's WCAG 2.2 A and AA rules find nothing (run through the
    /// DevTools protocol), on the page as it stands with or without
    /// JavaScript; and the page's own scripts ran only with it.
    pub async fn check_accessibility(&self, name: &str) {
        if self.js == JavaScript::Off {
            self.scripts(true).await;
        }
        let scripted = self
            .evaluate("document.body.classList.contains('js-enabled')")
            .await;
        assert_eq!(
            scripted,
            json!(self.js == JavaScript::On),
            "page scripts ran on {name}"
        );
        self.evaluate(AXE).await;
        let run = "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                      .then(r => r.violations.map(v => ({ id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) })))
                      .catch(e => [{ id: 'axe-error', help: String(e), nodes: [] }])";
        let violations = self.evaluate(run).await;
        if self.js == JavaScript::Off {
            self.scripts(false).await;
        }
        assert_eq!(violations, json!([]), "axe on {name} ({:?})", self.js);
    }

    /// The value of a script evaluated through DevTools, promises awaited.
    pub async fn evaluate(&self, expression: &str) -> Value {
        let params =
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true });
        let answer = self
            .client
            .issue_cmd(Cdp {
                cmd: "Runtime.evaluate",
                params,
            })
            .await
            .unwrap();
        assert!(answer.get("exceptionDetails").is_none(), "{answer}");
        answer["result"]["value"].clone()
    }

    /// No errors in the browser's console (scripts, CSP refusals, 404s).
    pub async fn check_console(&self, name: &str) {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap();
        let errors: Vec<&Value> = log
            .as_array()
            .map(|entries| entries.iter().filter(|e| e["level"] == "SEVERE").collect())
            .unwrap_or_default();
        assert!(
            errors.is_empty(),
            "console errors on {name} ({:?}): {errors:?}",
            self.js
        );
    }
}

/// chromedriver's log endpoint (not in the W3C protocol, so not in fantoccini).
#[derive(Debug)]
pub struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_owned()),
        )
    }
}

/// A DevTools protocol command, through chromedriver's own endpoint.
#[derive(Debug)]
pub struct Cdp {
    pub cmd: &'static str,
    pub params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}
