//! The one error type of the connector. Each variant carries what a person needs (the field,
//! Salesforce's own code and message); `grpc.rs` maps it to a gRPC status. No variant holds a
//! token or secret.

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

    /// Bad input from the caller; `field` names it (`subdomain`, `writes[3].fields.Name`).
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// Something the connector itself lacks (e.g. the OAuth client id).
    #[error("{0}")]
    NotConfigured(String),
    /// An OAuth endpoint refused (`invalid_grant`, `invalid_client_id`, …); verbatim.
    #[error("salesforce refused the {during}: {error}: {description}")]
    OAuth {
        during: &'static str,
        error: String,
        description: String,
    },
    /// Salesforce still answers 401 after one refresh of the connection's token.
    #[error(
        "salesforce rejects the credentials of connection {connection_id} even after a refresh ({detail}); the connection needs re-authentication"
    )]
    NeedsReauthentication {
        connection_id: String,
        detail: String,
    },
    /// mapping-config answered a credentials request with an error.
    #[error("credentials of connection {connection_id}: {status}")]
    Credentials {
        connection_id: String,
        status: tonic::Status,
    },
    /// A REST call failed as a whole; Salesforce's code and message verbatim.
    #[error("salesforce answered {status} {code}: {message}")]
    Remote {
        status: u16,
        code: String,
        message: String,
        fields: Vec<String>,
    },
    /// Salesforce's own daily limit (`REQUEST_LIMIT_EXCEEDED`).
    #[error("salesforce API limit reached ({code}): {message}")]
    RequestLimit { code: String, message: String },
    /// Tandem's own share of the org's daily allocation is spent.
    #[error(
        "salesforce API budget spent for org {org}: {used} of {max} daily calls used, Tandem may use {share_percent}%; retry after the daily allocation frees up"
    )]
    BudgetSpent {
        org: String,
        used: u64,
        max: u64,
        share_percent: u32,
    },
    /// Salesforce could not be reached or kept failing after retries.
    #[error("salesforce is unavailable: {0}")]
    Unavailable(String),
    /// A change event subscription (Pub/Sub API) was refused or ended; Salesforce's words.
    #[error("salesforce change events of {topic}: {message}")]
    ChangeEvents {
        topic: String,
        failure: StreamFailure,
        message: String,
    },
    /// A response Salesforce should never give (unparseable body, …).
    #[error("unexpected salesforce response: {0}")]
    Protocol(String),
}

/// Why a change event stream failed, as the subscriber must branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFailure {
    /// The replay id is older than the retention (or not one): resume without it and poll.
    ReplayGone,
    /// The object has no change events.
    NoTopic,
    /// The org's event delivery allocation is spent.
    AllocationSpent,
    /// The stream ended or could not be opened: resume from the last stored replay id.
    Dropped,
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
