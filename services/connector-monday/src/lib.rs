//! connector-monday: speaks the monday.com GraphQL API v2 and receives its webhooks.
//!
//! Every RPC names a `connection_id`; the API token comes from mapping-config's
//! `GetCredentials` (see `credentials.rs`). Calls go to `config.remote.monday_api_url` with
//! the pinned `API-Version` (`api.rs`), within the complexity budget kept per account in
//! Redis (`budget.rs`). Webhooks arrive on a listener of their own (`webhook.rs`) and are
//! handed to the orchestrator's `SubmitChanges`.

mod api;
mod budget;
mod config;
mod credentials;
mod error;
mod grpc;
mod pages;
mod poll;
pub mod queries;
mod read;
mod registration;
mod schema;
mod webhook;
mod write;

use std::net::SocketAddr;
use std::time::Duration;

pub use config::{Config, DEFAULT_API_VERSION, Options, SigningSecret};
pub use error::Error;
pub use webhook::PATH as WEBHOOK_PATH;

use tandem_proto::v1::monday_connector_server::MondayConnectorServer;
use tandem_service::client::{Outbound, connect_lazy};
use tandem_service::server::{self, Authenticate, Background, GrpcServer, USER_MESSAGE_BYTES};
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "connector-monday";
/// The default listen port.
pub const DEFAULT_PORT: u16 = 50052;
/// Timeout of calls to peer services.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects storage and binds `config.listen`; serve the result.
pub async fn bind(config: Config) -> Result<GrpcServer, Error> {
    let listener = server::bind(config.listen).await?;
    bind_on(listener, config).await
}

/// Like [`bind`], on a listener bound already (`config.listen` is ignored).
pub async fn bind_on(
    listener: tokio::net::TcpListener,
    config: Config,
) -> Result<GrpcServer, Error> {
    Ok(bind_with_webhooks(listener, config).await?.0)
}

/// Like [`bind_on`], also returning the address webhooks are received on.
pub async fn bind_with_webhooks(
    listener: tokio::net::TcpListener,
    config: Config,
) -> Result<(GrpcServer, SocketAddr), Error> {
    let redis = tandem_service::storage::connect_redis(&config.infra.redis_url).await?;
    let outbound = Outbound::service(&config.infra.auth, NAME)
        .map_err(|e| Error::Config(e.to_string()))?
        .with_tls(&config.infra.tls);
    let mapping_config = connect_lazy(
        &config.peers.mapping_config_url,
        outbound.clone(),
        PEER_TIMEOUT,
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    let orchestrator = connect_lazy(&config.peers.sync_orchestrator_url, outbound, PEER_TIMEOUT)
        .map_err(|e| Error::Config(e.to_string()))?;
    let opts = &config.options;
    let monday = api::Monday::new(
        config.remote.monday_api_url.clone(),
        opts.api_version.clone(),
        Duration::from_secs(opts.max_retry_wait_secs),
        credentials::Credentials::new(mapping_config.clone()),
        budget::Budgets::new(redis.clone(), &config.infra.redis_prefix),
    )?;
    let watched = webhook::Watched::new(mapping_config, monday.clone());
    let writes = write::Settings::new(
        opts.idempotency_column.clone(),
        opts.max_mutations_per_request,
    );
    let service = grpc::MondayConnectorService::new(monday, writes);
    // Users get a small decoding limit, services the large one; users are told apart from
    // services by their token before the body is read.
    let server = MondayConnectorServer::new(service)
        .max_encoding_message_size(tandem_service::MAX_MESSAGE_BYTES);
    let routes = tonic::service::Routes::new(
        Authenticate::new(config.infra.auth.verifier.clone()).by_caller(
            server.clone().max_decoding_message_size(USER_MESSAGE_BYTES),
            server.max_decoding_message_size(tandem_service::MAX_MESSAGE_BYTES),
            grpc::SERVICE_ONLY,
        ),
    );

    let hooks = tokio::net::TcpListener::bind(opts.webhook_listen)
        .await
        .map_err(|source| Error::WebhookBind {
            addr: opts.webhook_listen,
            source,
        })?;
    let hooks_addr = hooks.local_addr().map_err(|source| Error::WebhookBind {
        addr: opts.webhook_listen,
        source,
    })?;
    if !opts.signing_secret.is_set() {
        tracing::warn!(
            "TANDEM_MONDAY_SIGNING_SECRET is not set: monday webhook events are refused"
        );
    }
    println!("{NAME} webhooks listening on http://{hooks_addr}");
    tracing::info!(addr = %hooks_addr, path = webhook::PATH, "webhooks listening");
    let audience = opts
        .webhook_audience
        .clone()
        .unwrap_or_else(|| format!("http://{hooks_addr}{}", webhook::PATH));
    tracing::info!(audience, "monday webhook JWTs must name this audience");
    let app = webhook::router(webhook::Ingress {
        secret: opts.signing_secret.clone(),
        rules: webhook::Rules {
            audience,
            max_age_secs: i64::from(opts.webhook_max_age_secs),
        },
        guard: webhook::Guard::new(
            redis,
            &config.infra.redis_prefix,
            u64::from(opts.webhook_rate_per_minute),
        ),
        watched,
        orchestrator,
    });
    let job: Background = Box::new(move |shutdown: CancellationToken| {
        Box::pin(async move {
            let served = axum::serve(hooks, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "webhook listener stopped");
            }
        })
    });
    Ok((
        GrpcServer {
            name: NAME,
            tls: config.infra.tls.server(),
            listener,
            routes,
            background: vec![job],
            health_names: vec!["tandem.v1.MondayConnector"],
        },
        hooks_addr,
    ))
}

/// Runs connector-monday until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await?;
    Ok(())
}
