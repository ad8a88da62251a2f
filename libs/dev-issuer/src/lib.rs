//! A small OpenID Connect provider for a local trial of Tandem (`tandem dev-issuer`, the compose
//! file) and for tests: discovery, a JSON Web Key Set (one ES256 key, kept in a file), a sign-in
//! page and the authorization code flow with PKCE (S256 only), with refresh tokens.
//!
//! It lets Tandem run on its production identity path — tokens verified against a provider's
//! published keys, never a shared secret — where no real provider is at hand. It is not an
//! identity provider for production: its sign-in page asks for an account and an email and
//! believes them, so anyone who reaches the page can be anyone. Serve it on a loopback address
//! or a private network only.
//!
//! Written here rather than run as a well-kept server image (Keycloak, Dex) because the CI
//! machine and a user's laptop without Docker must run it too, and what Tandem needs of it is a
//! page and two endpoints.

mod flow;
mod keys;
mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

pub use keys::{EcKey, pem};

/// What the provider is and whom it serves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer URL: tokens' `iss`, where services fetch discovery.
    pub issuer: String,
    /// Where browsers reach the sign-in page, when not at the issuer URL (a provider inside a
    /// container network, reached from the host as `localhost`).
    pub public_url: Option<String>,
    /// The one client (Tandem) and the audience of its tokens.
    pub client_id: String,
    /// Redirect URIs accepted besides loopback ones (`http://127.0.0.1:<any port>/…`,
    /// `http://localhost:…`, `http://[::1]:…`, which native apps such as the CLI use).
    pub redirect_uris: Vec<String>,
    /// How long an ID token lives.
    pub token_lifetime: Duration,
    /// How long a refresh token lives (they are kept in memory: a restart signs everyone out).
    pub refresh_lifetime: Duration,
}

impl Config {
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            public_url: None,
            client_id: client_id.into(),
            redirect_uris: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            refresh_lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

/// A code handed out and not yet exchanged, or a refresh token: who signed in, for what.
#[derive(Clone)]
struct Grant {
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    account: String,
    email: String,
    expires: u64,
}

struct Shared {
    config: Config,
    key: EcKey,
    codes: Mutex<HashMap<String, Grant>>,
    refresh: Mutex<HashMap<String, Grant>>,
}

/// The provider: an axum router to serve (over TLS outside a loopback address).
#[derive(Clone)]
pub struct DevIssuer {
    shared: Arc<Shared>,
}

impl DevIssuer {
    /// Checks the settings; `key` signs every token.
    pub fn new(config: Config, key: EcKey) -> Result<Self, String> {
        let issuer = url::Url::parse(&config.issuer)
            .map_err(|_| format!("issuer `{}` is not a URL", config.issuer))?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(format!("issuer `{}` must be http(s)", config.issuer));
        }
        if let Some(public) = &config.public_url {
            url::Url::parse(public).map_err(|_| format!("public URL `{public}` is not a URL"))?;
        }
        if config.client_id.trim().is_empty() {
            return Err("the client id (audience) must not be empty".to_owned());
        }
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                key,
                codes: Mutex::default(),
                refresh: Mutex::default(),
            }),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.shared.config.issuer
    }

    /// Discovery, keys, the sign-in page and the token endpoint.
    pub fn router(&self) -> axum::Router {
        use axum::routing::get;
        axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(flow::sign_in_page).post(flow::signed_in))
            .route("/token", axum::routing::post(flow::token))
            .with_state(self.shared.clone())
    }
}

impl Shared {
    /// An ID token for the user a grant names.
    fn id_token(&self, grant: &Grant) -> Result<String, String> {
        let now = unix_now();
        let mut claims = json!({
            "iss": self.config.issuer,
            "aud": self.config.client_id,
            "sub": format!("dev:{}:{}", grant.account, grant.email),
            "email": grant.email,
            "email_verified": true,
            "tandem_account": grant.account,
            "iat": now,
            "auth_time": now,
            "exp": now + self.config.token_lifetime.as_secs(),
        });
        if let Some(nonce) = &grant.nonce {
            claims["nonce"] = json!(nonce);
        }
        self.key.sign(&claims)
    }

    /// Where this request came in: the token endpoint and keys are announced there, so the
    /// same provider answers a container (by its service name) and the host (as localhost).
    fn base_for(&self, headers: &HeaderMap) -> String {
        let issuer = url::Url::parse(&self.config.issuer).ok();
        let scheme = issuer.as_ref().map_or("http", |u| u.scheme()).to_owned();
        match headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
        {
            Some(host) if is_host(host) => format!("{scheme}://{host}"),
            _ => self.config.issuer.trim_end_matches('/').to_owned(),
        }
    }

    fn public_url(&self) -> &str {
        self.config
            .public_url
            .as_deref()
            .unwrap_or(&self.config.issuer)
            .trim_end_matches('/')
    }
}

/// A Host header's value: a name or address and an optional port, nothing else.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

async fn discovery(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> axum::Json<Value> {
    let base = shared.base_for(&headers);
    axum::Json(json!({
        "issuer": shared.config.issuer,
        "authorization_endpoint": format!("{}/authorize", shared.public_url()),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["openid", "email", "profile", "offline_access"],
        "claims_supported": ["iss", "aud", "sub", "email", "email_verified", "tandem_account", "nonce"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(json!({ "keys": [shared.key.jwk()] }))
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 32 random bytes, URL-safe: codes and refresh tokens.
pub(crate) fn random_token() -> String {
    use base64::Engine as _;
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
