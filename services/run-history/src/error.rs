use tandem_service::server::ServeError;
use tandem_service::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// A database error reaching a caller: logged once, reported without internals.
pub(crate) fn internal(error: sqlx::Error) -> tonic::Status {
    tandem_service::status::unavailable("run history storage", error)
}
