//! A versioned ring of AES-256-GCM keys, as `TANDEM_ENCRYPTION_KEYS` (mapping-config's stored
//! tokens) and `TANDEM_CONSOLE_SESSION_KEYS` (the console's sessions) give them:
//! `<version>:<base64 of 32 bytes>` separated by commas. The highest version seals; every
//! listed version opens, so rotation is adding a version. Each sealing draws a random 96-bit
//! nonce; what a value is bound to (its row, its session) is the caller's associated data.

use std::collections::BTreeMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret as _, SecretBox};

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

/// Why a key list does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRingError {
    /// Nothing was given.
    Empty,
    /// Entry `position` (from 1) is wrong in this way.
    Malformed { position: usize, reason: String },
}

/// The keys. Cheap to clone; its Debug output shows the versions only.
#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<BTreeMap<u32, SecretBox<[u8; KEY_LEN]>>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing(versions: {:?})", self.versions())
    }
}

impl KeyRing {
    /// Parses `1:<base64>,2:<base64>`.
    pub fn parse(text: &str) -> Result<Self, KeyRingError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(KeyRingError::Empty);
        }
        let mut keys = BTreeMap::new();
        for (i, entry) in text.split(',').enumerate() {
            let bad = |reason: &str| KeyRingError::Malformed {
                position: i + 1,
                reason: reason.to_owned(),
            };
            let (version, key) = entry
                .trim()
                .split_once(':')
                .ok_or_else(|| bad("no `:` between version and key"))?;
            let version: u32 = version
                .trim()
                .parse()
                .map_err(|_| bad("the version is not a positive number"))?;
            if version == 0 {
                return Err(bad("versions start at 1"));
            }
            let key: [u8; KEY_LEN] = B64
                .decode(key.trim())
                .map_err(|_| bad("the key is not base64"))?
                .try_into()
                .map_err(|_| bad("the key is not 32 bytes long"))?;
            if keys
                .insert(version, SecretBox::new(Box::new(key)))
                .is_some()
            {
                return Err(bad("the version is listed twice"));
            }
        }
        Ok(Self {
            keys: Arc::new(keys),
        })
    }

    /// One random key (a development stack: what it seals is unreadable after a restart).
    pub fn ephemeral() -> Self {
        let key: [u8; KEY_LEN] = rand::random();
        Self {
            keys: Arc::new(BTreeMap::from([(1, SecretBox::new(Box::new(key)))])),
        }
    }

    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// The version that seals.
    pub fn current_version(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    fn cipher(&self, version: u32) -> Option<Aes256Gcm> {
        Aes256Gcm::new_from_slice(self.keys.get(&version)?.expose_secret()).ok()
    }

    /// `nonce || ciphertext` of `plain` under `version`'s key, bound to `aad`; `None` when
    /// the ring has no such version.
    pub fn seal(&self, version: u32, aad: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        let cipher = self.cipher(version)?;
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .ok()?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(out)
    }

    /// What [`KeyRing::seal`] sealed with `version` and `aad`; `None` when it does not open
    /// (another key, other associated data, altered, or no such version).
    pub fn open(&self, version: u32, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher(version)?
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        B64.encode([byte; KEY_LEN])
    }

    #[test]
    fn sealed_values_open_only_with_their_version_and_associated_data() {
        let ring = KeyRing::parse(&format!("1:{},2:{}", key(1), key(2))).unwrap();
        assert_eq!(ring.current_version(), 2);
        let sealed = ring.seal(2, b"row-a", b"secret").unwrap();
        assert_eq!(
            ring.open(2, b"row-a", &sealed).as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(ring.open(2, b"row-b", &sealed), None);
        assert_eq!(ring.open(1, b"row-a", &sealed), None);
        assert_ne!(
            ring.seal(2, b"row-a", b"secret").unwrap(),
            sealed,
            "fresh nonces"
        );
        assert_eq!(ring.seal(3, b"row-a", b"secret"), None);
        assert_eq!(format!("{ring:?}"), "KeyRing(versions: [1, 2])");
    }

    #[test]
    fn malformed_lists_name_the_entry() {
        assert_eq!(KeyRing::parse(" ").unwrap_err(), KeyRingError::Empty);
        for (text, reason) in [
            (format!("1:{},x", key(1)), "no `:`"),
            ("0:AAAA".to_owned(), "versions start at 1"),
            ("one:AAAA".to_owned(), "positive number"),
            ("1:***".to_owned(), "not base64"),
            ("1:AAAA".to_owned(), "32 bytes"),
            (format!("1:{},1:{}", key(1), key(2)), "listed twice"),
        ] {
            match KeyRing::parse(&text).unwrap_err() {
                KeyRingError::Malformed { reason: r, .. } => assert!(r.contains(reason), "{r}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
