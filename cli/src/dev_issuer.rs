//! `tandem dev-issuer`: a small OpenID Connect provider for a local trial (the compose file
//! runs it), so the services run on their production identity path — tokens checked against a
//! provider's keys — without an organisation's provider. Its sign-in page believes whoever
//! types an account and an email: serve it on loopback or a private network only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use tandem_dev_issuer::{Config, DevIssuer, EcKey};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args, Debug)]
pub struct DevIssuerArgs {
    /// Where to listen.
    #[arg(long, env = "TANDEM_ISSUER_LISTEN", default_value = "127.0.0.1:7010")]
    listen: SocketAddr,
    /// The issuer URL (its tokens' `iss`; the services' TANDEM_OIDC_ISSUER). Default:
    /// http://<listen> (`localhost` for a loopback address), https:// when serving TLS.
    #[arg(long, env = "TANDEM_ISSUER_URL")]
    issuer_url: Option<String>,
    /// Where browsers reach the sign-in page, when not at the issuer URL (e.g. the issuer is
    /// `https://issuer:7010` inside a container network and `https://localhost:7010` outside).
    #[arg(long, env = "TANDEM_ISSUER_PUBLIC_URL")]
    public_url: Option<String>,
    /// The client id, which is the audience of its tokens (the services' TANDEM_OIDC_AUDIENCE).
    #[arg(long, env = "TANDEM_OIDC_AUDIENCE", default_value = "tandem")]
    client_id: String,
    /// Redirect URIs accepted besides loopback ones (comma-separated): the console's
    /// `<public URL>/auth/callback`.
    #[arg(long, env = "TANDEM_ISSUER_REDIRECT_URIS", value_delimiter = ',')]
    redirect_uris: Vec<String>,
    /// The signing key (PEM, PKCS#8 P-256); made on first start when missing, so tokens
    /// outlive a restart. Without it a new key each start.
    #[arg(long, env = "TANDEM_ISSUER_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// How long its ID tokens live, in seconds.
    #[arg(long, env = "TANDEM_ISSUER_TOKEN_SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(60..=86_400))]
    token_seconds: u64,
    #[command(flatten)]
    tls: tandem_service::tls::TlsArgs,
}

pub async fn run(args: DevIssuerArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let https = args.tls.https_server().map_err(|e| anyhow!(e))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let bound = listener.local_addr()?;
    let scheme = if https.is_some() { "https" } else { "http" };
    // A loopback listener is named `localhost`: the name certificates are made for.
    let host = if bound.ip().is_loopback() {
        format!("localhost:{}", bound.port())
    } else {
        bound.to_string()
    };
    let issuer = args
        .issuer_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{host}"));
    let key = signing_key(args.key_file.as_deref())?;
    let mut config = Config::new(issuer.trim_end_matches('/'), args.client_id.trim());
    config.public_url = args.public_url.clone();
    config.redirect_uris = args.redirect_uris.clone();
    config.token_lifetime = std::time::Duration::from_secs(args.token_seconds);
    let issuer = DevIssuer::new(config, key).map_err(|e| anyhow!(e))?;
    tracing::warn!(
        "DEVELOPMENT identity provider: its sign-in page believes any account and email; use your organisation's identity provider outside a local trial"
    );
    tracing::info!(issuer = issuer.issuer(), listen = %bound, "tandem dev-issuer serving");
    println!("tandem dev-issuer: issuer {} on {bound}", issuer.issuer());
    let router = issuer.router();
    match https {
        Some(config) => tandem_service::https::serve(listener, router, config, shutdown).await,
        None => {
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await?;
        }
    }
    Ok(())
}

/// The key in `path`, made and written there (mode 0600) when the file does not exist yet.
fn signing_key(path: Option<&Path>) -> anyhow::Result<EcKey> {
    let Some(path) = path else {
        return EcKey::generate().map_err(|e| anyhow!(e));
    };
    match std::fs::read_to_string(path) {
        Ok(pem) => EcKey::from_pem(&pem).map_err(|e| anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = EcKey::generate().map_err(|e| anyhow!(e))?;
            crate::files::write_private(path, &key.to_pem())?;
            Ok(key)
        }
        Err(e) => Err(anyhow!("{}: {e}", path.display())),
    }
}
