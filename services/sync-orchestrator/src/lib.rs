//! sync-orchestrator: scheduling, locks, coalescing, links, merge and writes. Postgres schema `sync`.
//!
//! The path of one change, a module per step: `settings` (what the integration asks for),
//! `detect` (poll, claim) and `coalesce` (the Redis buffer), `sweep` (monday deletions polls cannot see), `keyed` (partners found by the link key), `pairs` (links and latest values,
//! re-linking by key), `adopt` (creates whose link was lost), `people` (users only Salesforce knows), `merge` (filter, three-way
//! merge and conversion of one record) and `plan` (every pair's writes), `write` (intents and
//! batched connector calls), `commit` (links, shadows, watermarks under the `lease` fence),
//! `history` (run-history events). `cycle` is the recipe that calls them in order, `import`
//! the backfill, `run` what wraps either (lease, settings, run history); `grpc` and
//! `scheduler` start runs, the scheduler claiming them from the shared `due` queue.

mod adopt;
pub mod coalesce;
mod commit;
mod config;
mod cycle;
mod deps;
mod detect;
pub mod due;
mod error;
mod grpc;
mod history;
mod hooks;
mod import;
mod keyed;
pub mod lease;
mod merge;
mod metrics;
mod pairs;
mod people;
mod plan;
mod records;
pub mod run;
pub mod scheduler;
mod settings;
pub mod store;
mod stream;
mod submit;
mod sweep;
mod write;

pub use config::{Config, Options};
pub use error::Error;
pub use import::BULK_PAGE;

use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::monday_connector_client::MondayConnectorClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::salesforce_connector_client::SalesforceConnectorClient;
use tandem_proto::v1::sync_orchestrator_server::SyncOrchestratorServer;
use tandem_service::client::{Outbound, connect_lazy};
use tandem_service::server::{self, Authenticate, GrpcServer, USER_MESSAGE_BYTES};
use tokio_util::sync::CancellationToken;

/// How long a call to mapping-config or run-history may take.
const PEER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a call to a connector may take: a connector waits out its remote's budget
/// (monday: about 1,000 item writes a minute on a standard token) and retries, so a batch of
/// writes or a large poll legitimately takes minutes. It is a backstop, not a schedule.
const CONNECTOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

pub const NAME: &str = "sync-orchestrator";
/// The default listen port.
pub const DEFAULT_PORT: u16 = 50054;
/// The Postgres schema this service owns.
pub const SCHEMA: &str = "sync";
/// Its migrations, embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Connects storage (applying migrations) and binds `config.listen`; serve the result.
pub async fn bind(config: Config) -> Result<GrpcServer, Error> {
    let listener = server::bind(config.listen).await?;
    bind_on(listener, config).await
}

