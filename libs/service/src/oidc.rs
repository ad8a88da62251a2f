//! User tokens from an identity provider: OpenID Connect discovery, the provider's JSON Web
//! Key Set (RS256 and ES256), the configured issuer and audience, a maximum token lifetime
//! and a clock skew. Keys are cached; a token signed with a key the cache does not know
//! refetches them (the provider rotated), at most once per `refetch_interval`, so a stream
//! of tokens with made-up key ids cannot turn into a stream of requests to the provider.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use crate::identity::{Identity, TokenError, unix_now};

/// How Tandem trusts its identity provider.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its tokens' `iss` carries it.
    pub issuer: String,
    /// What the tokens' `aud` must contain (the client id Tandem is registered under).
    pub audience: String,
    /// Tokens whose `exp - iat` exceeds this are refused, however their provider signed them.
    pub max_lifetime: Duration,
    /// Clock difference tolerated on `exp`, `nbf` and `iat`.
    pub clock_skew: Duration,
    /// The claim naming the user's Tandem account.
    pub account_claim: String,
    /// The claim carrying the user's email.
    pub email_claim: String,
    /// An unknown key id refetches the keys at most this often.
    pub refetch_interval: Duration,
    /// Keys older than this are refetched before use (kept if the provider cannot be reached).
    pub keys_max_age: Duration,
    /// CA certificates (PEM) trusted for the provider besides the system's (a provider whose
    /// certificate a private CA signed).
    pub ca_pem: Option<Vec<u8>>,
}

impl OidcConfig {
    /// Defaults for everything but the issuer and audience.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            max_lifetime: Duration::from_secs(24 * 3600),
            clock_skew: Duration::from_secs(60),
            account_claim: "tandem_account".to_owned(),
            email_claim: "email".to_owned(),
            refetch_interval: Duration::from_secs(30),
            keys_max_age: Duration::from_secs(3600),
            ca_pem: None,
        }
    }
}

#[derive(Default)]
struct Keys {
    jwks_uri: Option<String>,
    /// By key id (`""` for a key without one).
    by_kid: HashMap<String, (Algorithm, DecodingKey)>,
    fetched: Option<Instant>,
}

/// Verifies user tokens against the provider's published keys. Share it (`Arc`).
pub struct OidcVerifier {
    config: OidcConfig,
    http: reqwest::Client,
    keys: RwLock<Keys>,
    fetching: Mutex<()>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuer", &self.config.issuer)
            .field("audience", &self.config.audience)
            .finish_non_exhaustive()
    }
}

/// An HTTP client for an identity provider: no redirects, a timeout, and the extra CA
/// certificates (PEM, `TANDEM_OIDC_CA`) trusted besides the system's.
pub fn provider_client(
    timeout: Duration,
    ca_pem: Option<&[u8]>,
) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_pem {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("TANDEM_OIDC_CA holds no PEM certificate: {e}"))?;
        if certificates.is_empty() {
            return Err("TANDEM_OIDC_CA holds no PEM certificate".to_owned());
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| format!("identity provider client: {e}"))
}

/// PKCE's S256 challenge of a code verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// The largest discovery document or key set read from the provider.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

