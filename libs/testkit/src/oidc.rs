//! A test identity provider: OpenID Connect discovery and a JSON Web Key Set served over HTTP
//! on a free port, signing keys it can rotate (ES256, generated; RS256, a fixed test key), and
//! the tokens it signs. It also signs users in through the authorization code flow with PKCE
//! (`/authorize` approves at once as the user named by [`TestIssuer::sign_in_as`], `/token`
//! checks the code, redirect URI and S256 verifier and returns an ID token with the nonce, and
//! a refresh token; the refresh token grant rotates it: each is good once, for its client).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The audience the test provider's tokens carry unless told otherwise.
pub const AUDIENCE: &str = "tandem-test";

const RSA_KEY: &str = include_str!("oidc_rsa_key.txt");

struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

struct Shared {
    issuer: String,
    /// The key tokens are signed with now, first; the JWKS publishes all of them.
    keys: Mutex<Vec<SigningKey>>,
    jwks_fetches: AtomicUsize,
    /// Who `/authorize` signs in (account, email); nobody when unset.
    login: Mutex<Option<(String, String)>>,
    /// Codes handed out and not yet exchanged.
    codes: Mutex<HashMap<String, Grant>>,
    /// Refresh tokens handed out and not yet used or revoked: (client id, account, email).
    refresh_tokens: Mutex<HashMap<String, (String, String, String)>>,
    /// Refresh token grants answered with new tokens.
    refreshes: AtomicUsize,
    /// How long the ID tokens `/token` issues are valid, in seconds (negative: expired).
    lifetime: AtomicI64,
}

/// What a code was issued for.
struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: String,
    account: String,
    email: String,
}

/// The provider; stops serving when dropped.
pub struct TestIssuer {
    shared: Arc<Shared>,
    shutdown: CancellationToken,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestIssuer {
    /// Serves discovery and keys on a free port of 127.0.0.1, with one ES256 key.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test issuer");
        let issuer = format!("http://{}", listener.local_addr().expect("bound address"));
        let shared = Arc::new(Shared {
            issuer,
            keys: Mutex::new(vec![ec_key("key-1")]),
            jwks_fetches: AtomicUsize::new(0),
            login: Mutex::new(None),
            codes: Mutex::default(),
            refresh_tokens: Mutex::default(),
            refreshes: AtomicUsize::new(0),
            lifetime: AtomicI64::new(600),
        });
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get({
                    let shared = shared.clone();
                    move || async move {
                        axum::Json(json!({
                            "issuer": shared.issuer,
                            "jwks_uri": format!("{}/jwks", shared.issuer),
                            "authorization_endpoint": format!("{}/authorize", shared.issuer),
                            "token_endpoint": format!("{}/token", shared.issuer),
                            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                        }))
                    }
                }),
            )
            .route(
                "/jwks",
                axum::routing::get({
                    let shared = shared.clone();
                    move || async move {
                        shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                        let keys = shared.keys.lock().unwrap_or_else(|p| p.into_inner());
                        axum::Json(json!({
                            "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()
                        }))
                    }
                }),
            )
            .route(
                "/authorize",
                axum::routing::get({
                    let shared = shared.clone();
                    move |query| authorize(shared, query)
                }),
            )
            .route(
                "/token",
                axum::routing::post({
                    let shared = shared.clone();
                    move |form| token(shared, form)
                }),
            );
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        Self { shared, shutdown }
    }

    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// How often the key set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Replaces every key by a new one (`rsa`: the RS256 test key, else a new ES256 key);
    /// its key id.
    pub fn rotate(&self, rsa: bool) -> String {
        let mut keys = self.shared.keys.lock().unwrap_or_else(|p| p.into_inner());
        let kid = format!("key-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let key = if rsa { rsa_key(&kid) } else { ec_key(&kid) };
        *keys = vec![key];
        kid
    }

    /// The user `/authorize` signs in from now on.
    pub fn sign_in_as(&self, account: &str, email: &str) {
        *self.shared.login.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((account.to_owned(), email.to_owned()));
    }

    /// How long the ID tokens `/token` issues from now on are valid, in seconds; negative
    /// issues tokens that expired that long ago.
    pub fn set_token_lifetime(&self, seconds: i64) {
        self.shared.lifetime.store(seconds, Ordering::SeqCst);
    }

    /// How many refresh token grants were answered with new tokens.
    pub fn refreshes(&self) -> usize {
        self.shared.refreshes.load(Ordering::SeqCst)
    }

    /// Revokes every refresh token handed out (the user signed out at the provider, or an
    /// administrator ended their sessions).
    pub fn revoke_refresh_tokens(&self) {
        self.shared
            .refresh_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Standard claims of a user of `account`: this issuer, [`AUDIENCE`], issued now, valid
    /// for ten minutes. Change any before signing.
    pub fn claims(&self, account: &str, email: &str) -> Value {
        self.shared.claims(account, email)
    }

    /// `claims` signed with the current key.
    pub fn sign(&self, claims: &Value) -> String {
        self.shared.sign(claims)
    }
}

impl Shared {
    fn claims(&self, account: &str, email: &str) -> Value {
        let now = unix_now();
        json!({
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": format!("user-{email}"),
            "email": email,
            "email_verified": true,
            "tandem_account": account,
            "iat": now,
            "exp": now + 600,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let key = &keys[0];
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign a test token")
    }
}

type Params = axum::extract::Query<HashMap<String, String>>;

/// The authorization endpoint: approves at once, redirecting with a code and the state.
async fn authorize(
    shared: Arc<Shared>,
    axum::extract::Query(q): Params,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let get = |name: &str| q.get(name).cloned().unwrap_or_default();
    let login = shared
        .login
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let Some((account, email)) = login else {
        return (axum::http::StatusCode::FORBIDDEN, "nobody is signed in").into_response();
    };
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
    {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "code flow with S256 PKCE only",
        )
            .into_response();
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    shared
        .codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            code.clone(),
            Grant {
                client_id: get("client_id"),
                redirect_uri: get("redirect_uri"),
                challenge: get("code_challenge"),
                nonce: get("nonce"),
                account,
                email,
            },
        );
    let state: String = url_encode(&get("state"));
    axum::response::Redirect::to(&format!(
        "{}?code={code}&state={state}",
        get("redirect_uri")
    ))
    .into_response()
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The token endpoint: a code once, for the same client and redirect URI, with the verifier
/// whose S256 is the challenge.
async fn token(
    shared: Arc<Shared>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let get = |name: &str| form.get(name).cloned().unwrap_or_default();
    let refuse = |error: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": error})),
        )
            .into_response()
    };
    if get("grant_type") == "refresh_token" {
        let used = shared
            .refresh_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&get("refresh_token"));
        let Some((client_id, account, email)) = used.filter(|(c, ..)| *c == get("client_id"))
        else {
            return refuse("invalid_grant");
        };
        shared.refreshes.fetch_add(1, Ordering::SeqCst);
        return issue(&shared, &client_id, &account, &email, None);
    }
    if get("grant_type") != "authorization_code" {
        return refuse("unsupported_grant_type");
    }
    let Some(grant) = shared
        .codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&get("code"))
    else {
        return refuse("invalid_grant");
    };
    let verifier = get("code_verifier");
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    if grant.client_id != get("client_id")
        || grant.redirect_uri != get("redirect_uri")
        || challenge != grant.challenge
    {
        return refuse("invalid_grant");
    }
    issue(
        &shared,
        &grant.client_id,
        &grant.account,
        &grant.email,
        Some(&grant.nonce),
    )
}

