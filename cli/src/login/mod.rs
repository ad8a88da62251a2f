//! `tandem login`: signs in at the identity provider the way native apps do (RFC 8252) — the
//! authorization code flow with PKCE, the browser sent back to a one-time listener on
//! 127.0.0.1 — and keeps the ID token in a file only its owner can read, which every other
//! command then uses when TANDEM_TOKEN and TANDEM_TOKEN_FILE are unset.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tokio::sync::mpsc;

pub mod renew;

/// How long to wait for the browser to come back.
const WAIT: Duration = Duration::from_secs(300);

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// The identity provider's issuer URL (discovery is read from it).
    #[arg(long, env = "TANDEM_OIDC_ISSUER")]
    issuer: String,
    /// The client id the CLI signs in as (a public client allowed loopback redirects).
    #[arg(long, env = "TANDEM_OIDC_CLIENT_ID", default_value = "tandem")]
    client_id: String,
    /// Scopes asked for.
    #[arg(long, default_value = "openid email profile")]
    scopes: String,
    /// CA certificates (PEM) trusted for the provider besides the system's.
    #[arg(long, env = "TANDEM_OIDC_CA")]
    oidc_ca: Option<PathBuf>,
    /// The port of the one-time listener the browser returns to (0: any free port; set one
    /// when the provider registers an exact redirect URI).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to keep the token. Default: `$XDG_CONFIG_HOME/tandem/token` (or
    /// `~/.config/tandem/token`), which every command reads when TANDEM_TOKEN is unset.
    #[arg(long)]
    token_file: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

#[derive(Deserialize)]
struct Tokens {
    id_token: Option<String>,
    refresh_token: Option<String>,
}

/// What the browser brought back to the listener.
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn run(args: LoginArgs) -> anyhow::Result<()> {
    let ca = match &args.oidc_ca {
        Some(path) => Some(
            std::fs::read(path).with_context(|| format!("TANDEM_OIDC_CA {}", path.display()))?,
        ),
        None => None,
    };
    let http = tandem_service::oidc::provider_client(Duration::from_secs(10), ca.as_deref())
        .map_err(|e| anyhow!(e))?;
    let issuer = args.issuer.trim_end_matches('/');
    let discovery: Discovery = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("reading the identity provider's discovery at {issuer}"))?
        .json()
        .await
        .context("the identity provider's discovery document is not OpenID Connect's")?;
    if discovery.issuer.trim_end_matches('/') != issuer {
        eprintln!(
            "note: the provider reached at {issuer} calls itself {}; the services must be given that issuer",
            discovery.issuer
        );
    }

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("opening the listener the browser returns to")?;
    let redirect_uri = format!(
        "http://127.0.0.1:{}/callback",
        listener.local_addr()?.port()
    );
    let verifier = random();
    let (state, nonce) = (random(), random());
    let mut authorize = url::Url::parse(&discovery.authorization_endpoint)
        .context("the provider's authorization_endpoint is not a URL")?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &args.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &args.scopes)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair(
            "code_challenge",
            &tandem_service::oidc::pkce_challenge(&verifier),
        )
        .append_pair("code_challenge_method", "S256");
    eprintln!("Open this address in your browser to sign in:\n\n  {authorize}\n");

    let callback = wait_for_browser(listener).await?;
    if let Some(error) = callback.error {
        bail!("the identity provider refused the sign-in: {error}");
    }
    if callback.state.as_deref() != Some(state.as_str()) {
        bail!("the browser came back with another sign-in's state: start `tandem login` again");
    }
    let code = callback
        .code
        .context("the browser came back without a code")?;
    let response = http
        .post(&discovery.token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", args.client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .context("exchanging the code at the provider's token endpoint")?;
    if !response.status().is_success() {
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        bail!(
            "the provider's token endpoint refused the code ({status}): {}",
            body.get("error_description")
                .or_else(|| body.get("error"))
                .and_then(|v| v.as_str())
                .unwrap_or("no reason given")
        );
    }
    let tokens: Tokens = response.json().await.context("the token response")?;
    let id_token = tokens
        .id_token
        .context("the provider answered without an ID token (ask for the `openid` scope)")?;
    let claims = unverified_claims(&id_token)?;
    if claims.get("nonce").and_then(|n| n.as_str()) != Some(nonce.as_str()) {
        bail!("the ID token does not carry this sign-in's nonce: it was not issued for it");
    }
    let path = match args.token_file {
        Some(path) => path,
        None => default_token_file().context("no home directory: pass --token-file")?,
    };
    crate::files::replace_private(&path, &id_token)?;
    let renewal = tokens.refresh_token.map(|refresh_token| renew::Renewal {
        refresh_token,
        token_endpoint: discovery.token_endpoint.clone(),
        client_id: args.client_id.clone(),
        oidc_ca: args
            .oidc_ca
            .as_ref()
            .and_then(|p| std::path::absolute(p).ok()),
    });
    renew::keep(&path, renewal.as_ref())?;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_owned()
    };
    println!(
        "Signed in as {} (account {}). Token kept in {}: tandem commands use it{}.",
        text("email"),
        text("tandem_account"),
        path.display(),
        if renewal.is_some() {
            ", renewing it as it expires"
        } else {
            " until it expires"
        }
    );
    Ok(())
}

/// Where `tandem login` keeps the token by default.
pub fn default_token_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("tandem").join("token"))
}

/// Serves the one request the browser makes back, answers it with a page, and returns it.
async fn wait_for_browser(listener: tokio::net::TcpListener) -> anyhow::Result<Callback> {
    let (sent, mut received) = mpsc::channel::<Callback>(1);
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get(
            move |axum::extract::Query(q): axum::extract::Query<
                std::collections::HashMap<String, String>,
            >| async move {
                let callback = Callback {
                    code: q.get("code").cloned(),
                    state: q.get("state").cloned(),
                    error: q
                        .get("error_description")
                        .or_else(|| q.get("error"))
                        .cloned(),
                };
                let page = if callback.error.is_some() {
                    "Sign-in refused: see the terminal."
                } else {
                    "Signed in to Tandem: you can close this tab and go back to the terminal."
                };
                let _ = sent.try_send(callback);
                axum::response::Html(format!(
                    "<!doctype html><html lang=\"en\"><title>Tandem</title><h1>{page}</h1></html>"
                ))
            },
        ),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn({
        let stop = stop.clone();
        async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    });
    let callback = tokio::time::timeout(WAIT, received.recv()).await;
    stop.cancel();
    let _ = server.await;
    callback
        .map_err(|_| anyhow!("no sign-in within {} minutes", WAIT.as_secs() / 60))?
        .context("the listener stopped")
}

/// The claims of a JWT, read without checking its signature: the services check it; here only
/// the nonce and who signed in are read.
fn unverified_claims(token: &str) -> anyhow::Result<serde_json::Value> {
    let payload = token
        .split('.')
        .nth(1)
        .context("the ID token is not a JWT")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .context("the ID token is not a JWT")?;
    serde_json::from_slice(&bytes).context("the ID token's claims are not JSON")
}

fn random() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
