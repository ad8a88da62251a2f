//! connector-salesforce: speaks the Salesforce REST API on behalf of a connection.
//!
//! OAuth RPCs (`AuthorizeUrl`, `ExchangeCode`, `RefreshToken`, `RevokeToken`) take a
//! subdomain and environment; data RPCs take a mapping-config `connection_id` and fetch its
//! credentials from mapping-config (`GetCredentials`, `RefreshCredentials`). Every RPC is for
//! Tandem services only. Large imports and reads go through Bulk API 2.0 (`BulkWrite`,
//! `BulkQuery`, `GetBulkSettings`): how the orchestrator calls them is in `bulk/mod.rs`.

mod api;
mod budget;
mod bulk;
mod cdc;
mod config;
mod credentials;
mod error;
mod grpc;
mod hosts;
mod oauth;
mod pages;
mod poll;
mod read;
mod schema;
mod transport;
mod users;
mod write;

pub use budget::Clock;
pub use config::{BulkOptions, Config, DEFAULT_API_VERSION, DEFAULT_PUBSUB_URL, Options};
pub use error::Error;
pub use oauth::SCOPES;

use std::sync::Arc;
use std::time::Duration;

use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::salesforce_connector_server::SalesforceConnectorServer;
use tandem_service::client::{Outbound, connect_lazy};
use tandem_service::server::{self, Authenticate, GrpcServer, USER_MESSAGE_BYTES};
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "connector-salesforce";
/// The default listen port.
pub const DEFAULT_PORT: u16 = 50051;
/// How long a call to mapping-config may take.
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
    let options = &config.options;
    options.check().map_err(Error::Config)?;
    let redis = tandem_service::storage::connect_redis(&config.infra.redis_url).await?;
    let retry = transport::Retry {
        attempts: options.retry_attempts,
        base: Duration::from_millis(options.retry_base_ms),
    };
    let transport = transport::Transport::new(options.request_timeout(), retry)?;
    let oauth = oauth::OAuth::new(
        options.client_id.clone(),
        options.client_secret.clone(),
        config.remote.salesforce_login_url.clone(),
        transport.clone(),
    );
    let channel = connect_lazy(
        &config.peers.mapping_config_url,
        Outbound::service(&config.infra.auth, NAME)
            .map_err(|e| Error::Config(e.to_string()))?
            .with_tls(&config.infra.tls),
        PEER_TIMEOUT,
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    let api = Arc::new(api::Api {
        transport,
        credentials: credentials::Credentials::new(MappingConfigClient::new(channel)),
        budget: budget::Budget::new(
            redis,
            &config.infra.redis_prefix,
            options.max_budget_share,
            options.usage_max_age(),
            options.clock.clone(),
        ),
        instance_override: config.remote.salesforce_instance_url.clone(),
        version: options.api_version.clone(),
        describes: schema::DescribeCache::new(options.describe_ttl()),
        overlap: Duration::from_secs(options.poll_overlap_seconds),
        bulk: options.bulk.clone(),
    });
    let cdc = Arc::new(cdc::Subscriber::new(&options.pubsub_url)?);
    let service = grpc::SalesforceConnectorService::new(oauth, api, cdc);
    // Users get a small decoding limit, services the large one; users are told apart from
    // services by their token before the body is read.
    let server = SalesforceConnectorServer::new(service)
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
        background: Vec::new(),
        health_names: vec!["tandem.v1.SalesforceConnector"],
    })
}

/// Runs connector-salesforce until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await?;
    Ok(())
}
