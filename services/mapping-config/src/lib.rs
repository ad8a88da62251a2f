//! mapping-config: connections, integrations, validation and suggested mappings. Postgres schema `config`.

mod config;
mod crypto;
mod error;
mod grpc;
mod peers;
pub mod purge;
mod store;
mod suggest;
mod validate;

pub use config::{Config, Options};
pub use crypto::{KeyError, KeyRing, Purpose};
pub use error::Error;

use tandem_proto::v1::mapping_config_server::MappingConfigServer;
use tandem_service::server::{self, Authenticate, Background, GrpcServer};
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "mapping-config";
/// The default listen port.
pub const DEFAULT_PORT: u16 = 50053;
/// The Postgres schema this service owns.
pub const SCHEMA: &str = "config";
/// The largest request accepted (a spec is capped at 1 MiB by validation, with a clear
/// message; this stops anything far larger before it is decoded).
pub const MAX_REQUEST_BYTES: usize = 2 << 20;
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
    // Checked first: a service that cannot read its tokens must not start.
    let keys = config
        .options
        .encryption_keys
        .clone()
        .ok_or(crate::crypto::KeyError::Missing)?;
    let pool = tandem_service::storage::connect_postgres(
        &config.infra.database_url,
        SCHEMA,
        &MIGRATOR,
        10,
    )
    .await?;
    // Not fatal: until it succeeds, such integrations are polled but get no change events.
    match store::integrations::fill_objects(&pool).await {
        Ok(0) => {}
        Ok(filled) => tracing::info!(filled, "salesforce object copied out of integration specs"),
        Err(error) => tracing::warn!(%error, "salesforce objects of older integrations not filled"),
    }
    let redis = tandem_service::storage::connect_redis(&config.infra.redis_url).await?;
    let peers = peers::Peers::connect(&config.peers, &config.infra.auth, &config.infra.tls)
        .map_err(Error::Config)?;
    let purging = pool.clone();
    let purge: Background = Box::new(move |shutdown| Box::pin(purge::run(purging, shutdown)));
    let service = grpc::MappingConfigService::new(
        pool,
        redis,
        config.infra.redis_prefix.clone(),
        keys,
        peers,
    );
    let server = MappingConfigServer::new(service)
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_REQUEST_BYTES);
    let routes = tonic::service::Routes::new(
        Authenticate::new(config.infra.auth.verifier.clone())
            .by_caller(server.clone(), server, grpc::SERVICE_ONLY)
            .shared_with(grpc::SHARED),
    );
    Ok(GrpcServer {
        name: NAME,
        tls: config.infra.tls.server(),
        listener,
        routes,
        background: vec![purge],
        health_names: vec!["tandem.v1.MappingConfig"],
    })
}

/// Runs mapping-config until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await?;
    Ok(())
}
