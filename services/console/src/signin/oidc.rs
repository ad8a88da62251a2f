//! Sign-in through the identity provider: OpenID Connect authorization code flow with PKCE
//! (S256), a `state` bound to the session and a `nonce` bound to the ID token. The ID token
//! (audience: Tandem's client id) is what the console forwards to the services, checked first
//! by the same verifier they use.
//!
//! A small client on reqwest rather than the `openidconnect` crate: that crate brings its own
//! HTTP stack (reqwest 0.12) and JOSE implementation beside the workspace's, while the
//! workspace already has the verifier (libs/service `oidc.rs`) and needs only discovery, the
//! authorize redirect and one token request here.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tandem_service::Identity;
use tokio::sync::OnceCell;

use super::{SignIn, ensure_session, with_cookie};
use crate::error::Error;
use crate::server::{AppState, MaybeSession};
use crate::session::{Bearer, PendingLogin, User, random_token, unix_now};

/// The provider's endpoints, from its discovery document.
#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

/// The console as a client of the identity provider.
pub struct Client {
    issuer: String,
    client_id: String,
    client_secret: Option<SecretString>,
    scopes: String,
    redirect_uri: String,
    http: reqwest::Client,
    endpoints: OnceCell<Endpoints>,
}

impl Client {
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: Option<SecretString>,
        scopes: &str,
        public_base: &str,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, String> {
        let http = tandem_service::oidc::provider_client(Duration::from_secs(10), ca_pem)?;
        Ok(Client {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            scopes: scopes.to_owned(),
            redirect_uri: format!("{public_base}/auth/callback"),
            http,
            endpoints: OnceCell::new(),
        })
    }

    async fn endpoints(&self) -> Result<&Endpoints, Error> {
        self.endpoints
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                let found: Endpoints = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| Error::SignIn(format!("the identity provider's discovery: {}", e.without_url())))?
                    .json()
                    .await
                    .map_err(|_| Error::SignIn("the identity provider's discovery document is not what OpenID Connect describes".to_owned()))?;
                if found.issuer.trim_end_matches('/') != self.issuer {
                    return Err(Error::SignIn(
                        "the identity provider's discovery document names another issuer than TANDEM_OIDC_ISSUER".to_owned(),
                    ));
                }
                Ok(found)
            })
            .await
    }

    /// Where to send the browser, for a sign-in remembered as `pending`.
    async fn authorize_url(&self, pending: &PendingLogin) -> Result<String, Error> {
        let endpoints = self.endpoints().await?;
        let mut url = url::Url::parse(&endpoints.authorization_endpoint).map_err(|_| {
            Error::SignIn("the provider's authorization_endpoint is not a URL".to_owned())
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scopes)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair(
                "code_challenge",
                &tandem_service::oidc::pkce_challenge(pending.verifier.secret()),
            )
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// The tokens the provider exchanges `code` for.
    async fn exchange(&self, code: &str, verifier: &str) -> Result<Tokens, Error> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        self.token_request(&form).await.map_err(|e| match e {
            TokenError::Refused(error) => {
                Error::SignIn(format!("the identity provider refused the code: {error}"))
            }
            TokenError::Failed(reason) => Error::SignIn(reason),
        })
    }

    /// New tokens for `refresh_token` (the refresh token grant, RFC 6749 section 6).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, TokenError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", self.scopes.as_str()),
        ];
        self.token_request(&form).await
    }

    /// A request to the token endpoint with `form`, as this client.
    async fn token_request(&self, form: &[(&str, &str)]) -> Result<Tokens, TokenError> {
        let endpoints = self
            .endpoints()
            .await
            .map_err(|e| TokenError::Failed(e.to_string()))?;
        let mut form = form.to_vec();
        form.push(("client_id", self.client_id.as_str()));
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        let response = self
            .http
            .post(&endpoints.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| TokenError::Failed(format!("the token request: {}", e.without_url())))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|_| {
            TokenError::Failed(format!("the token endpoint answered {status} without JSON"))
        })?;
        let text = |name: &str| body.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        if status.is_client_error() {
            return Err(TokenError::Refused(
                text("error").unwrap_or_else(|| "unknown".to_owned()),
            ));
        }
        if !status.is_success() {
            return Err(TokenError::Failed(format!(
                "the token endpoint answered {status}"
            )));
        }
        let id_token = text("id_token").ok_or_else(|| {
            TokenError::Failed("the identity provider sent no id_token (is `openid` among TANDEM_CONSOLE_OIDC_SCOPES?)".to_owned())
        })?;
        Ok(Tokens {
            id_token,
            refresh_token: text("refresh_token")
                .filter(|t| !t.is_empty())
                .map(Bearer::new),
        })
    }
}