impl OidcVerifier {
    /// Checks the settings; the provider is first asked when a token arrives, so services
    /// start while it is down.
    pub fn new(config: OidcConfig) -> Result<Self, String> {
        check_url(&config.issuer, "TANDEM_OIDC_ISSUER")?;
        if config.audience.trim().is_empty() {
            return Err("TANDEM_OIDC_AUDIENCE must not be empty".to_owned());
        }
        let http = provider_client(Duration::from_secs(5), config.ca_pem.as_deref())?;
        Ok(Self {
            config,
            http,
            keys: RwLock::default(),
            fetching: Mutex::new(()),
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The user a token names, when the provider signed it for our audience and it is within
    /// its lifetime and ours.
    pub async fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(TokenError::NotAccepted(
                "identity provider tokens must be signed with RS256 or ES256",
            ));
        }
        let key = self.key(header.kid.as_deref(), header.alg).await?;
        let skew = self.config.clock_skew.as_secs();
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_str()]);
        validation.leeway = skew;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims =
            jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation)
                .map_err(|e| TokenError::from_jwt(&e))?
                .claims;
        // Typed checks of our own: a claim of the wrong type is a refusal, never a skip.
        let number = |name: &str| claims.get(name).and_then(Value::as_u64);
        let (Some(iat), Some(exp)) = (number("iat"), number("exp")) else {
            return Err(TokenError::BadClaims);
        };
        let now = unix_now();
        if exp + skew <= now {
            return Err(TokenError::Expired);
        }
        if iat > now + skew {
            return Err(TokenError::NotYetValid);
        }
        if exp.saturating_sub(iat) > self.config.max_lifetime.as_secs() {
            return Err(TokenError::TooLongLived);
        }
        if claims.get("email_verified").and_then(Value::as_bool) == Some(false) {
            return Err(TokenError::NotAccepted(
                "the identity provider has not verified the user's email",
            ));
        }
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        match (
            text(&self.config.account_claim),
            text(&self.config.email_claim),
        ) {
            (Some(account), Some(email)) => Ok(Identity::User { account, email }),
            _ => Err(TokenError::BadClaims),
        }
    }

    /// The key for `kid`, from the cache or, when unknown or stale, from the provider.
    async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, TokenError> {
        if let Some(key) = self.cached(kid, alg, true).await {
            return Ok(key);
        }
        let _one_fetch_at_a_time = self.fetching.lock().await;
        // Whoever held the lock may have fetched what we need.
        if let Some(key) = self.cached(kid, alg, true).await {
            return Ok(key);
        }
        let recently = self
            .keys
            .read()
            .await
            .fetched
            .is_some_and(|at| at.elapsed() < self.config.refetch_interval);
        if !recently && let Err(e) = self.refresh().await {
            // A stale key set still verifies while the provider is away.
            return self.cached(kid, alg, false).await.ok_or(e);
        }
        self.cached(kid, alg, false)
            .await
            .ok_or_else(|| TokenError::UnknownKey(kid.unwrap_or_default().to_owned()))
    }

    async fn cached(&self, kid: Option<&str>, alg: Algorithm, fresh: bool) -> Option<DecodingKey> {
        let keys = self.keys.read().await;
        let fetched = keys.fetched?;
        if fresh && fetched.elapsed() >= self.config.keys_max_age {
            return None;
        }
        let found = match kid {
            Some(kid) => keys.by_kid.get(kid),
            None => {
                let mut matching = keys.by_kid.values().filter(|(a, _)| *a == alg);
                match (matching.next(), matching.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        };
        found.filter(|(a, _)| *a == alg).map(|(_, key)| key.clone())
    }

    /// Discovers the key set's address (once) and fetches the keys.
    async fn refresh(&self) -> Result<(), TokenError> {
        let jwks_uri = match self.keys.read().await.jwks_uri.clone() {
            Some(uri) => uri,
            None => self.discover().await?,
        };
        let document = self.fetch(&jwks_uri).await?;
        let by_kid = parse_jwks(&document);
        let mut keys = self.keys.write().await;
        keys.jwks_uri = Some(jwks_uri);
        keys.by_kid = by_kid;
        keys.fetched = Some(Instant::now());
        tracing::info!(keys = keys.by_kid.len(), "identity provider keys fetched");
        Ok(())
    }

    async fn discover(&self) -> Result<String, TokenError> {
        let issuer = self.config.issuer.trim_end_matches('/');
        let document = self
            .fetch(&format!("{issuer}/.well-known/openid-configuration"))
            .await?;
        let unavailable = |why: &str| TokenError::ProviderUnavailable(why.to_owned());
        let stated = document
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if stated.trim_end_matches('/') != issuer {
            return Err(unavailable(
                "its discovery document names another issuer than TANDEM_OIDC_ISSUER",
            ));
        }
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| unavailable("its discovery document has no jwks_uri"))?;
        check_url(jwks_uri, "the provider's jwks_uri").map_err(|e| unavailable(&e))?;
        Ok(jwks_uri.to_owned())
    }

    async fn fetch(&self, url: &str) -> Result<Value, TokenError> {
        let unavailable = |why: String| TokenError::ProviderUnavailable(why);
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(format!("GET {url}: {}", e.without_url())))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("GET {url}: {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > MAX_DOCUMENT_BYTES)
        {
            return Err(unavailable(format!("GET {url}: the document is too large")));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable(format!("GET {url}: {}", e.without_url())))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(unavailable(format!("GET {url}: the document is too large")));
        }
        serde_json::from_slice(&body)
            .map_err(|_| unavailable(format!("GET {url}: the answer is not JSON")))
    }
}

/// The signing keys of a JWKS that Tandem accepts (RSA → RS256, P-256 → ES256); keys for
/// encryption, of other types, or that do not parse are left out.
fn parse_jwks(document: &Value) -> HashMap<String, (Algorithm, DecodingKey)> {
    let keys = document.get("keys").and_then(Value::as_array);
    let mut by_kid = HashMap::new();
    for value in keys.into_iter().flatten() {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value.clone()) else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        by_kid.insert(jwk.common.key_id.clone().unwrap_or_default(), (alg, key));
    }
    by_kid
}

/// The provider is reached over HTTPS; plain HTTP only on this machine (a local issuer).
fn check_url(url: &str, what: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|_| format!("{what} is not a URL"))?;
    let url = tandem_telemetry::redact::url(url);
    let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        _ => Err(format!(
            "{what} `{url}` must be https (http only for a provider on this machine)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_s256() {
        // RFC 7636, appendix B.
        assert_eq!(
            super::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_provider_must_be_https_unless_local() {
        assert!(check_url("https://id.example.com", "x").is_ok());
        assert!(check_url("http://127.0.0.1:8080/realms/t", "x").is_ok());
        assert!(check_url("http://localhost:8080", "x").is_ok());
        assert!(check_url("http://id.example.com", "x").is_err());
        assert!(check_url("not a url", "x").is_err());
    }

    #[test]
    fn only_signing_keys_of_accepted_types_are_kept() {
        let document = serde_json::json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p256", "crv": "P-256", "use": "sig",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "EC", "kid": "enc", "crv": "P-256", "use": "enc",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "weird"}
        ]});
        let keys = parse_jwks(&document);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["p256"].0, Algorithm::ES256);
    }
}
