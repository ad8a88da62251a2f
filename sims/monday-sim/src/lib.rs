//! A local monday.com account speaking GraphQL API v2: `POST /v2` with monday's auth,
//! versions, errors, complexity budget, cursors and webhooks, over an in-memory store.
//!
//! ```no_run
//! # async fn f() -> Result<(), monday_sim::Error> {
//! let sim = monday_sim::bind(monday_sim::Config::default()).await?;
//! let handle = sim.handle();
//! let acct = handle.create_account("Acme", "Ann", "ann@acme.test");
//! println!("{} token {}", sim.api_url(), acct.token);
//! sim.serve(tokio_util::sync::CancellationToken::new()).await
//! # }
//! ```

pub mod column_value;
pub mod complexity;
mod control;
pub mod daily;
pub mod errors;
mod handle;
mod http;
mod items_query;
pub mod schema;
pub mod seed;
pub mod store;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use errors::{ApiError, Error};
pub use handle::{AccountInfo, ItemSnapshot, SimHandle};
pub use schema::SERVED_SDL;
pub use seed::DemoInfo;
pub use store::{RequestRecord, Webhook};

/// Which data the simulator starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    #[default]
    Empty,
    /// An account with users and a "Deals" board of 40 items (see seed.rs).
    Demo,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub seed: Seed,
    /// Complexity points per account per minute (monday: 10M for personal tokens).
    pub complexity_budget_per_minute: u64,
    /// Largest complexity one request may have (monday: 5M).
    pub max_query_complexity: u64,
    /// Calls per account per minute before `MINUTE_RATE_LIMIT_EXCEEDED` (monday: per plan).
    pub requests_per_minute: u32,
    /// Requests one account may have in flight before `MAX_CONCURRENCY_EXCEEDED` (429).
    pub max_concurrent_requests: u32,
    /// Items a board may hold before `create_item` answers `ItemsLimitationException`.
    pub max_items_per_board: usize,
    /// How long a page cursor lives after the first page (monday: 60 minutes).
    pub cursor_ttl: Duration,
    /// Secret that signs the JWT in webhook deliveries' `Authorization` header.
    pub webhook_signing_secret: String,
    pub webhook_retry_interval: Duration,
    pub webhook_max_attempts: u32,
    /// Version served when the `API-Version` header is absent or `current`.
    pub default_api_version: String,
    /// Settle each request's estimated complexity against its actual cost (monday's model
    /// from API 2025-10; see complexity.rs). Off: the estimate is the charge, as before.
    pub complexity_actual_cost: bool,
    /// Hold every account to its plan's documented daily call limit (see daily.rs). Off:
    /// only accounts given a limit of their own have one.
    pub daily_calls_by_tier: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7002)),
            seed: Seed::Empty,
            complexity_budget_per_minute: 10_000_000,
            max_query_complexity: 5_000_000,
            requests_per_minute: 5_000,
            max_items_per_board: 10_000,
            max_concurrent_requests: 40,
            cursor_ttl: Duration::from_secs(60 * 60),
            webhook_signing_secret: "monday-sim-signing-secret".into(),
            webhook_retry_interval: Duration::from_secs(60),
            webhook_max_attempts: 30,
            default_api_version: "2026-04".into(),
            complexity_actual_cost: false,
            daily_calls_by_tier: false,
        }
    }
}

/// State shared by the HTTP handlers and the test handle.
pub(crate) struct Shared {
    pub store: Mutex<store::Store>,
    pub config: Config,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    pub faults: Mutex<Faults>,
    /// Requests in flight per account.
    pub inflight: Mutex<std::collections::HashMap<i64, u32>>,
}

/// Faults injected into the next GraphQL requests (through the handle or `/__sim/faults`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Faults {
    /// Delay added to every request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// How many of the next requests fail with `status` before anything else happens.
    #[serde(default)]
    pub fail_next: u32,
    /// HTTP status of injected failures (default 500).
    #[serde(default)]
    pub status: Option<u16>,
    /// How many of the next requests (after any `fail_next`) are refused as if the account's
    /// complexity budget were spent: monday's own 429 body for the requested API version.
    #[serde(default)]
    pub exhaust_budget_next: u32,
    /// `retry_in_seconds` of the injected budget refusals (default 1).
    #[serde(default)]
    pub retry_in_seconds: Option<u64>,
}

/// The fault applied to one request.
pub(crate) struct Fault {
    pub latency: Option<Duration>,
    pub fail_with: Option<u16>,
    /// Refuse as budget-exhausted, retry in this many seconds.
    pub exhausted: Option<u64>,
}

impl Shared {
    pub(crate) fn take_fault(&self) -> Fault {
        let mut f = match self.faults.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let latency = (f.latency_ms > 0).then(|| Duration::from_millis(f.latency_ms));
        let fail_with = (f.fail_next > 0).then(|| {
            f.fail_next -= 1;
            f.status.unwrap_or(500)
        });
        let exhausted = (fail_with.is_none() && f.exhaust_budget_next > 0).then(|| {
            f.exhaust_budget_next -= 1;
            f.retry_in_seconds.unwrap_or(1)
        });
        Fault {
            latency,
            fail_with,
            exhausted,
        }
    }
}

/// Send events to every matching subscription (the store stays locked by the caller).
pub(crate) fn dispatch(shared: &Shared, store: &store::Store, events: Vec<webhooks::Event>) {
    let cfg = &shared.config;
    for ev in events {
        for hook in store
            .webhooks
            .on_board(ev.board_id)
            .filter(|h| webhooks::matches(h, &ev))
        {
            let d = webhooks::Delivery {
                client: shared.client.clone(),
                secret: cfg.webhook_signing_secret.clone(),
                retry_interval: cfg.webhook_retry_interval,
                max_attempts: cfg.webhook_max_attempts,
                shutdown: shared.shutdown.clone(),
            };
            webhooks::deliver(d, hook.clone(), ev.clone());
        }
    }
}

/// A bound, not yet serving simulator.
pub struct Sim {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    demo: Option<DemoInfo>,
}

/// Bind the listener (port 0 allowed) and load the seed.
pub async fn bind(config: Config) -> Result<Sim, Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(Error::LocalAddr)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::HttpClient(e.to_string()))?;
    let mut store = store::Store::new();
    let demo = match config.seed {
        Seed::Demo => Some(seed::demo(&mut store)),
        Seed::Empty => None,
    };
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        config,
        client,
        shutdown: CancellationToken::new(),
        faults: Mutex::new(Faults::default()),
        inflight: Mutex::new(Default::default()),
    });
    Ok(Sim {
        listener,
        addr,
        shared,
        demo,
    })
}

impl Sim {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port/v2`
    pub fn api_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    pub fn handle(&self) -> SimHandle {
        SimHandle::new(self.shared.clone(), self.addr)
    }

    /// The demo account, when seeded with `Seed::Demo`.
    pub fn demo(&self) -> Option<&DemoInfo> {
        self.demo.as_ref()
    }

    /// Serve until `shutdown` fires; pending webhook retries stop with it.
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), Error> {
        let inner = self.shared.shutdown.clone();
        let app = http::router(self.shared.clone());
        let stop = shutdown.clone();
        let res = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        inner.cancel();
        res.map_err(Error::Serve)
    }
}
