//! Service identities: each Tandem service signs its outgoing calls with its own Ed25519 key
//! (a short-lived EdDSA JWT whose `kid` and `sub` name the service), and every service checks
//! them against the configured public keys of that name. Nothing a user holds can mint one:
//! the development secret signs only user tokens, and `tandem token` has no `--service`.
//!
//! Formats (what `tandem service-keys` prints):
//! - a private key (`TANDEM_SERVICE_KEY`, or a file named by `TANDEM_SERVICE_KEY_FILE`):
//!   the base64 of its PKCS#8 document;
//! - the public keys (`TANDEM_SERVICE_PUBLIC_KEYS`): `name=key,name=key,…`, each key the
//!   base64url of its 32 bytes. A name may appear twice while its key is rotated.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, TokenError, unix_now};

/// The audience of every service token: Tandem's own services.
pub const AUDIENCE: &str = "tandem-services";
/// The longest a service token may live (they are minted for five minutes).
pub const MAX_LIFETIME: Duration = Duration::from_secs(600);
/// Clock difference tolerated between two services.
const LEEWAY_SECONDS: u64 = 30;

/// The five services, by the names their tokens carry.
pub mod names {
    pub const CONNECTOR_SALESFORCE: &str = "connector-salesforce";
    pub const CONNECTOR_MONDAY: &str = "connector-monday";
    pub const MAPPING_CONFIG: &str = "mapping-config";
    pub const SYNC_ORCHESTRATOR: &str = "sync-orchestrator";
    pub const RUN_HISTORY: &str = "run-history";
    pub const ALL: [&str; 5] = [
        CONNECTOR_SALESFORCE,
        CONNECTOR_MONDAY,
        MAPPING_CONFIG,
        SYNC_ORCHESTRATOR,
        RUN_HISTORY,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{what} is not the base64 of an Ed25519 PKCS#8 private key")]
    BadPrivateKey { what: &'static str },
    #[error(
        "TANDEM_SERVICE_PUBLIC_KEYS entry `{entry}` is not `service-name=<base64url of 32 bytes>`"
    )]
    BadPublicKey { entry: String },
    #[error(
        "{service} has no service key: set TANDEM_SERVICE_KEY or TANDEM_SERVICE_KEY_FILE (`tandem service-keys` makes them)"
    )]
    Missing { service: String },
}

/// One service's private key. Never printed.
pub struct ServiceKey {
    encoding: EncodingKey,
    public: [u8; 32],
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceKey(<redacted>)")
    }
}

impl ServiceKey {
    /// A new random key, with the PKCS#8 text to store it as.
    pub fn generate() -> (Self, SecretString) {
        let rng = ring::rand::SystemRandom::new();
        let document = Ed25519KeyPair::generate_pkcs8(&rng)
            .unwrap_or_else(|_| unreachable!("the system random source works"));
        let text = SecretString::from(STANDARD.encode(document.as_ref()));
        let key = Self::from_pkcs8(document.as_ref(), "a generated key")
            .unwrap_or_else(|_| unreachable!("ring reads the key it made"));
        (key, text)
    }

    /// Reads the base64 PKCS#8 text (`what` names where it came from, for the error).
    pub fn parse(text: &SecretString, what: &'static str) -> Result<Self, KeyError> {
        let der = STANDARD
            .decode(text.expose_secret().trim())
            .map_err(|_| KeyError::BadPrivateKey { what })?;
        Self::from_pkcs8(&der, what)
    }

    fn from_pkcs8(der: &[u8], what: &'static str) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| KeyError::BadPrivateKey { what })?;
        let mut public = [0u8; 32];
        public.copy_from_slice(pair.public_key().as_ref());
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der),
            public,
        })
    }

    /// The public half, as `TANDEM_SERVICE_PUBLIC_KEYS` writes it.
    pub fn public_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ServiceClaims {
    /// `service:<name>`.
    sub: String,
    aud: String,
    iat: u64,
    exp: u64,
}

const SERVICE_PREFIX: &str = "service:";

/// A service's key under its name: mints the tokens its calls carry.
#[derive(Clone, Debug)]
pub struct ServiceSigner {
    name: String,
    key: Arc<ServiceKey>,
}

