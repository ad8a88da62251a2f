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

/// A database error reaching a caller: logged once here, reported without internals.
pub(crate) fn internal(error: sqlx::Error) -> tonic::Status {
    tracing::error!(%error, "config database error");
    tonic::Status::unavailable("mapping-config storage is unavailable; retry later")
}

/// A Redis error reaching a caller.
pub(crate) fn redis_down(error: redis::RedisError) -> tonic::Status {
    tracing::error!(%error, "config redis error");
    tonic::Status::unavailable("mapping-config lock storage is unavailable; retry later")
}

/// A connector call that failed: retryable classes keep their code, the message names the peer.
pub(crate) fn peer(peer: &str, status: tonic::Status) -> tonic::Status {
    use tonic::Code;
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            tracing::warn!(peer, code = ?status.code(), "peer call failed");
            tonic::Status::unavailable(format!("{peer} is unavailable: {}", status.message()))
        }
        Code::ResourceExhausted => tonic::Status::resource_exhausted(format!(
            "{peer}: remote rate limit: {}",
            status.message()
        )),
        code => tonic::Status::new(code, format!("{peer}: {}", status.message())),
    }
}
