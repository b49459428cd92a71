//! A real Homeward on a random port with a fresh SQLite file, and a client
//! with one method per endpoint.

use std::sync::Arc;

use homeward::clock::Clock;
use homeward::clock::{ManualClock, SystemClock};
use homeward::config::Settings;
use homeward::domain::{OrgId, OrgName, Role, TokenSecret};
use homeward::startup::{self, Application};
use homeward::store::{NewToken, Store};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

#[allow(dead_code)] // The API tests leave their databases to be reaped.
#[path = "../store/throwaway.rs"]
mod throwaway;

/// Mobiles that libphonenumber accepts. They may belong to real people, so
/// they are only ever sent to this loopback server.
pub const MOBILE_A: &str = "07400 123456";
pub const MOBILE_A_E164: &str = "+447400123456";
pub const MOBILE_B: &str = "+44 7911 123456";

pub struct TestApp {
    pub address: String,
    pub dispatcher: homeward::dispatch::Dispatcher,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
    /// A staff token of the test's organisation.
    pub token: String,
    /// An admin token of the same organisation.
    pub admin_token: String,
    pub org_id: OrgId,
    pub store: Arc<dyn Store>,
    client: reqwest::Client,
    shutdown: CancellationToken,
    _dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_at(chrono::Utc::now(), overrides).await
}

/// An app whose clock starts at `now` and moves only when a test moves it.
pub async fn spawn_app_at(
    now: chrono::DateTime<chrono::Utc>,
    overrides: &[(&str, &str)],
) -> TestApp {
    show_logs_if_asked();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("{:?}", database_url(&dir).await);
    let key_file = format!(
        "{:?}",
        dir.path().join("homeward.keys").display().to_string()
    );
    let mut all = vec![
        ("server.bind", "\"127.0.0.1:0\""),
        ("database.url", url.as_str()),
        ("database.key_file", key_file.as_str()),
        ("log.level", "\"warn\""),
        // Tests send a round at a time with `dispatch_all_pending`.
        ("dispatch.enabled", "false"),
    ];
    all.extend_from_slice(overrides);
    let settings = Settings::defaults_with(&all).expect("test settings are valid");
    let clock = Arc::new(ManualClock::new(now));
    let app = Application::build_with_clock(&settings, clock.clone())
        .await
        .expect("app builds");
    let address = format!("http://{}", app.address());
    let dispatcher = app.dispatcher();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    let store = startup::open_store(&settings.database)
        .await
        .expect("store opens");
    let mut test = TestApp {
        address,
        dispatcher,
        clock,
        settings,
        token: String::new(),
        admin_token: String::new(),
        org_id: OrgId::new(),
        store,
        client: reqwest::Client::new(),
        shutdown,
        _dir: dir,
    };
    test.org_id = test.new_org("Test Team").await;
    test.token = test.new_token(test.org_id, Role::Staff).await;
    test.admin_token = test.new_token(test.org_id, Role::Admin).await;
    test
}

