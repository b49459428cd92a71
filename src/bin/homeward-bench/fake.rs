//! A minimal SMS provider on loopback: the receiving end of the generic
//! webhook contract (`src/providers/webhook.rs`), answering 200 at once and
//! noting when each text arrived and which message it was.
//!
//! It stands in for the provider in every figure and for the server the
//! plain-client baseline posts to, so the dispatcher and its ceiling meet
//! exactly the same server in the same process.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One text as it reached the fake.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The message id the sender gave as `reference`.
    pub reference: String,
    pub at: DateTime<Utc>,
    pub instant: Instant,
}

#[derive(Default)]
struct Received {
    arrivals: Mutex<Vec<Arrival>>,
    count: AtomicU64,
}

pub struct FakeProvider {
    address: SocketAddr,
    received: Arc<Received>,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
}

#[derive(Deserialize)]
struct Reference {
    reference: String,
}

impl FakeProvider {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("Failed to bind the fake provider")?;
        let address = listener.local_addr()?;
        let received = Arc::new(Received::default());
        let router = Router::new()
            .route("/sms", post(receive))
            .with_state(received.clone());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone().cancelled_owned();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, router).with_graceful_shutdown(stop);
            if let Err(e) = served.await {
                eprintln!("warning: the fake provider stopped: {e}");
            }
        });
        Ok(Self {
            address,
            received,
            shutdown,
            server,
        })
    }

    /// Where texts are posted.
    pub fn url(&self) -> String {
        format!("http://{}/sms", self.address)
    }

    /// Texts received since the last [`FakeProvider::take`].
    pub fn count(&self) -> u64 {
        self.received.count.load(Ordering::Relaxed)
    }

    /// A cheap handle on the count, for progress bars.
    pub fn counter(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let received = self.received.clone();
        move || received.count.load(Ordering::Relaxed)
    }

    /// Everything received so far, in arrival order; the fake starts afresh.
    pub fn take(&self) -> Vec<Arrival> {
        let mut arrivals = self.received.arrivals.lock().expect("arrivals lock");
        self.received.count.store(0, Ordering::Relaxed);
        std::mem::take(&mut *arrivals)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
    }
}

async fn receive(State(received): State<Arc<Received>>, body: Bytes) -> StatusCode {
    let at = Utc::now();
    let instant = Instant::now();
    let Ok(Reference { reference }) = serde_json::from_slice(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    received
        .arrivals
        .lock()
        .expect("arrivals lock")
        .push(Arrival {
            reference,
            at,
            instant,
        });
    received.count.fetch_add(1, Ordering::Relaxed);
    StatusCode::OK
}
