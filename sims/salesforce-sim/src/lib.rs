//! A local Salesforce org speaking the REST API: OAuth 2.0, describes, SOQL queries with
//! paging, records, upsert, sObject Collections, limits — answering with the status codes,
//! headers and JSON shapes of the real service; and Salesforce's Pub/Sub API (gRPC) with
//! change events of every write, on its own port. Tests drive it through [`SimHandle`].

#![recursion_limit = "256"]

mod auth;
pub mod bulk;
mod calllog;
mod clock;
mod collections;
mod composite;
mod control;
mod derived;
mod describe;
mod errors;
mod faults;
mod handle;
mod http;
mod ids;
mod keys;
mod persist;
pub mod pubsub;
mod query;
mod rest;
mod schema;
mod seed;
mod soql;
mod store;
mod tls;
mod validate;
mod writes;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub use calllog::CallRecord;
pub use errors::Error;
pub use handle::{SimHandle, Tokens};
pub use seed::Seed;

use schema::Schema;
use store::{Org, State};

/// How to run the simulator. Tests build it directly; `main` fills it from flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Serve HTTPS with a self-signed certificate.
    pub tls: bool,
    /// What every new org starts with.
    pub seed: Seed,
    /// Access-token lifetime; afterwards calls answer 401 `INVALID_SESSION_ID`.
    pub token_ttl: Duration,
    /// Query page size when the client sends no `Sforce-Query-Options: batchSize`.
    pub page_size: usize,
    /// Daily API allocation per org (`DailyApiRequests.Max`).
    pub api_limit: u64,
    /// The org a request with a bare IP/localhost Host goes to.
    pub default_org: String,
    /// Load the orgs from this JSON file at start (if it exists) and save them at shutdown.
    pub state_file: Option<std::path::PathBuf>,
    /// The Pub/Sub API: its port, keepalive, retention, delivery allocation, overflow.
    pub pubsub: pubsub::PubSubConfig,
    /// Bulk API 2.0: the allocations a new org starts with, the size of one upload.
    pub bulk: bulk::BulkConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            seed: Seed::Empty,
            token_ttl: Duration::from_secs(2 * 60 * 60),
            page_size: 2000,
            api_limit: 15_000,
            default_org: "demo".into(),
            state_file: None,
            pubsub: pubsub::PubSubConfig::default(),
            bulk: bulk::BulkConfig::default(),
        }
    }
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub config: Config,
    pub schema: schema::SchemaCell,
    pub state: Mutex<State>,
    pub faults: faults::Faults,
    pub calls: calllog::CallLog,
    pub local_addr: SocketAddr,
    pub bus: pubsub::Bus,
    pub pubsub_addr: Option<SocketAddr>,
}

impl Shared {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new or loaded org's CDC selection and delivery allocation.
    fn init_cdc(&self, org: &mut Org) {
        org.cdc.allocation_max = self.config.pubsub.delivery_allocation;
        if self.config.pubsub.select_all_objects && !org.cdc.selection_set {
            org.cdc.selected = pubsub::capturable(&self.schema).into_iter().collect();
        }
        org.cdc.selection_set = true;
    }

    pub fn scheme(&self) -> &'static str {
        if self.config.tls { "https" } else { "http" }
    }

    /// Runs `f` on the org `key`, creating (and seeding) it on first use.
    pub fn with_org<R>(&self, key: &str, f: impl FnOnce(&mut Org, &Schema) -> R) -> R {
        let mut guard = self.state();
        let state = &mut *guard;
        let seq = &mut state.org_seq;
        let org = state.orgs.entry(key.to_string()).or_insert_with(|| {
            *seq += 1;
            let mut org = Org::new(key, *seq, self.config.api_limit);
            if let Err(e) = seed::init_org(&self.schema, &mut org, self.config.seed) {
                tracing::error!(org = key, error = %e.message, "seeding the org failed");
            }
            // The seed is the org's starting point, not a change anyone subscribes to.
            org.cdc.journal.clear();
            self.init_cdc(&mut org);
            org.bulk.init(&self.config.bulk);
            org
        });
        f(org, &self.schema)
    }
}

/// A bound simulator, ready to serve.
pub struct Sim {
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    cert_der: Option<Vec<u8>>,
    demo_token: Option<String>,
    pubsub: Option<pubsub::Listener>,
}

