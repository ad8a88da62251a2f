//! Salesforce's Pub/Sub API (`eventbus.v1.PubSub`, from the vendored `proto/salesforce/pubsub_api.proto`)
//! on its own port: change events of every write (Change Data Capture) and platform events,
//! with Salesforce's flow control, replay, retention and delivery allocation. gRPC over
//! plain HTTP/2 (h2c): the real service is TLS on port 7443.

pub mod avro;
pub mod bitmap;
mod errors;
pub mod events;
mod platform;
mod schemas;
mod service;
mod stream;
mod topics;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::Shared;
use crate::errors::Error;

pub use events::Cdc;
pub(crate) use platform::PlatformEvents;
pub(crate) use schemas::Schemas;

/// The generated `eventbus.v1` messages, server and client.
pub mod proto {
    #![allow(clippy::all)]
    tonic::include_proto!("eventbus.v1");
}

/// How the Pub/Sub API behaves.
#[derive(Debug, Clone)]
pub struct PubSubConfig {
    /// Where to serve it; `None`: not served.
    pub listen: Option<SocketAddr>,
    /// An empty batch goes out after this long without one (Salesforce: within 270 s).
    pub keepalive: Duration,
    /// Events are kept this long (72 h for change events).
    pub retention: Duration,
    /// Event deliveries per org in a rolling 24 hours.
    pub delivery_allocation: u64,
    /// Changes per transaction before the rest become one `GAP_OVERFLOW` per object.
    pub overflow_after: usize,
    /// New orgs start with change events on for every object that has them (a real org
    /// starts with none selected).
    pub select_all_objects: bool,
}

impl Default for PubSubConfig {
    fn default() -> Self {
        PubSubConfig {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            keepalive: Duration::from_secs(270),
            retention: Duration::from_secs(72 * 3600),
            delivery_allocation: 50_000,
            overflow_after: 100_000,
            select_all_objects: true,
        }
    }
}

/// The event bus state shared by all orgs: schemas, wake-ups, the bus clock, faults.
#[derive(Debug)]
pub struct Bus {
    pub schemas: Schemas,
    pub platform: PlatformEvents,
    /// Bumped whenever events are added: subscribers wake up.
    pub added: watch::Sender<u64>,
    /// Bumped to end every open Subscribe stream with UNAVAILABLE.
    pub drops: watch::Sender<u64>,
    clock_offset: Mutex<Duration>,
    delay: Mutex<Duration>,
    /// Subscribe streams past their first request (started, not yet ended).
    pub live: std::sync::atomic::AtomicUsize,
    pub shutdown: CancellationToken,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            schemas: Schemas::default(),
            platform: PlatformEvents::default(),
            added: watch::channel(0).0,
            drops: watch::channel(0).0,
            clock_offset: Mutex::new(Duration::ZERO),
            delay: Mutex::new(Duration::ZERO),
            live: std::sync::atomic::AtomicUsize::new(0),
            shutdown: CancellationToken::new(),
        }
    }
}

impl Bus {
    /// The bus clock: wall time plus what tests advanced it by.
    pub fn now(&self) -> OffsetDateTime {
        let offset = *self.clock_offset.lock().unwrap_or_else(|p| p.into_inner());
        crate::clock::now() + offset
    }

    pub fn advance(&self, d: Duration) {
        *self.clock_offset.lock().unwrap_or_else(|p| p.into_inner()) += d;
    }

    pub fn delay(&self) -> Duration {
        *self.delay.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_delay(&self, d: Duration) {
        *self.delay.lock().unwrap_or_else(|p| p.into_inner()) = d;
    }

    pub fn wake(&self) {
        self.added.send_modify(|n| *n += 1);
    }

    pub fn drop_streams(&self) {
        self.drops.send_modify(|n| *n += 1);
    }
}

/// Commits the org's open transaction(s) with `origin` as `changeOrigin` and wakes the
/// subscribers.
pub(crate) fn commit(shared: &Shared, org_key: &str, origin: &str) {
    let now = shared.bus.now();
    let c = events::Commit {
        origin,
        now,
        overflow_after: shared.config.pubsub.overflow_after,
    };
    let added = shared.with_org(org_key, |org, schema| {
        if org.cdc.journal.is_empty() {
            return 0;
        }
        let n = events::commit(org, schema, &shared.bus.schemas, &c);
        org.cdc.expire(now, shared.config.pubsub.retention);
        n
    });
    if added > 0 {
        shared.bus.wake();
    }
}

/// Objects that can have change events.
pub(crate) fn capturable(schema: &crate::schema::Schema) -> Vec<String> {
    schema
        .objects
        .iter()
        .filter(|o| !events::NOT_CAPTURED.contains(&o.name.as_str()))
        .map(|o| o.name.clone())
        .collect()
}

/// A bound Pub/Sub listener.
pub(crate) struct Listener {
    pub listener: tokio::net::TcpListener,
}

pub(crate) async fn bind(addr: SocketAddr) -> Result<Listener, Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    Ok(Listener { listener })
}

/// Serves `eventbus.v1.PubSub` until `shutdown` fires; open streams end then.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    l: Listener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let svc = proto::pub_sub_server::PubSubServer::new(service::PubSubService::new(shared.clone()));
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(l.listener);
    let stop = shutdown.clone();
    let on_stop = shared.bus.shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        on_stop.cancel();
    });
    tonic::transport::Server::builder()
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))
}
