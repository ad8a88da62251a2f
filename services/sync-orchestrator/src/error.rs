//! Start-up errors of the service (storage, serving, configuration); a run's own errors are
//! `run::CycleError`.

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