/// Binds the listener (port 0 allowed), loads the schema, seeds the default org.
pub async fn bind(config: Config) -> Result<Sim, Error> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr()?;
    let (tls, cert_der) = if config.tls {
        let (acceptor, der) = tls::acceptor()?;
        (Some(acceptor), Some(der))
    } else {
        (None, None)
    };
    let pubsub = match config.pubsub.listen {
        Some(addr) => Some(pubsub::bind(addr).await?),
        None => None,
    };
    let pubsub_addr = match &pubsub {
        Some(l) => Some(l.listener.local_addr()?),
        None => None,
    };
    let schema = Schema::load()?;
    let seed = config.seed;
    let default_org = config.default_org.clone();
    let state = match &config.state_file {
        Some(path) => persist::load(path)?.unwrap_or_default(),
        None => State::default(),
    };
    let shared = Arc::new(Shared {
        config,
        schema: schema::SchemaCell::new(schema),
        state: Mutex::new(state),
        faults: faults::Faults::default(),
        calls: calllog::CallLog::default(),
        local_addr,
        bus: pubsub::Bus::default(),
        pubsub_addr,
    });
    {
        let mut state = shared.state();
        for org in state.orgs.values_mut() {
            shared.init_cdc(org);
            org.bulk.init(&shared.config.bulk);
        }
    }
    let handle = SimHandle::new(shared.clone());
    handle.ensure_org(&default_org);
    let demo_token = (seed == Seed::Demo).then(|| handle.mint_token(&default_org).access_token);
    Ok(Sim {
        shared,
        listener,
        tls,
        cert_der,
        demo_token,
        pubsub,
    })
}

impl Sim {
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// `http://127.0.0.1:PORT` (or `https://` with TLS).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.shared.scheme(), self.shared.local_addr)
    }

    pub fn handle(&self) -> SimHandle {
        SimHandle::new(self.shared.clone())
    }

    /// The Pub/Sub API's address (gRPC, h2c), when served.
    pub fn pubsub_addr(&self) -> Option<SocketAddr> {
        self.shared.pubsub_addr
    }

    /// With `Seed::Demo`: an access token for the default org's admin.
    pub fn demo_token(&self) -> Option<&str> {
        self.demo_token.as_deref()
    }

    /// The self-signed certificate (DER) when serving TLS.
    pub fn tls_cert_der(&self) -> Option<&[u8]> {
        self.cert_der.as_deref()
    }

    /// Serves until `shutdown` fires, then lets open connections finish their request.
    pub async fn serve(mut self, shutdown: CancellationToken) -> Result<(), Error> {
        let pubsub = self
            .pubsub
            .take()
            .map(|l| tokio::spawn(pubsub::serve(self.shared.clone(), l, shutdown.clone())));
        let router = Router::new()
            .fallback(http::dispatch)
            .with_state(self.shared.clone());
        let tracker = tokio_util::task::TaskTracker::new();
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = self.listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let (router, shared, token, tls) = (
                router.clone(),
                self.shared.clone(),
                shutdown.clone(),
                self.tls.clone(),
            );
            tracker.spawn(async move {
                match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => serve_conn(s, router, shared, token).await,
                        Err(e) => tracing::debug!(%peer, error = %e, "tls handshake failed"),
                    },
                    None => serve_conn(stream, router, shared, token).await,
                }
            });
        }
        tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
        if let Some(task) = pubsub {
            match tokio::time::timeout(Duration::from_secs(5), task).await {
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "pub/sub api ended with an error"),
                Ok(_) => {}
                Err(_) => tracing::warn!("pub/sub api did not stop within 5 s"),
            }
        }
        if let Some(path) = &self.shared.config.state_file {
            persist::save(&self.shared.state(), path)?;
            tracing::info!(path = %path.display(), "state saved");
        }
        Ok(())
    }
}

async fn serve_conn<IO>(io: IO, router: Router, shared: Arc<Shared>, shutdown: CancellationToken)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        let shared = shared.clone();
        async move {
            if shared.faults.take_drop() {
                shared.calls.push(CallRecord {
                    method: req.method().to_string(),
                    path: req.uri().path().to_string(),
                    query: req.uri().query().map(str::to_string),
                    status: 0,
                    org: None,
                });
                return Err(std::io::Error::other("injected fault: connection dropped"));
            }
            let req = req.map(axum::body::Body::new);
            router.oneshot(req).await.map_err(|never| match never {})
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
