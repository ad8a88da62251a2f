//! The gRPC server every service runs: the caller-identity check on its own RPCs, health
//! (`grpc.health.v1`), reflection (`v1` and `v1alpha`), one span per request joined to the
//! caller's trace, the `<name> listening on …` line, and a graceful stop.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::auth::Verifier;
use crate::caller::Shared;
pub use crate::caller::{ByCaller, Limits, ServiceOnly, USER_MESSAGE_BYTES};
use crate::identity::Identity;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("grpc server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Binds a TCP listener; port 0 picks a free port (read it back with `local_addr`).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Checks `authorization: Bearer <token>` on every request before the handler runs and
/// attaches the verified [`crate::Identity`] to the request extensions.
#[derive(Clone, Debug)]
pub struct Authenticate {
    verifier: Verifier,
    limits: Limits,
}

impl Authenticate {
    /// Says so, loudly, when the verifier runs in development mode.
    pub fn new(verifier: Verifier) -> Self {
        if verifier.is_development() {
            tracing::warn!(
                "DEVELOPMENT AUTH MODE (TANDEM_DEV_AUTH=1): user tokens are HS256 tokens anyone holding TANDEM_AUTH_SECRET can mint; never run a production deployment like this"
            );
        }
        Self {
            verifier,
            limits: Limits::default(),
        }
    }

    /// Bounds the requests served at once and the time each may take (see [`Limits`]).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Wraps a generated tonic server so that each of its RPCs requires a valid token, from a
    /// user or any service (stand-ins in tests).
    pub fn wrap<S: Clone>(&self, service: S) -> ByCaller<S, S> {
        ByCaller {
            shared: Shared::Any,
            ..self.by_caller(service.clone(), service, ServiceOnly(&[]))
        }
    }

    /// Serves `for_users` (built with a decoding limit of [`USER_MESSAGE_BYTES`]) to users and
    /// `for_services` (built with [`crate::MAX_MESSAGE_BYTES`]) to Tandem services, choosing
    /// by the verified token before the body is read; the RPCs `service_only` names refuse
    /// users, and the services it does not name, with PERMISSION_DENIED before their body is
    /// read; the other RPCs refuse every service (name those some service calls with
    /// [`ByCaller::shared_with`]). The two are normally the same generated server (one service
    /// value) with different limits.
    pub fn by_caller<U, S>(
        &self,
        for_users: U,
        for_services: S,
        service_only: ServiceOnly,
    ) -> ByCaller<U, S> {
        ByCaller {
            verifier: self.verifier.clone(),
            users: for_users,
            services: for_services,
            service_only,
            shared: Shared::Named(ServiceOnly(&[])),
            slots: Arc::new(tokio::sync::Semaphore::new(
                self.limits.max_concurrent_requests.max(1),
            )),
            timeout: self.limits.request_timeout,
        }
    }
}

/// The identity the `authorization: Bearer <token>` metadata (its raw value, if present)
/// names, or UNAUTHENTICATED (UNAVAILABLE when the identity provider cannot be asked).
pub(crate) async fn identify(
    verifier: &Verifier,
    authorization: Option<&[u8]>,
) -> Result<Identity, tonic::Status> {
    let header = authorization.ok_or_else(|| {
        tonic::Status::unauthenticated(
            "missing `authorization` metadata: send `authorization: Bearer <token>`",
        )
    })?;
    let token = std::str::from_utf8(header)
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            tonic::Status::unauthenticated("`authorization` metadata must be `Bearer <token>`")
        })?;
    verifier
        .identify(token.trim())
        .await
        .map_err(|e| e.to_status())
}

/// A background job of a service (e.g. a retention purge): started with the server, given
/// the shutdown token, awaited after the server stops.
pub type Background =
    Box<dyn FnOnce(CancellationToken) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// One service ready to serve: its name (for logs and the listening line), its bound
/// listener, the routes of its own (already authenticated) gRPC services, the fully
/// qualified names of those services (reported to health checks and listed by reflection),
/// and its background jobs.
pub struct GrpcServer {
    pub name: &'static str,
    pub listener: TcpListener,
    /// Serve TLS only, with this certificate (`Infra::tls`); `None`: plaintext, which
    /// `InfraArgs::resolve` allows in development mode only.
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    pub routes: Routes,
    pub health_names: Vec<&'static str>,
    pub background: Vec<Background>,
}

impl GrpcServer {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` fires; then reports NOT_SERVING, lets in-flight requests
    /// finish, and returns.
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), ServeError> {
        let GrpcServer {
            name,
            listener,
            tls,
            routes,
            health_names,
            background,
        } = self;
        // Owned by this future: should it be dropped (the process killed, in effect), the jobs
        // stop with it instead of running on unowned.
        let mut jobs = tokio::task::JoinSet::new();
        for job in background {
            jobs.spawn(job(shutdown.clone()));
        }
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        for service in &health_names {
            health_reporter
                .set_service_status(*service, tonic_health::ServingStatus::Serving)
                .await;
        }
        health_reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let reflection_v1 = reflection(&health_names).build_v1()?;
        let reflection_v1alpha = reflection(&health_names).build_v1alpha()?;
        let routes = routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);

        let stopping = {
            let shutdown = shutdown.clone();
            let health_reporter = health_reporter.clone();
            async move {
                shutdown.cancelled().await;
                for service in health_names.iter().copied().chain([""]) {
                    health_reporter
                        .set_service_status(service, tonic_health::ServingStatus::NotServing)
                        .await;
                }
                tracing::info!(service = name, "shutting down; draining in-flight requests");
            }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("{name} listening on {scheme}://{addr}");
        tracing::info!(service = name, %addr, tls = tls.is_some(), "listening");
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls)?;
        }
        builder
            .trace_fn(move |request| tandem_telemetry::server_span(name, request))
            .layer(tower::util::MapResponseLayer::new(
                tandem_telemetry::record_status::<tonic::body::Body>,
            ))
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming(listener), stopping)
            .await?;
        while jobs.join_next().await.is_some() {}
        tracing::info!(service = name, "stopped");
        Ok(())
    }
}

/// The services every server runs beside its own: health and both reflection versions.
pub const COMMON_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// A reflection builder that describes every Tandem type (so clients can decode any message)
/// but lists only the services this server answers: `own` and [`COMMON_SERVICES`]. Listing
/// all five would show `grpcurl list` methods that answer UNIMPLEMENTED here.
fn reflection<'b>(own: &[&'static str]) -> tonic_reflection::server::Builder<'b> {
    own.iter().chain(COMMON_SERVICES.iter()).fold(
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tandem_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
        |builder, name| builder.with_service_name(*name),
    )
}

/// Accepted connections with Nagle's algorithm off: small gRPC responses would otherwise wait
/// for the peer's delayed ACK (~40 ms) before leaving.
fn incoming(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt as _;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|stream| {
            let _ = stream.set_nodelay(true);
        })
    })
}
