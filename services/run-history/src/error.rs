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
}
