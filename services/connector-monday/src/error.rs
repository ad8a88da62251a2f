//! The connector's one error type; `grpc.rs` maps it to gRPC statuses.

use tandem_service::server::ServeError;
use tandem_service::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot listen for webhooks on {addr}: {source}")]
    WebhookBind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// Bad input from the caller; the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// monday answered 401: the token is revoked or expired (monday tokens do not refresh).
    #[error("monday connection {connection_id} needs re-authentication: monday refused its token")]
    Reauthenticate { connection_id: String },
    /// mapping-config could not hand out the credentials.
    #[error("credentials of connection {connection_id}: {status}")]
    Credentials {
        connection_id: String,
        status: tonic::Status,
    },
    /// A rate limit or complexity budget that was not waited out.
    #[error("monday rate limit {code}: retry in {retry_in_seconds} s")]
    RateLimited { code: String, retry_in_seconds: u64 },
    /// monday (or the network to it) is down after retries.
    #[error("monday is unavailable: {0}")]
    Unavailable(String),
    /// monday refused the whole request with its own error code and message.
    #[error("monday error {code}: {message}")]
    Remote { code: String, message: String },
}