/// What the token endpoint issues.
pub struct Tokens {
    /// Forwarded to the services.
    pub id_token: String,
    pub refresh_token: Option<Bearer>,
}

/// Why the token endpoint gave no tokens.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// It answered with an OAuth error (`invalid_grant`: the refresh token is revoked or
    /// expired): asking again will not help.
    #[error("the identity provider refused: {0}")]
    Refused(String),
    /// It could not be reached, or answered something else.
    #[error("{0}")]
    Failed(String),
}

fn client(state: &AppState) -> Result<&Client, Error> {
    match &state.signin {
        SignIn::Oidc(client) => Ok(client),
        SignIn::Development(_) => Err(Error::SignIn(
            "this console runs in development mode: sign in with the form".to_owned(),
        )),
    }
}

/// GET /auth/login: remembers a state, nonce and PKCE verifier in the session and sends the
/// browser to the provider.
pub async fn start(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
) -> Result<Response, Error> {
    let client = client(&state)?;
    let (mut session, cookie) = ensure_session(&state, session).await?;
    let pending = PendingLogin {
        state: random_token(),
        nonce: random_token(),
        verifier: Bearer::new(random_token()),
    };
    let url = client.authorize_url(&pending).await?;
    session.data.pending = Some(pending);
    state.sessions.save(&session.id, &session.data).await?;
    Ok(with_cookie(Redirect::to(&url).into_response(), cookie))
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// GET /auth/callback: checks the state, exchanges the code, checks the ID token (the services'
/// verifier, then the nonce) and signs the user in.
pub async fn callback(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(query): Query<Callback>,
) -> Result<Response, Error> {
    let client = client(&state)?;
    if let Some(error) = query.error {
        return Err(Error::SignIn(format!(
            "the identity provider answered `{error}`"
        )));
    }
    let again = "start again from the sign-in page";
    let mut session = session.ok_or_else(|| {
        Error::SignIn(format!(
            "this browser has no sign-in in progress (it expired or began elsewhere); {again}"
        ))
    })?;
    let pending = session.data.pending.take().ok_or_else(|| {
        Error::SignIn(format!("this browser has no sign-in in progress; {again}"))
    })?;
    // The pending sign-in is used up whatever happens next.
    state.sessions.save(&session.id, &session.data).await?;
    let sent_state = query.state.unwrap_or_default();
    if !crate::csrf::same(sent_state.as_bytes(), pending.state.as_bytes()) {
        return Err(Error::SignIn(format!(
            "the `state` does not match this browser's sign-in; {again}"
        )));
    }
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::SignIn("the callback carries no `code`".to_owned()))?;
    let tokens = client.exchange(&code, pending.verifier.secret()).await?;
    let id_token = tokens.id_token;
    let identity = state
        .config
        .auth
        .verifier
        .identify(&id_token)
        .await
        .map_err(|e| Error::SignIn(format!("the ID token: {e}")))?;
    let Identity::User { account, email } = identity else {
        return Err(Error::SignIn("the ID token names a service".to_owned()));
    };
    let claims =
        payload(&id_token).ok_or_else(|| Error::SignIn("the ID token is malformed".to_owned()))?;
    let nonce = claims
        .get("nonce")
        .and_then(|n| n.as_str())
        .unwrap_or_default();
    if !crate::csrf::same(nonce.as_bytes(), pending.nonce.as_bytes()) {
        return Err(Error::SignIn(format!(
            "the ID token's nonce is not this sign-in's; {again}"
        )));
    }
    let user = User {
        account,
        email,
        token_expires_at: expires_at(&claims),
        token: Bearer::new(id_token),
        refresh_token: tokens.refresh_token,
    };
    super::complete(&state, &session, user).await
}

/// When a token with `claims` expires (now when it does not say).
pub fn expires_at(claims: &serde_json::Value) -> u64 {
    claims
        .get("exp")
        .and_then(|e| e.as_u64())
        .unwrap_or_else(unix_now)
}

/// The claims of a JWT whose signature was checked already.
pub fn payload(token: &str) -> Option<serde_json::Value> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(part).ok()?).ok()
}
