//! run-history: every run and every record's outcome, queryable, with retention. Postgres schema `history`.

mod config;
mod error;
mod explain;
mod grpc;
mod page;
mod purge;
mod store;

pub use config::{Config, Options};
pub use error::Error;

use tandem_proto::v1::run_history_server::RunHistoryServer;
use tandem_service::server::{self, Authenticate, GrpcServer, USER_MESSAGE_BYTES};
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "run-history";
/// The default listen port.
pub const DEFAULT_PORT: u16 = 50055;
/// The Postgres schema this service owns.
pub const SCHEMA: &str = "history";
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
    let store = store::Store::new(pool);
    let retention = config.options.retention();
    let every = std::time::Duration::from_secs(config.options.purge_interval_seconds.max(1));
    let service = grpc::RunHistoryService::new(store.clone(), retention);
    // Users get a small decoding limit, services the large one; users are told apart from
    // services by their token before the body is read.
    let server =
        RunHistoryServer::new(service).max_encoding_message_size(tandem_service::MAX_MESSAGE_BYTES);
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
        background: vec![Box::new(move |shutdown| {
            Box::pin(purge::run(store, retention, every, shutdown))
        })],
        health_names: vec!["tandem.v1.RunHistory"],
    })
}

/// Runs run-history until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await?;
    Ok(())
}
