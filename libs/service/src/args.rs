//! Flags and environment variables shared by the service binaries and `tandem up`.

use crate::auth::{Auth, AuthArgs};
use crate::tls::{Tls, TlsArgs};

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
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// The shared infrastructure, resolved: what a service's `Config` holds.
#[derive(Debug, Clone)]
pub struct Infra {
    pub database_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub auth: Auth,
    /// TLS of this service's listeners and of its calls to `https://` peers.
    pub tls: Tls,
}

impl InfraArgs {
    /// Checks the identity and TLS settings and returns the resolved infrastructure
    /// settings. Outside development mode a certificate is required: bearer tokens never
    /// cross the network in clear.
    pub fn resolve(&self) -> Result<Infra, String> {
        let auth = self.auth.resolve()?;
        let tls = self.tls.resolve()?;
        if !auth.verifier.is_development() && !tls.serves_tls() {
            return Err("outside development mode every gRPC listener serves TLS: set TANDEM_TLS_CERT and TANDEM_TLS_KEY (and TANDEM_TLS_CA to check https:// peers); plaintext is for TANDEM_DEV_AUTH=1 only".to_owned());
        }
        Ok(Infra {
            database_url: self.database_url.clone(),
            redis_url: self.redis_url.clone(),
            redis_prefix: self.redis_prefix.clone(),
            auth,
            tls,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn infra_args(auth: AuthArgs) -> InfraArgs {
        InfraArgs {
            database_url: String::new(),
            redis_url: String::new(),
            redis_prefix: String::new(),
            auth,
            tls: TlsArgs::default(),
        }
    }

    #[test]
    fn plaintext_is_for_development_mode_only() {
        let production = infra_args(AuthArgs {
            oidc_issuer: Some("https://id.example.com".into()),
            oidc_audience: Some("tandem".into()),
            ..AuthArgs::default()
        });
        let error = production.resolve().unwrap_err();
        assert!(error.contains("TANDEM_TLS_CERT"), "{error}");
        let half = InfraArgs {
            tls: TlsArgs {
                tls_cert: Some("/nonexistent/cert.pem".into()),
                ..TlsArgs::default()
            },
            ..production
        };
        assert!(half.resolve().unwrap_err().contains("both"));
        let development = infra_args(AuthArgs {
            dev_auth: true,
            auth_secret: Some("0123456789abcdef0123456789abcdef".to_owned().into()),
            ..AuthArgs::default()
        });
        assert!(!development.resolve().unwrap().tls.serves_tls());
    }
}
