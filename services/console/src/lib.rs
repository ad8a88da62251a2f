//! console: the web console. Server-rendered pages over HTTP for the people who set up and
//! watch integrations; every page and action calls the other services over gRPC as the
//! signed-in user (see `backend.rs`), so what a user sees and may do is what the services
//! allow them.

mod backend;
mod config;
mod csrf;
mod error;
mod format;
mod pages;
mod seal;
mod server;
mod session;
mod setup;
mod signin;
mod templates;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Args, Config, Options, Peers, SessionBackend};
pub use error::Error;
pub use server::CSP;
pub use session::COOKIE;
pub use tandem_service::https::server_config as https_config;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const NAME: &str = "console";
/// The default listen port.
pub const DEFAULT_PORT: u16 = 8080;

/// A console bound to its listener, not yet serving.
pub struct Console {
    listener: TcpListener,
    router: axum::Router,
    https: Option<Arc<rustls::ServerConfig>>,
}

impl Console {
    /// Where it listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`, then finishes the requests in flight.
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), Error> {
        let addr = self
            .local_addr()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let scheme = if self.https.is_some() {
            "https"
        } else {
            "http"
        };
        println!("{NAME} listening on {scheme}://{addr}");
        tracing::info!(%addr, scheme, "console listening");
        match self.https {
            Some(config) => {
                tandem_service::https::serve(self.listener, self.router, config, shutdown).await;
                Ok(())
            }
            None => axum::serve(self.listener, self.router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
                .map_err(|e| Error::Internal(format!("serving: {e}"))),
        }
    }
}

/// Binds `config.listen` and builds the console.
pub async fn bind(config: Config) -> Result<Console, Error> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", config.listen)))?;
    bind_on(listener, config).await
}

/// Like [`bind`], on a listener bound already (`config.listen` is ignored). Connects the
/// session store; the services are reached lazily, so they may start after it.
pub async fn bind_on(listener: TcpListener, config: Config) -> Result<Console, Error> {
    config.check().map_err(Error::Internal)?;
    let sessions = match &config.sessions {
        SessionBackend::Memory => session::SessionStore::memory(),
        SessionBackend::Redis { url, prefix } => session::SessionStore::Redis {
            redis: tandem_service::storage::connect_redis(url)
                .await
                .map_err(|e| Error::Internal(e.to_string()))?,
            prefix: prefix.clone(),
            keys: config
                .session_keys()
                .map_err(Error::Internal)?
                .ok_or_else(|| Error::Internal("Redis sessions without keys".to_owned()))?,
        },
    };
    let backend = backend::Backend::new(&config.peers, &config.tls).map_err(Error::Internal)?;
    let signin = match (config.auth.dev_signer(), &config.oidc_issuer) {
        (Some(signer), _) => signin::SignIn::Development(signer.clone()),
        (None, Some(issuer)) => {
            let client_id = config
                .options
                .oidc_client_id
                .clone()
                .or_else(|| config.oidc_audience.clone())
                .ok_or_else(|| {
                    Error::Internal(
                        "set TANDEM_CONSOLE_OIDC_CLIENT_ID or TANDEM_OIDC_AUDIENCE".to_owned(),
                    )
                })?;
            signin::SignIn::Oidc(Arc::new(
                signin::oidc::Client::new(
                    issuer,
                    &client_id,
                    config.options.oidc_client_secret.clone(),
                    &config.options.oidc_scopes,
                    config.public_base(),
                    config.oidc_ca.as_deref(),
                )
                .map_err(Error::Internal)?,
            ))
        }
        (None, None) => {
            return Err(Error::Internal(
                "no way to sign users in: set TANDEM_OIDC_ISSUER, or TANDEM_DEV_AUTH=1 for development".to_owned(),
            ));
        }
    };
    let https = config.https.clone();
    let state = server::AppState {
        config: Arc::new(config),
        sessions,
        backend,
        signin,
    };
    Ok(Console {
        listener,
        router: server::router(state),
        https,
    })
}

/// Runs the console until `shutdown` fires.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), Error> {
    bind(config).await?.serve(shutdown).await
}