/// `HOMEWARD_TEST_LOG=debug` (a filter) shows the app's log beside a
/// failing test's output.
fn show_logs_if_asked() {
    if let Ok(filter) = std::env::var("HOMEWARD_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// A SQLite file in `dir`, or with `HOMEWARD_TEST_BACKEND=postgres` a
/// throwaway PostgreSQL database (left for a later run to drop; see
/// `throwaway`).
async fn database_url(dir: &TempDir) -> String {
    match std::env::var("HOMEWARD_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let server = std::env::var(throwaway::URL_VAR).unwrap_or_else(|_| {
                eprintln!("{} is not set; using the local default", throwaway::URL_VAR);
                "postgres://postgres@127.0.0.1:5432/test".into()
            });
            throwaway::Throwaway::create(&server).await.url
        }
        Ok("sqlite") | Err(_) => format!("sqlite://{}", dir.path().join("homeward.db").display()),
        Ok(other) => panic!("HOMEWARD_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// A staff token for a newly created organisation.
    pub async fn new_org_token(&self, name: &str) -> String {
        let org = self.new_org(name).await;
        self.new_token(org, Role::Staff).await
    }

    pub async fn new_org(&self, name: &str) -> OrgId {
        let name = OrgName::parse(name).unwrap();
        let org = self.store.create_org(&name, SystemClock.now()).await;
        org.unwrap().id
    }

    /// A new token of `org` with `role`.
    pub async fn new_token(&self, org: OrgId, role: Role) -> String {
        let secret = TokenSecret::generate();
        let token = NewToken {
            org_id: org,
            hash: secret.hash(),
            role,
            label: None,
        };
        self.store
            .create_token(&token, SystemClock.now())
            .await
            .unwrap();
        secret.expose().to_owned()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(&self.token))
            .await
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        self.send_json_as(&self.token, method, path, body).await
    }

    /// Send `body` as JSON with `token`.
    pub async fn send_json_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Response {
        self.request(method, path, Some(token))
            .await
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GET `path` with `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .await
            .send()
            .await
            .unwrap()
    }

    pub async fn post_person(&self, body: &Value) -> Response {
        self.send_json(Method::POST, "/v1/people", body).await
    }

    /// Add a person and return their id.
    /// The folder holding the test's SQLite files and key file.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub async fn add_person(&self, external_ref: &str, mobile: &str) -> String {
        let body = json!({ "external_ref": external_ref, "first_name": "Alex", "mobile": mobile });
        let response = self.post_person(&body).await;
        assert_eq!(response.status(), 201, "adding a person");
        let body: Value = response.json().await.unwrap();
        body["person"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn post_event(&self, person: &str, body: &Value) -> Response {
        self.send_json(Method::POST, &format!("/v1/people/{person}/events"), body)
            .await
    }

    pub async fn import(&self, kind: &str, csv: impl Into<reqwest::Body>) -> Response {
        self.request(
            Method::POST,
            &format!("/v1/imports/{kind}"),
            Some(&self.token),
        )
        .await
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
    }
}

/// The JSON body of a response whose status must be `status`.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

impl TestApp {
    /// A person's messages in send-time order.
    pub async fn messages_of(&self, person: &str) -> Vec<Value> {
        let body = json_of(
            self.get(&format!("/v1/messages?person={person}&limit=1000"))
                .await,
            200,
        )
        .await;
        body["messages"].as_array().unwrap().clone()
    }

    /// Run the re-plan sweep, as the daemon's schedule does.
    pub async fn sweep(&self) -> homeward::planner::PlanReport {
        self.sweep_with(&self.settings).await
    }

    /// Run the sweep with other settings (e.g. another rules file) on this
    /// app's database and clock.
    pub async fn sweep_with(&self, settings: &Settings) -> homeward::planner::PlanReport {
        let planner =
            startup::build_planner(settings, self.store.clone(), self.clock.clone()).unwrap();
        planner.sweep(None).await.unwrap()
    }
}

/// An instant written in RFC 3339.
pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

impl TestApp {
    /// Run dispatch rounds until nothing more is due now.
    pub async fn dispatch_all_pending(&self) -> homeward::dispatch::Round {
        let shutdown = CancellationToken::new();
        let mut total = homeward::dispatch::Round::default();
        for _ in 0..100 {
            let round = self
                .dispatcher
                .run_once(&shutdown)
                .await
                .expect("a dispatch round");
            if round.claimed == 0 {
                return total;
            }
            total.add(round);
        }
        panic!("the queue never emptied");
    }

    /// A message's state history, oldest first.
    pub async fn history(&self, message: &str) -> Vec<Value> {
        let detail = json_of(self.get(&format!("/v1/messages/{message}")).await, 200).await;
        detail["history"].as_array().unwrap().clone()
    }
}

/// The secret the fake generic-webhook provider shares with the app.
pub const HOOK_SECRET: &str = "test-webhook-secret";

/// Settings that send through the generic webhook provider at `url`.
pub fn hook_settings(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("providers.hook.kind", "\"webhook\"".into()),
        ("providers.hook.url", format!("{url:?}")),
        ("providers.hook.secret", format!("{HOOK_SECRET:?}")),
        ("providers.hook.rate_per_second", "1000".into()),
        ("providers.hook.burst", "100".into()),
        ("dispatch.providers", "[\"hook\"]".into()),
    ]
}

/// An app on `now` that sends through the webhook provider at `url`, plus
/// any other overrides.
pub async fn spawn_app_with_hook(now: &str, url: &str, extra: &[(&str, &str)]) -> TestApp {
    let hook = hook_settings(url);
    let mut overrides: Vec<(&str, &str)> = hook.iter().map(|(k, v)| (*k, v.as_str())).collect();
    overrides.extend_from_slice(extra);
    spawn_app_at(at(now), &overrides).await
}

impl TestApp {
    /// POST a signed JSON webhook as the generic provider would.
    pub async fn hook_webhook(&self, kind: &str, body: &Value, secret: &str) -> Response {
        let body = serde_json::to_vec(body).unwrap();
        let signature = homeward::providers::webhook::signature_header(
            secret,
            self.clock.now().timestamp(),
            &body,
        );
        self.client
            .post(format!("{}/webhooks/hook/{kind}", self.address))
            .header("content-type", "application/json")
            .header(homeward::providers::webhook::SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// An app at `now` sending through the generic webhook to a loopback fake
/// that accepts every text.
pub async fn spawn_app_with_fake_provider(now: &str) -> (TestApp, wiremock::MockServer) {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let app = spawn_app_with_hook(now, &format!("{}/sms", server.uri()), &[]).await;
    (app, server)
}

impl TestApp {
    /// A text from `MOBILE_A` arriving through the signed inbound webhook.
    pub async fn text_in(&self, id: &str, text: &str) -> Response {
        let inbound =
            json!({ "id": id, "from": MOBILE_A_E164, "to": "+447400000001", "text": text });
        self.hook_webhook("inbound", &inbound, HOOK_SECRET).await
    }
}
