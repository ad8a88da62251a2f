//! Flags and environment variables shared by the service binaries and `tandem up`.

use crate::auth::{Auth, AuthArgs};

/// Where the shared infrastructure is, and how callers are identified.
#[derive(Debug, Clone, clap::Args)]
pub struct InfraArgs {
    /// Postgres URL; each service keeps its tables in its own schema.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1/test"
    )]
    pub database_url: String,
    /// Redis URL, for locks, coalescing buffers and API budgets.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Prefix of every Redis key, so deployments can share a Redis.
    #[arg(long, env = "TANDEM_REDIS_PREFIX", default_value = "tandem")]
    pub redis_prefix: String,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// The shared infrastructure, resolved: what a service's `Config` holds.
#[derive(Debug, Clone)]
pub struct Infra {
    pub database_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub auth: Auth,
}

impl InfraArgs {
    /// Checks the identity settings and returns the resolved infrastructure settings.
    pub fn resolve(&self) -> Result<Infra, String> {
        Ok(Infra {
            database_url: self.database_url.clone(),
            redis_url: self.redis_url.clone(),
            redis_prefix: self.redis_prefix.clone(),
            auth: self.auth.resolve()?,
        })
    }
}

/// Where a service finds its peers.
#[derive(Debug, Clone, clap::Args)]
pub struct PeerArgs {
    #[arg(
        long,
        env = "TANDEM_CONNECTOR_SALESFORCE_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    pub connector_salesforce_url: String,
    #[arg(
        long,
        env = "TANDEM_CONNECTOR_MONDAY_URL",
        default_value = "http://127.0.0.1:50052"
    )]
    pub connector_monday_url: String,
    #[arg(
        long,
        env = "TANDEM_MAPPING_CONFIG_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub mapping_config_url: String,
    #[arg(
        long,
        env = "TANDEM_SYNC_ORCHESTRATOR_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub sync_orchestrator_url: String,
    #[arg(
        long,
        env = "TANDEM_RUN_HISTORY_URL",
        default_value = "http://127.0.0.1:50055"
    )]
    pub run_history_url: String,
}

/// Endpoints of the two remote systems; overridable to point at the simulators.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Replaces the instance URL derived from the subdomain (e.g. the simulator's URL).
    #[arg(long, env = "TANDEM_SALESFORCE_INSTANCE_URL")]
    pub salesforce_instance_url: Option<String>,
    /// Replaces the login URL derived from the subdomain, for OAuth.
    #[arg(long, env = "TANDEM_SALESFORCE_LOGIN_URL")]
    pub salesforce_login_url: Option<String>,
    #[arg(
        long,
        env = "TANDEM_MONDAY_API_URL",
        default_value = "https://api.monday.com/v2"
    )]
    pub monday_api_url: String,
}
