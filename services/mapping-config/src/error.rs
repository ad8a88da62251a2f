use tandem_service::server::ServeError;
use tandem_service::storage::StorageError;

use crate::crypto::KeyError;

/// Start-up failures of mapping-config.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("configuration: {0}")]
    Config(String),
}

/// A connector call that failed: retryable classes keep their code, the message names the peer.
pub(crate) use tandem_service::status::peer;

/// A database error reaching a caller: logged once, reported without internals.
pub(crate) fn internal(error: sqlx::Error) -> tonic::Status {
    tandem_service::status::unavailable("mapping-config storage", error)
}

/// A Redis error reaching a caller.
pub(crate) fn redis_down(error: redis::RedisError) -> tonic::Status {
    tandem_service::status::unavailable("mapping-config lock storage", error)
}
