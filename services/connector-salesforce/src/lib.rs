//! connector-salesforce: speaks the Salesforce REST API on behalf of a connection.

mod config;
mod error;
mod grpc;

pub use config::{Config, Options};
pub use error::Error;

use tandem_proto::v1::salesforce_connector_server::SalesforceConnectorServer;
use tandem_service::server::{self, Authenticate, GrpcServer};
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "connector-salesforce";
/// The default listen port.
pub const DEFAULT_PORT: u16 = 50051;

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
    let redis = tandem_service::storage::connect_redis(&config.infra.redis_url).await?;
    let service = grpc::SalesforceConnectorService::new(redis);
    let routes = tonic::service::Routes::new(
        Authenticate::new(config.infra.signer.clone())
            .wrap(SalesforceConnectorServer::new(service)),
    );
    Ok(GrpcServer {
        name: NAME,
        listener,
        routes,
        background: Vec::new(),
        health_names: vec!["tandem.v1.SalesforceConnector"],
    })
}

/// Runs connector-salesforce until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await?;
    Ok(())
}