/// A token response for the user: an ID token for `client_id` (with `nonce` at sign-in), valid
/// for the configured lifetime, and a new refresh token.
fn issue(
    shared: &Shared,
    client_id: &str,
    account: &str,
    email: &str,
    nonce: Option<&str>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut claims = shared.claims(account, email);
    claims["aud"] = json!(client_id);
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let lifetime = shared.lifetime.load(Ordering::SeqCst);
    claims["exp"] = json!(unix_now().saturating_add_signed(lifetime));
    claims["iat"] = json!(unix_now().saturating_add_signed(lifetime.min(0) - 1));
    let id_token = shared.sign(&claims);
    let refresh_token = format!("refresh-{}", uuid::Uuid::new_v4().simple());
    shared
        .refresh_tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            refresh_token.clone(),
            (client_id.to_owned(), account.to_owned(), email.to_owned()),
        );
    axum::Json(json!({
        "id_token": id_token,
        "access_token": "opaque",
        "token_type": "Bearer",
        "refresh_token": refresh_token,
    }))
    .into_response()
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn ec_key(kid: &str) -> SigningKey {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("generate a P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("read the P-256 key");
    // Uncompressed point: 0x04, x, y.
    let point = pair.public_key().as_ref();
    SigningKey {
        kid: kid.to_owned(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }),
    }
}

fn rsa_key(kid: &str) -> SigningKey {
    let mut lines = RSA_KEY.lines().filter(|l| !l.starts_with('#'));
    let der = STANDARD
        .decode(lines.next().expect("the key"))
        .expect("base64 key");
    let modulus = lines.next().expect("the modulus");
    SigningKey {
        kid: kid.to_owned(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(&der),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": modulus, "e": "AQAB",
        }),
    }
}
