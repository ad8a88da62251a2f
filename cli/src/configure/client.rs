//! Where the services are and who is calling: the flags every configuration command shares,
//! and clients that carry the caller's bearer token.

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use secrecy::SecretString;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_service::{Identity, TokenSigner};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// How long a token minted from the deployment secret lives: one command's worth.
const MINTED_TTL: Duration = Duration::from_secs(15 * 60);
/// How long to wait for a service to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Service URLs, credentials and the output format (global: accepted after any subcommand).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Services and credentials")]
pub struct ClientArgs {
    /// The mapping-config service.
    #[arg(
        long,
        global = true,
        env = "TANDEM_MAPPING_CONFIG_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub mapping_config_url: String,
    /// The sync-orchestrator service.
    #[arg(
        long,
        global = true,
        env = "TANDEM_SYNC_ORCHESTRATOR_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub sync_orchestrator_url: String,
    /// The run-history service.
    #[arg(
        long,
        global = true,
        env = "TANDEM_RUN_HISTORY_URL",
        default_value = "http://127.0.0.1:50055"
    )]
    pub run_history_url: String,
    /// A caller token (a bearer JWT, e.g. from `tandem token`): from TANDEM_TOKEN or the file
    /// TANDEM_TOKEN_FILE names, never from the command line.
    #[arg(long, global = true, env = "TANDEM_TOKEN", hide = true)]
    pub token: Option<String>,
    /// Without a token: the development secret to mint one with (TANDEM_AUTH_SECRET or
    /// TANDEM_AUTH_SECRET_FILE, never the command line).
    #[arg(long, global = true, env = "TANDEM_AUTH_SECRET", hide = true)]
    pub auth_secret: Option<String>,
    /// Without a token: the account to act in.
    #[arg(long, global = true, env = "TANDEM_ACCOUNT")]
    pub account: Option<String>,
    /// Without a token: the user (email) to act as.
    #[arg(long, global = true, env = "TANDEM_EMAIL")]
    pub email: Option<String>,
    /// The CA bundle (PEM) the services' certificates are checked against, for https:// URLs.
    #[arg(long, global = true, env = "TANDEM_TLS_CA")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Print JSON (for scripts) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The token `tandem login` kept (renewed if it expired), unless a development secret is set
/// (which then decides).
async fn signed_in_token() -> anyhow::Result<Option<String>> {
    let secret_set = ["TANDEM_AUTH_SECRET", "TANDEM_AUTH_SECRET_FILE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    match crate::login::default_token_file().filter(|_| !secret_set) {
        Some(path) => crate::login::renew::current(&path).await,
        None => Ok(None),
    }
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(AsciiMetadataValue);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// The resolved flags: credentials checked, services connected on first use.
pub struct Session {
    args: ClientArgs,
    bearer: Bearer,
}

impl Session {
    /// Resolves the credentials (no network unless a kept token needs renewing).
    pub async fn new(args: &ClientArgs) -> anyhow::Result<Session> {
        let from_file = |given: &Option<String>, var: &str| match given {
            Some(v) if !v.is_empty() => Ok(Some(v.clone())),
            _ => tandem_service::argv::secret_from_env(var).map_err(anyhow::Error::msg),
        };
        let token = match from_file(&args.token, "TANDEM_TOKEN")? {
            Some(token) => Some(token),
            None => signed_in_token().await?,
        };
        let auth_secret = from_file(&args.auth_secret, "TANDEM_AUTH_SECRET")?;
        let token = match (&token, &auth_secret) {
            (Some(token), _) if !token.trim().is_empty() => token.trim().to_owned(),
            (_, Some(secret)) if !secret.is_empty() => {
                let (Some(account), Some(email)) = (&args.account, &args.email) else {
                    bail!(
                        "minting a token from TANDEM_AUTH_SECRET needs --account and --email (or TANDEM_ACCOUNT and TANDEM_EMAIL)"
                    );
                };
                let signer = TokenSigner::new(SecretString::from(secret.clone()))
                    .map_err(|e| anyhow!("{e}"))?;
                signer.mint(
                    &Identity::User {
                        account: account.clone(),
                        email: email.clone(),
                    },
                    MINTED_TTL,
                )
            }
            _ => bail!(
                "no credentials: run `tandem login`, or set TANDEM_TOKEN (or TANDEM_TOKEN_FILE) to your token, or in development mode TANDEM_AUTH_SECRET with --account and --email"
            ),
        };
        let value: AsciiMetadataValue = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| {
                anyhow!("TANDEM_TOKEN is not a valid token (it has characters a JWT never has)")
            })?;
        Ok(Session {
            args: args.clone(),
            bearer: Bearer(value),
        })
    }

    pub fn json(&self) -> bool {
        self.args.json
    }

    pub async fn mapping_config(&self) -> anyhow::Result<MappingConfigClient<Authed>> {
        let channel = self
            .connect("mapping-config", &self.args.mapping_config_url)
            .await?;
        Ok(MappingConfigClient::with_interceptor(
            channel,
            self.bearer.clone(),
        ))
    }

    pub async fn orchestrator(&self) -> anyhow::Result<SyncOrchestratorClient<Authed>> {
        let channel = self
            .connect("sync-orchestrator", &self.args.sync_orchestrator_url)
            .await?;
        Ok(SyncOrchestratorClient::with_interceptor(
            channel,
            self.bearer.clone(),
        ))
    }

    pub async fn run_history(&self) -> anyhow::Result<RunHistoryClient<Authed>> {
        let channel = self
            .connect("run-history", &self.args.run_history_url)
            .await?;
        Ok(RunHistoryClient::with_interceptor(
            channel,
            self.bearer.clone(),
        ))
    }
}

impl Session {
    /// Connects now, so an unreachable service is reported as such (and not as whatever the
    /// first call would have said); an https:// URL over TLS checked against TANDEM_TLS_CA.
    async fn connect(&self, name: &str, url: &str) -> anyhow::Result<Channel> {
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .ok()
            .filter(|_| url.starts_with("http://") || url.starts_with("https://"))
            .with_context(|| format!("--{name}-url `{url}` is not an http(s):// URL"))?
            .connect_timeout(CONNECT_TIMEOUT);
        if url.starts_with("https://") {
            let Some(path) = &self.args.tls_ca else {
                bail!(
                    "--{name}-url is https://: set TANDEM_TLS_CA (or --tls-ca) to the CA bundle its certificate is checked against"
                );
            };
            let ca = std::fs::read(path)
                .with_context(|| format!("TANDEM_TLS_CA `{}`", path.display()))?;
            let host = endpoint.uri().host().unwrap_or_default().to_owned();
            endpoint = endpoint
                .tls_config(
                    ClientTlsConfig::new()
                        .ca_certificate(Certificate::from_pem(ca))
                        .domain_name(host),
                )
                .map_err(|e| anyhow!("TANDEM_TLS_CA: {e}"))?;
        }
        endpoint
            .connect()
            .await
            .map_err(|_| anyhow!("{name} at {url} is not reachable"))
    }
}

/// A gRPC answer's message, or the service's refusal as it wrote it.
pub trait Answer<T> {
    fn answer(self) -> anyhow::Result<T>;
}

impl<T> Answer<T> for Result<tonic::Response<T>, tonic::Status> {
    fn answer(self) -> anyhow::Result<T> {
        self.map(tonic::Response::into_inner).map_err(|status| {
            if status.message().is_empty() {
                anyhow!("{}", status.code().description())
            } else {
                anyhow!("{}", status.message())
            }
        })
    }
}
