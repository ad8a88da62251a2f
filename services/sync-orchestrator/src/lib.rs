//! sync-orchestrator: scheduling, locks, coalescing, links, merge and writes. Postgres schema `sync`.

pub mod buffer;
mod config;
mod error;
mod grpc;
pub mod lease;
pub mod plan;
pub mod store;

pub use config::{Config, Options};
pub use error::Error;

use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::sync_orchestrator_server::SyncOrchestratorServer;
use tandem_service::client::{Outbound, connect_lazy};
use tandem_service::server::{self, Authenticate, GrpcServer};
use tokio_util::sync::CancellationToken;

/// How long a call to a peer service may take.
const PEER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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
    let outbound = Outbound::service(config.infra.signer.clone(), NAME);
    let mapping_config = connect_lazy(&config.peers.mapping_config_url, outbound, PEER_TIMEOUT)
        .map_err(|e| Error::Config(e.to_string()))?;
    let service = grpc::SyncOrchestratorService::new(
        store::Store::new(pool),
        buffer::Buffer::new(redis, &config.infra.redis_prefix),
        MappingConfigClient::new(mapping_config),
    );
    let routes = tonic::service::Routes::new(
        Authenticate::new(config.infra.signer.clone()).wrap(SyncOrchestratorServer::new(service)),
    );
    Ok(GrpcServer {
        name: NAME,
        listener,
        routes,
        background: Vec::new(),
        health_names: vec!["tandem.v1.SyncOrchestrator"],
    })
}

/// Runs sync-orchestrator until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await?;
    Ok(())
}
