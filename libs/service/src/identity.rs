//! Caller identity. Users are identified by their identity provider's tokens (see
//! [`crate::oidc`]) or, in development mode only, by HS256 tokens signed with the development
//! secret (`TANDEM_AUTH_SECRET`, [`TokenSigner`]); services by their own keys (see
//! [`crate::service_key`]). A development token never names a service.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The fewest bytes a deployment secret may have.
pub const MIN_SECRET_LEN: usize = 32;

/// Who is calling, as established by a verified token. Handlers read it from the request
/// extensions (see [`Identity::of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A person acting in an account.
    User { account: String, email: String },
    /// Another Tandem service.
    Service { name: String },
}

impl Identity {
    /// The identity the auth interceptor attached to a request.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<&Identity, tonic::Status> {
        request
            .extensions()
            .get::<Identity>()
            .ok_or_else(|| tonic::Status::unauthenticated("no caller identity on the request"))
    }

    pub fn is_service(&self) -> bool {
        matches!(self, Identity::Service { .. })
    }
}

/// Refuses a request with PERMISSION_DENIED unless it comes from one of the services
/// `allowed` names: `rpc` is for those Tandem services only.
/// Whether two emails name the same user: the one comparison every service uses (owners,
/// requesters, actors). Case and surrounding spaces aside — identity providers and people
/// spell the same address differently, and no mail system Tandem meets tells `Ada@` from
/// `ada@`.
pub fn same_email(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

pub fn require_service<T>(
    request: &tonic::Request<T>,
    rpc: &str,
    allowed: &[&str],
) -> Result<(), tonic::Status> {
    admit(Identity::of(request)?, rpc, allowed)
}

/// Whether `identity` may call the service-only `rpc` that only `allowed` may call.
pub(crate) fn admit(identity: &Identity, rpc: &str, allowed: &[&str]) -> Result<(), tonic::Status> {
    match identity {
        Identity::Service { name } if allowed.contains(&name.as_str()) => Ok(()),
        Identity::Service { name } if allowed.is_empty() => Err(tonic::Status::permission_denied(
            format!("{rpc} is open to no service, not even {name}"),
        )),
        Identity::Service { name } => Err(tonic::Status::permission_denied(format!(
            "{rpc} may be called only by {}, not by service {name}",
            allowed.join(", ")
        ))),
        Identity::User { .. } => Err(not_for_users(rpc)),
    }
}

/// The PERMISSION_DENIED a user gets from a service-only RPC.
pub fn not_for_users(rpc: &str) -> tonic::Status {
    tonic::Status::permission_denied(format!("{rpc} is for Tandem services, not users"))
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user's email, or `service:<name>`.
    sub: String,
    /// The account; empty for services.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    acct: String,
    iat: u64,
    exp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("TANDEM_AUTH_SECRET must be at least {MIN_SECRET_LEN} characters")]
    WeakSecret,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token signature does not verify")]
    BadSignature,
    #[error("the token expired")]
    Expired,
    #[error("the token names neither a user with an account nor a service")]
    BadClaims,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token lives longer than the maximum lifetime allowed")]
    TooLongLived,
    #[error("no public key is configured for service `{0}`")]
    UnknownService(String),
    #[error("a development token cannot name a service: services sign with their own keys")]
    ServiceFromSecret,
    #[error("{0}")]
    NotAccepted(&'static str),
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the identity provider has no key `{0}`")]
    UnknownKey(String),
    #[error("the identity provider cannot be reached: {0}")]
    ProviderUnavailable(String),
}

impl TokenError {
    /// What a `jsonwebtoken` refusal means.
    pub(crate) fn from_jwt(error: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidSubject | ErrorKind::Json(_) => {
                TokenError::BadClaims
            }
            _ => TokenError::Malformed,
        }
    }

    /// The gRPC status a caller gets: UNAVAILABLE when the provider could not be asked (the
    /// call may be retried), else UNAUTHENTICATED with the reason (never the token).
    pub fn to_status(&self) -> tonic::Status {
        match self {
            TokenError::ProviderUnavailable(_) => {
                tonic::Status::unavailable(format!("cannot check the token now: {self}"))
            }
            _ => tonic::Status::unauthenticated(format!("invalid token: {self}")),
        }
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const SERVICE_PREFIX: &str = "service:";

/// The longest a development token may live (`exp - iat`) unless configured: the default of
/// `TANDEM_OIDC_MAX_TOKEN_LIFETIME_SECONDS`, which sets it too.
pub const DEV_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Clock difference tolerated on a development token's `iat`.
const DEV_LEEWAY_SECONDS: u64 = 60;

/// Mints and verifies user tokens with the development secret. Cheap to clone.
#[derive(Clone)]
pub struct TokenSigner {
    secret: std::sync::Arc<SecretString>,
    max_lifetime: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(<redacted>)")
    }
}

impl TokenSigner {
    pub fn new(secret: SecretString) -> Result<Self, TokenError> {
        if secret.expose_secret().len() < MIN_SECRET_LEN {
            return Err(TokenError::WeakSecret);
        }
        Ok(Self {
            secret: std::sync::Arc::new(secret),
            max_lifetime: DEV_MAX_LIFETIME,
        })
    }

    /// Tokens living longer than `max_lifetime` (`exp - iat`) are refused.
    pub fn with_max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("hmac takes any key length"))
    }

    /// A token for `identity`, valid for `ttl` from now. Only a user's is ever accepted: a
    /// service identity minted here is refused by every service.
    pub fn mint(&self, identity: &Identity, ttl: Duration) -> String {
        self.mint_until(identity, unix_now() + ttl.as_secs().max(1))
    }

    /// A token for `identity` that expires at `expires_at` (seconds since the Unix epoch).
    pub fn mint_until(&self, identity: &Identity, expires_at: u64) -> String {
        let now = unix_now();
        let (sub, acct) = match identity {
            Identity::User { account, email } => (email.clone(), account.clone()),
            Identity::Service { name } => (format!("{SERVICE_PREFIX}{name}"), String::new()),
        };
        let claims = Claims {
            sub,
            acct,
            iat: now.min(expires_at),
            exp: expires_at,
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = B64.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The user a development token names, when its signature verifies and it has not
    /// expired. A token naming a service (`sub: service:…`) is refused.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let header: serde_json::Value = B64
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Malformed);
        }
        let claims: Claims = B64
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(TokenError::Malformed)?;
        let now = unix_now();
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.iat > now + DEV_LEEWAY_SECONDS {
            return Err(TokenError::NotYetValid);
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime.as_secs() {
            return Err(TokenError::TooLongLived);
        }
        match claims.sub.strip_prefix(SERVICE_PREFIX) {
            Some(_) => Err(TokenError::ServiceFromSecret),
            None if claims.sub.is_empty() || claims.acct.is_empty() => Err(TokenError::BadClaims),
            None => Ok(Identity::User {
                account: claims.acct,
                email: claims.sub,
            }),
        }
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str) -> TokenSigner {
        TokenSigner::new(SecretString::from(secret.to_owned())).unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn user_tokens_round_trip_and_service_tokens_are_refused() {
        let s = signer(SECRET);
        let user = Identity::User {
            account: "acme".into(),
            email: "ada@acme.test".into(),
        };
        let token = s.mint(&user, Duration::from_secs(60));
        assert_eq!(s.verify(&token), Ok(user));
        let service = Identity::Service {
            name: "sync-orchestrator".into(),
        };
        let token = s.mint(&service, Duration::from_secs(60));
        assert_eq!(s.verify(&token), Err(TokenError::ServiceFromSecret));
    }

    #[test]
    fn token_from_another_secret_is_rejected() {
        let user = Identity::User {
            account: "acme".into(),
            email: "ada@acme.test".into(),
        };
        let token = signer(SECRET).mint(&user, Duration::from_secs(60));
        let other = signer("another-secret-another-secret-xx");
        assert_eq!(other.verify(&token), Err(TokenError::BadSignature));
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let s = signer(SECRET);
        let token = s.mint(
            &Identity::User {
                account: "acme".into(),
                email: "ada@acme.test".into(),
            },
            Duration::from_secs(60),
        );
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims =
            B64.encode(r#"{"sub":"eve@acme.test","acct":"acme","iat":0,"exp":99999999999}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert_eq!(s.verify(&forged), Err(TokenError::BadSignature));
    }

    #[test]
    fn expired_token_is_rejected() {
        let s = signer(SECRET);
        let claims = Claims {
            sub: "ada@acme.test".into(),
            acct: "acme".into(),
            iat: 1,
            exp: 2,
        };
        let input = format!(
            "{}.{}",
            B64.encode(HEADER),
            B64.encode(serde_json::to_vec(&claims).unwrap())
        );
        let mut mac = s.mac();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
        assert_eq!(s.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn emails_are_the_same_whatever_their_case() {
        let cases = [
            ("ada@acme.test", "ada@acme.test", true),
            ("Ada@Acme.TEST", "ada@acme.test", true),
            (" ada@acme.test ", "ADA@ACME.TEST", true),
            ("Élodie@acme.test", "élodie@acme.test", true),
            ("ada@acme.test", "bob@acme.test", false),
            ("ada@acme.test", "ada@acme.test.evil", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(same_email(a, b), same, "{a} / {b}");
        }
    }

    #[test]
    fn a_token_living_longer_than_the_maximum_lifetime_is_refused() {
        let ada = Identity::User {
            account: "acme".into(),
            email: "ada@acme.test".into(),
        };
        let s = signer(SECRET);
        assert_eq!(
            s.verify(&s.mint_until(&ada, 9_999_999_999)),
            Err(TokenError::TooLongLived)
        );
        assert!(s.verify(&s.mint(&ada, DEV_MAX_LIFETIME)).is_ok());
        let short = signer(SECRET).with_max_lifetime(Duration::from_secs(600));
        assert_eq!(
            short.verify(&s.mint(&ada, Duration::from_secs(601))),
            Err(TokenError::TooLongLived)
        );
        assert!(
            short
                .verify(&s.mint(&ada, Duration::from_secs(600)))
                .is_ok()
        );
    }

    #[test]
    fn garbage_is_malformed_and_short_secret_is_refused() {
        let s = signer(SECRET);
        for bad in ["", "abc", "a.b", "a.b.c.d", "a.b.!!!"] {
            assert!(matches!(
                s.verify(bad),
                Err(TokenError::Malformed | TokenError::BadSignature)
            ));
        }
        assert!(matches!(
            TokenSigner::new(SecretString::from("short".to_owned())),
            Err(TokenError::WeakSecret)
        ));
    }
}