impl ServiceSigner {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A token naming this service, valid for `ttl` (at most [`MAX_LIFETIME`]).
    pub fn mint(&self, ttl: Duration) -> String {
        let now = unix_now();
        let claims = ServiceClaims {
            sub: format!("{SERVICE_PREFIX}{}", self.name),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + ttl.min(MAX_LIFETIME).as_secs().max(1),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.name.clone());
        jsonwebtoken::encode(&header, &claims, &self.key.encoding)
            .unwrap_or_else(|_| unreachable!("an Ed25519 key signs any claims"))
    }
}

/// The private keys this process signs with: one key (a service deployed alone signs as
/// whichever service it is) or one per service (the five in one process).
#[derive(Clone, Debug, Default)]
pub struct SigningKeys {
    own: Option<Arc<ServiceKey>>,
    by_name: Arc<BTreeMap<String, Arc<ServiceKey>>>,
}

impl SigningKeys {
    /// The process's one key.
    pub fn own(key: ServiceKey) -> Self {
        Self {
            own: Some(Arc::new(key)),
            by_name: Arc::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.own.is_none() && self.by_name.is_empty()
    }

    /// The signer for calls made as `service`.
    pub fn signer(&self, service: &str) -> Result<ServiceSigner, KeyError> {
        let key = self
            .by_name
            .get(service)
            .or(self.own.as_ref())
            .ok_or_else(|| KeyError::Missing {
                service: service.to_owned(),
            })?;
        Ok(ServiceSigner {
            name: service.to_owned(),
            key: key.clone(),
        })
    }
}

/// The public keys of every service, by name: what a service checks callers against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublicKeys {
    by_name: BTreeMap<String, Vec<[u8; 32]>>,
}

