use tandem_service::server::ServeError;
use tandem_service::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// A database error reaching a caller: logged once here, reported without internals.
pub(crate) fn internal(error: sqlx::Error) -> tonic::Status {
    tracing::error!(%error, "history database error");
    tonic::Status::unavailable("run history storage is unavailable; retry later")
}
