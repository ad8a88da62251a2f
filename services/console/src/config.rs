//! What the console is started with: where it listens and is reached, how users sign in, where
//! sessions live and where the services it calls are.

use std::net::SocketAddr;
use tandem_service::argv::secret;

use secrecy::SecretString;

use crate::seal::SessionKeys;
use tandem_service::auth::{Auth, AuthArgs};
use tandem_service::tls::{Tls, TlsArgs};

/// The console's own settings (flags and `TANDEM_CONSOLE_…` environment).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The address browsers reach the console at (scheme, host, port; no path). Its scheme
    /// decides whether the session cookie is `Secure`, and OpenID Connect redirects to
    /// `<url>/auth/callback`. Outside development mode it must be https (put the console
    /// behind a TLS-terminating ingress).
    #[arg(
        long,
        env = "TANDEM_CONSOLE_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
    /// The client id the console signs users in with at the identity provider (default:
    /// TANDEM_OIDC_AUDIENCE, so the ID tokens it receives are the ones the services accept).
    #[arg(long, env = "TANDEM_CONSOLE_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// The client secret, for a confidential client (a public client relies on PKCE alone).
    #[arg(long, env = "TANDEM_CONSOLE_OIDC_CLIENT_SECRET", hide = true, value_parser = secret)]
    pub oidc_client_secret: Option<SecretString>,
    /// Scopes asked of the identity provider.
    #[arg(
        long,
        env = "TANDEM_CONSOLE_OIDC_SCOPES",
        default_value = "openid email profile"
    )]
    pub oidc_scopes: String,
    /// Where sessions are kept: `redis` (shared by every console replica) or `memory` (one
    /// replica; sessions end when it restarts).
    #[arg(long, env = "TANDEM_CONSOLE_SESSIONS", default_value = "redis", value_parser = ["redis", "memory"])]
    pub sessions: String,
    /// The keys sessions are sealed with in Redis (AES-256-GCM): `1:<base64 of 32 bytes>`, e.g.
    /// `1:$(openssl rand -base64 32)`; add `,2:<…>` to rotate (the highest seals, every one
    /// opens). Required with Redis sessions outside development mode, the same on every
    /// replica; development mode without it makes one per start.
    #[arg(long, env = "TANDEM_CONSOLE_SESSION_KEYS", hide = true, value_parser = secret)]
    pub session_keys: Option<SecretString>,
    /// The longest a signed-in session lasts, in hours (a provider's token may end it sooner).
    #[arg(long, env = "TANDEM_CONSOLE_SESSION_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u64).range(1..=168))]
    pub session_hours: u64,
    /// Development mode only: what the sign-in form is filled with (the demo's user).
    #[arg(long, env = "TANDEM_CONSOLE_DEV_ACCOUNT", hide = true)]
    pub dev_account: Option<String>,
    #[arg(long, env = "TANDEM_CONSOLE_DEV_EMAIL", hide = true)]
    pub dev_email: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            public_url: "http://127.0.0.1:8080".to_owned(),
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_scopes: "openid email profile".to_owned(),
            sessions: "redis".to_owned(),
            session_keys: None,
            session_hours: 12,
            dev_account: None,
            dev_email: None,
        }
    }
}

/// The services the console calls, as the signed-in user.
#[derive(Debug, Clone, clap::Args)]
pub struct Peers {
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

/// Where sessions are kept.
#[derive(Debug, Clone)]
pub enum SessionBackend {
    Memory,
    /// Redis at `url`, keys under `prefix`.
    Redis {
        url: String,
        prefix: String,
    },
}

/// Everything the console runs with; tests build it directly.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// How user tokens are checked (and, in development mode, minted).
    pub auth: Auth,
    /// The CA bundle `https://` peers are checked against.
    pub tls: Tls,
    /// Serve HTTPS with this (from TANDEM_TLS_CERT and TANDEM_TLS_KEY); plain HTTP when unset.
    pub https: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// The identity provider's issuer (OpenID Connect sign-in); `None` in development mode.
    pub oidc_issuer: Option<String>,
    /// The audience the services expect (the default client id).
    pub oidc_audience: Option<String>,
    /// CA certificates (PEM) trusted for the identity provider besides the system's.
    pub oidc_ca: Option<Vec<u8>>,
    pub sessions: SessionBackend,
    pub peers: Peers,
    pub options: Options,
}

/// The command-line form of [`Config`]: what `console` and `tandem up` take.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    #[arg(long, env = "TANDEM_REDIS_PREFIX", default_value = "tandem")]
    pub redis_prefix: String,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub peers: Peers,
    #[command(flatten)]
    pub options: Options,
}

impl Args {
    /// Checks the settings; an error names the setting at fault.
    pub fn resolve(&self, listen: SocketAddr) -> Result<Config, String> {
        let auth = self.auth.resolve()?;
        let tls = self.tls.resolve()?;
        let https = self.tls.https_server()?;
        let sessions = match self.options.sessions.as_str() {
            "memory" => SessionBackend::Memory,
            _ => SessionBackend::Redis {
                url: self.redis_url.clone(),
                prefix: self.redis_prefix.clone(),
            },
        };
        let config = Config {
            listen,
            auth,
            tls,
            https,
            oidc_issuer: self.auth.oidc_issuer.clone(),
            oidc_audience: self.auth.oidc_audience.clone(),
            oidc_ca: self.auth.oidc_ca_pem()?,
            sessions,
            peers: self.peers.clone(),
            options: self.options.clone(),
        };
        config.check()?;
        Ok(config)
    }
}

impl Config {
    /// The settings a console refuses to start with.
    pub fn check(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.options.public_url).map_err(|_| {
            format!(
                "TANDEM_CONSOLE_PUBLIC_URL `{}` is not a URL (e.g. https://tandem.example.com)",
                self.options.public_url
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.path() != "/" {
            return Err(format!(
                "TANDEM_CONSOLE_PUBLIC_URL `{}` must be http(s)://host[:port] without a path",
                self.options.public_url
            ));
        }
        let development = self.auth.verifier.is_development();
        if !development && url.scheme() != "https" {
            return Err("TANDEM_CONSOLE_PUBLIC_URL must be https outside development mode: the session cookie is sent only over TLS".to_owned());
        }
        if !development && self.oidc_issuer.is_none() {
            return Err(
                "the console signs users in through TANDEM_OIDC_ISSUER outside development mode"
                    .to_owned(),
            );
        }
        self.session_keys()?;
        Ok(())
    }

    /// The keys Redis sessions are sealed with (`None` for memory sessions): the configured
    /// ones, or in development mode a random one.
    pub fn session_keys(&self) -> Result<Option<SessionKeys>, String> {
        if matches!(self.sessions, SessionBackend::Memory) {
            return Ok(None);
        }
        match &self.options.session_keys {
            Some(text) => SessionKeys::parse(text).map(Some),
            None if self.auth.verifier.is_development() => Ok(Some(SessionKeys::ephemeral())),
            None => Err("TANDEM_CONSOLE_SESSION_KEYS is required with Redis sessions outside development mode: set it to `1:<base64 of 32 random bytes>` (e.g. `1:$(openssl rand -base64 32)`), the same on every replica".to_owned()),
        }
    }

    /// Whether browsers reach the console over TLS (the cookie is then `Secure`).
    pub fn secure_cookies(&self) -> bool {
        self.options.public_url.starts_with("https://")
    }

    /// The public URL without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.options.public_url.trim_end_matches('/')
    }
}