impl PublicKeys {
    /// Reads `name=key,name=key,…` (whitespace and newlines between entries allowed).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut keys = Self::default();
        for entry in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            let bad = || KeyError::BadPublicKey {
                entry: entry.to_owned(),
            };
            let (name, key) = entry.split_once('=').ok_or_else(bad)?;
            let bytes = URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .map_err(|_| bad())?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
            if name.is_empty() {
                return Err(bad());
            }
            keys.by_name.entry(name.to_owned()).or_default().push(key);
        }
        Ok(keys)
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// These keys and `other`'s.
    pub fn merged(mut self, other: &PublicKeys) -> Self {
        for (name, keys) in &other.by_name {
            self.by_name
                .entry(name.clone())
                .or_default()
                .extend(keys.iter().copied());
        }
        self
    }

    /// The identity an EdDSA token names, if one of the keys of the service it names signed
    /// it, for [`AUDIENCE`], unexpired and no longer-lived than [`MAX_LIFETIME`].
    pub fn verify(&self, token: &str, kid: Option<&str>) -> Result<Identity, TokenError> {
        let name = kid.ok_or(TokenError::BadClaims)?;
        let keys = self
            .by_name
            .get(name)
            .ok_or_else(|| TokenError::UnknownService(name.to_owned()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        let mut last = TokenError::BadSignature;
        for key in keys {
            match jsonwebtoken::decode::<ServiceClaims>(
                token,
                &DecodingKey::from_ed_der(key),
                &validation,
            ) {
                Ok(data) => return check(data.claims, name),
                Err(e) => last = TokenError::from_jwt(&e),
            }
        }
        Err(last)
    }
}

fn check(claims: ServiceClaims, name: &str) -> Result<Identity, TokenError> {
    if claims.sub.strip_prefix(SERVICE_PREFIX) != Some(name) {
        return Err(TokenError::BadClaims);
    }
    if claims.iat > unix_now() + LEEWAY_SECONDS {
        return Err(TokenError::NotYetValid);
    }
    if claims.exp.saturating_sub(claims.iat) > MAX_LIFETIME.as_secs() {
        return Err(TokenError::TooLongLived);
    }
    Ok(Identity::Service {
        name: name.to_owned(),
    })
}

/// A fresh key for each named service and the public keys of all of them: what a stack in one
/// process (or a test, or a bench) makes for itself.
#[derive(Clone, Debug)]
pub struct KeySet {
    pub signing: SigningKeys,
    pub public: PublicKeys,
    private_texts: Arc<BTreeMap<String, SecretString>>,
}

impl KeySet {
    pub fn generate(services: &[&str]) -> Self {
        let mut by_name = BTreeMap::new();
        let mut texts = BTreeMap::new();
        let mut public = PublicKeys::default();
        for name in services {
            let (key, text) = ServiceKey::generate();
            public
                .by_name
                .entry((*name).to_owned())
                .or_default()
                .push(key.public);
            by_name.insert((*name).to_owned(), Arc::new(key));
            texts.insert((*name).to_owned(), text);
        }
        Self {
            signing: SigningKeys {
                own: None,
                by_name: Arc::new(by_name),
            },
            public,
            private_texts: Arc::new(texts),
        }
    }

    /// `TANDEM_SERVICE_PUBLIC_KEYS` for every service of the set.
    pub fn public_text(&self) -> String {
        self.public
            .by_name
            .iter()
            .flat_map(|(name, keys)| {
                keys.iter()
                    .map(move |k| format!("{name}={}", URL_SAFE_NO_PAD.encode(k)))
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `TANDEM_SERVICE_KEY` for `service` (to hand to a process of its own).
    pub fn private_text(&self, service: &str) -> Option<&SecretString> {
        self.private_texts.get(service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_token_verifies_under_its_own_name_only() {
        let set = KeySet::generate(&[names::SYNC_ORCHESTRATOR, names::CONNECTOR_MONDAY]);
        let orchestrator = set.signing.signer(names::SYNC_ORCHESTRATOR).unwrap();
        let token = orchestrator.mint(Duration::from_secs(60));
        let kid = jsonwebtoken::decode_header(&token).unwrap().kid;
        assert_eq!(
            set.public.verify(&token, kid.as_deref()),
            Ok(Identity::Service {
                name: names::SYNC_ORCHESTRATOR.into()
            })
        );
        // Claiming to be another service with this key fails: the kid picks the keys.
        assert_eq!(
            set.public.verify(&token, Some(names::CONNECTOR_MONDAY)),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            set.public.verify(&token, Some("intruder")),
            Err(TokenError::UnknownService("intruder".into()))
        );
    }

    #[test]
    fn another_deployments_key_is_refused_and_rotation_accepts_both_keys() {
        let ours = KeySet::generate(&[names::MAPPING_CONFIG]);
        let theirs = KeySet::generate(&[names::MAPPING_CONFIG]);
        let token = theirs
            .signing
            .signer(names::MAPPING_CONFIG)
            .unwrap()
            .mint(Duration::from_secs(60));
        let kid = Some(names::MAPPING_CONFIG);
        assert_eq!(
            ours.public.verify(&token, kid),
            Err(TokenError::BadSignature)
        );
        let both =
            PublicKeys::parse(&format!("{},{}", ours.public_text(), theirs.public_text())).unwrap();
        assert!(both.verify(&token, kid).is_ok());
    }

    #[test]
    fn keys_round_trip_through_their_texts() {
        let set = KeySet::generate(&[names::RUN_HISTORY]);
        let text = set.private_text(names::RUN_HISTORY).unwrap();
        let key = ServiceKey::parse(text, "TANDEM_SERVICE_KEY").unwrap();
        let token = SigningKeys::own(key)
            .signer(names::RUN_HISTORY)
            .unwrap()
            .mint(Duration::from_secs(60));
        let public = PublicKeys::parse(&set.public_text()).unwrap();
        assert_eq!(public, set.public);
        assert!(public.verify(&token, Some(names::RUN_HISTORY)).is_ok());
        assert!(matches!(
            ServiceKey::parse(&SecretString::from("bm90IGEga2V5".to_owned()), "x"),
            Err(KeyError::BadPrivateKey { .. })
        ));
        for bad in ["nameonly", "=abc", "a=short", "a=!!!"] {
            assert!(PublicKeys::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            SigningKeys::default().signer("x"),
            Err(KeyError::Missing { .. })
        ));
    }
}
