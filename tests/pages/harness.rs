//! The real app's router, driven without a socket, and a browser-like
//! client that keeps cookies, reads the HTML and fills in forms.

#[path = "../support/quiet_daemon.rs"]
mod quiet_daemon;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use homeward::accounts::Accounts;
use homeward::clock::ManualClock;
use homeward::domain::{Actor, OrgId, Role, TokenSecret};
use homeward::startup::{self, Application};
use homeward::store::{NewToken, Store};
use scraper::{Html, Selector};
use tempfile::TempDir;
use tower::ServiceExt;

pub const HOST: &str = "homeward.test";
pub const ORIGIN: &str = "http://homeward.test";
pub const PASSWORD: &str = "tractor purple harbour";
/// A mobile libphonenumber accepts; only ever "sent" to the log provider.
pub const MOBILE: &str = "07400 123456";

pub struct Pages {
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub accounts: Accounts,
    pub setup_token: Option<String>,
    pub welcome: String,
    _dir: TempDir,
}

impl Pages {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        // HOMEWARD_TEST_LOG=debug (a filter) shows the app's log beside a failure.
        if let Ok(filter) = std::env::var("HOMEWARD_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let now = "2026-12-08T09:00:00Z".parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let settings = quiet_daemon::settings_with(dir.path(), extra);
        let clock = Arc::new(ManualClock::new(now));
        let app = Application::build_with_clock(&settings, clock.clone())
            .await
            .unwrap();
        let (store, vault) = startup::open_store_and_vault(&settings.database)
            .await
            .unwrap();
        let accounts = Accounts::new(store.clone(), clock.clone(), vault, settings.staff.clone());
        Self {
            router: app.router(),
            setup_token: app.setup_token().map(str::to_owned),
            welcome: app.welcome(),
            clock,
            store,
            accounts,
            _dir: dir,
        }
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            pages: self,
            cookies: HashMap::new(),
        }
    }

    /// The first admin, made through the setup page: a signed-in browser.
    pub async fn admin(&self) -> Browser<'_> {
        let mut browser = self.browser();
        let path = format!("/setup?token={}", self.setup_token.as_ref().unwrap());
        let form = browser.get(&path).await;
        let done = browser
            .submit(
                &form,
                &path,
                &[
                    ("organisation", "Throughcare North"),
                    ("email", "admin@example.org"),
                    ("new_password", PASSWORD),
                    ("confirm_password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        browser
    }

    /// The first admin, signed in, with their organisation, which has
    /// imported `people` (reference, first name, mobile) released today.
    pub async fn admin_with(&self, people: &[(&str, &str, &str)]) -> (Browser<'_>, OrgId) {
        let browser = self.admin().await;
        let org = self.org_of("admin@example.org").await;
        if !people.is_empty() {
            self.import(org, people).await;
        }
        (browser, org)
    }

    /// An organisation's id by the admin's account.
    pub async fn org_of(&self, email: &str) -> OrgId {
        let email = homeward::domain::Email::parse(email).unwrap();
        self.store
            .user_by_email(&email)
            .await
            .unwrap()
            .unwrap()
            .org_id
    }

    /// A staff member of `org` who chose their password and signed in.
    pub async fn member(&self, org: OrgId, email: &str, role: Role) -> Browser<'_> {
        let (_, link) = self
            .accounts
            .invite(org, email, role, Actor::Cli)
            .await
            .unwrap();
        let mut browser = self.browser();
        let path = format!("/set-password?token={}", link.expose());
        let form = browser.get(&path).await;
        let fields = [("new_password", PASSWORD), ("confirm_password", PASSWORD)];
        let done = browser.submit(&form, &path, &fields).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        browser.sign_in(email, PASSWORD).await;
        browser
    }

    /// Import a releases file for `org` through the API, as an integration
    /// would: the people are released on the clock's today.
    pub async fn import(&self, org: OrgId, rows: &[(&str, &str, &str)]) {
        let secret = TokenSecret::generate();
        let token = NewToken {
            org_id: org,
            hash: secret.hash(),
            role: Role::Staff,
            label: None,
        };
        self.store
            .create_token(&token, chrono::Utc::now())
            .await
            .unwrap();
        let today = homeward::clock::Clock::now(self.clock.as_ref())
            .with_timezone(&chrono_tz::Europe::London)
            .date_naive();
        let mut csv = String::from("external_ref,first_name,mobile,release_date\n");
        for (reference, name, mobile) in rows {
            csv.push_str(&format!("{reference},{name},{mobile},{today}\n"));
        }
        let request = Request::post("/v1/imports/releases")
            .header(header::AUTHORIZATION, format!("Bearer {}", secret.expose()))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(csv))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        assert!(
            response.status().is_success(),
            "import: {}",
            response.status()
        );
    }
}

/// An answer, with its HTML parsed.
pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// The text of every element matching `selector`, whitespace collapsed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = Selector::parse(selector).unwrap();
        self.html()
            .select(&selector)
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    pub fn text(&self, selector: &str) -> String {
        self.texts(selector).join(" ")
    }

    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let selector = Selector::parse(selector).unwrap();
        self.html()
            .select(&selector)
            .filter_map(|e| e.value().attr(attr).map(str::to_owned))
            .collect()
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }

    /// The value of the named hidden input in the first form that has one.
    pub fn csrf(&self) -> String {
        self.attrs("input[name=csrf_token]", "value")
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
}

pub struct Browser<'a> {
    pages: &'a Pages,
    pub cookies: HashMap<String, String>,
}

impl Browser<'_> {
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.request("GET", path).body(Body::empty()).unwrap();
        self.send(request).await
    }

    /// Post `fields` with the CSRF token `form` carries, from this site.
    pub async fn submit(&mut self, form: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = form.csrf();
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all, Some(ORIGIN)).await
    }

    /// [`submit`](Self::submit), with values the test built as strings.
    pub async fn submit_owned(
        &mut self,
        form: &Page,
        path: &str,
        fields: &[(&str, String)],
    ) -> Page {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.submit(form, path, &fields).await
    }

    /// Post `fields` from this site with a CSRF token that is not the
    /// session's, as a forged form would.
    pub async fn post_forged(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf_token", "x")];
        all.extend_from_slice(fields);
        self.post(path, &all, Some(ORIGIN)).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut request = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Post a multipart form, as a browser sends a file: `fields` as text
    /// and `file` as the field `file`, with the CSRF token `token`.
    pub async fn upload(
        &mut self,
        token: &str,
        path: &str,
        fields: &[(&str, &str)],
        file: &str,
    ) -> Page {
        const BOUNDARY: &str = "homeward-test-boundary";
        let mut body = String::new();
        for (name, value) in [("csrf_token", token)].iter().chain(fields) {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"list.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{file}\r\n--{BOUNDARY}--\r\n"
        ));
        let request = self
            .request("POST", path)
            .header(header::ORIGIN, ORIGIN)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/sign-in").await;
        self.submit(
            &form,
            "/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "text/html,application/xhtml+xml");
        if !cookies.is_empty() {
            builder = builder.header(header::COOKIE, cookies.join("; "));
        }
        builder
    }

    async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self.pages.router.clone().oneshot(request).await.unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}