/// Like [`bind`], on a listener bound already (`config.listen` is ignored).
pub async fn bind_on(
    listener: tokio::net::TcpListener,
    config: Config,
) -> Result<GrpcServer, Error> {
    let pool = tandem_service::storage::connect_postgres(
        &config.infra.database_url,
        SCHEMA,
        &MIGRATOR,
        10,
    )
    .await?;
    let redis = tandem_service::storage::connect_redis(&config.infra.redis_url).await?;
    let outbound = Outbound::service(&config.infra.auth, NAME)
        .map_err(|e| Error::Config(e.to_string()))?
        .with_tls(&config.infra.tls);
    let peer_within = |url: &str, timeout| {
        connect_lazy(url, outbound.clone(), timeout).map_err(|e| Error::Config(e.to_string()))
    };
    let peer = |url: &str| peer_within(url, PEER_TIMEOUT);
    let peers = deps::Peers {
        mapping_config: MappingConfigClient::new(peer(&config.peers.mapping_config_url)?),
        salesforce: SalesforceConnectorClient::new(peer_within(
            &config.peers.connector_salesforce_url,
            CONNECTOR_TIMEOUT,
        )?)
        .max_decoding_message_size(tandem_service::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(tandem_service::MAX_MESSAGE_BYTES),
        monday: MondayConnectorClient::new(peer_within(
            &config.peers.connector_monday_url,
            CONNECTOR_TIMEOUT,
        )?)
        .max_decoding_message_size(tandem_service::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(tandem_service::MAX_MESSAGE_BYTES),
        history: RunHistoryClient::new(peer(&config.peers.run_history_url)?)
            .max_decoding_message_size(tandem_service::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(tandem_service::MAX_MESSAGE_BYTES),
    };
    let replica = format!(
        "{NAME}@{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    let positions = stream::Positions::new(
        redis.clone(),
        pool.clone(),
        &config.infra.redis_prefix,
        &replica,
    );
    let deps = deps::Deps {
        peers,
        store: store::Store::new(pool.clone()),
        due: due::DueQueue::new(pool.clone()),
        buffer: coalesce::Buffer::new(redis.clone(), &config.infra.redis_prefix),
        leases: lease::Leases::new(redis, pool.clone(), &config.infra.redis_prefix, &replica),
        catalogs: Default::default(),
        sweep_every: std::time::Duration::from_secs(config.options.deletion_sweep_seconds),
        lease_ttl: std::time::Duration::from_millis(config.options.lease_ms),
        import_page: config.options.import_page_size,
        salesforce_concurrency: usize::from(config.options.salesforce_write_concurrency),
        metrics: metrics::Metrics::new(),
        stopping: CancellationToken::new(),
    };
    let mut background: Vec<tandem_service::server::Background> = Vec::new();
    {
        let stopping = deps.stopping.clone();
        background.push(Box::new(move |shutdown| {
            Box::pin(async move {
                shutdown.cancelled().await;
                stopping.cancel();
            })
        }));
    }
    if config.options.scheduler_tick_ms > 0 {
        let tick = std::time::Duration::from_millis(config.options.scheduler_tick_ms);
        let concurrency = usize::from(config.options.scheduler_concurrency.max(1));
        let deps = deps.clone();
        background.push(Box::new(move |shutdown| {
            Box::pin(scheduler::run(deps, tick, concurrency, shutdown))
        }));
    }
    if config.options.salesforce_change_events {
        let (deps, ttl) = (deps.clone(), deps.lease_ttl);
        background.push(Box::new(move |shutdown| {
            Box::pin(stream::run(deps, positions, ttl, shutdown))
        }));
    }
    if let Some(url) = config.options.monday_webhook_url.clone() {
        let url = checked_webhook_url(url)?;
        let (deps, registrations) = (deps.clone(), hooks::Registrations::new(pool.clone()));
        background.push(Box::new(move |shutdown| {
            Box::pin(hooks::run(deps, registrations, url, shutdown))
        }));
    }
    let service = grpc::SyncOrchestratorService::new(deps);
    // Users get a small decoding limit, services (SubmitChanges from the webhook ingress) the
    // large one; users are told apart by their token before the body is read.
    let server = SyncOrchestratorServer::new(service)
        .max_encoding_message_size(tandem_service::MAX_MESSAGE_BYTES);
    let routes = tonic::service::Routes::new(
        Authenticate::new(config.infra.auth.verifier.clone()).by_caller(
            server.clone().max_decoding_message_size(USER_MESSAGE_BYTES),
            server.max_decoding_message_size(tandem_service::MAX_MESSAGE_BYTES),
            grpc::SERVICE_ONLY,
        ),
    );
    Ok(GrpcServer {
        name: NAME,
        tls: config.infra.tls.server(),
        listener,
        routes,
        background,
        health_names: vec!["tandem.v1.SyncOrchestrator"],
    })
}

/// The monday webhook URL, if it is an absolute http(s) URL.
fn checked_webhook_url(url: String) -> Result<String, Error> {
    let url = url.trim().to_owned();
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(url);
    }
    Err(Error::Config(
        "monday_webhook_url (TANDEM_MONDAY_WEBHOOK_URL) must be an absolute http(s) URL".into(),
    ))
}

/// Runs sync-orchestrator until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await?;
    Ok(())
}
