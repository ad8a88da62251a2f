//! Sessions at rest in Redis: AES-256-GCM (the `aes-gcm` crate mapping-config seals
//! connection tokens with) over the whole session, with a random 96-bit nonce per write and
//! the Redis key and key version as associated data, so a value copied under another
//! session's key does not open. A Redis dump, backup or `MONITOR` shows no token, email or
//! CSRF token.
//!
//! Keys come from `TANDEM_CONSOLE_SESSION_KEYS` in mapping-config's format,
//! `<version>:<base64 of 32 bytes>` separated by commas: the highest version seals, every
//! listed version opens, so rotation is adding a version (sessions sealed with a removed one
//! are signed out). Development mode without keys gets a random one per start.

use std::collections::BTreeMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret as _, SecretBox, SecretString};

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;
const VERSION_LEN: usize = 4;

/// The session keys. Cheap to clone; never printed.
#[derive(Clone)]
pub struct SessionKeys {
    keys: Arc<BTreeMap<u32, SecretBox<[u8; KEY_LEN]>>>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SessionKeys(versions: {:?})",
            self.keys.keys().collect::<Vec<_>>()
        )
    }
}

impl SessionKeys {
    /// Parses `1:<base64>,2:<base64>`; an error names the entry and what is wrong with it.
    pub fn parse(text: &SecretString) -> Result<Self, String> {
        let text = text.expose_secret().trim();
        if text.is_empty() {
            return Err("TANDEM_CONSOLE_SESSION_KEYS is empty".to_owned());
        }
        let mut keys = BTreeMap::new();
        for (i, entry) in text.split(',').enumerate() {
            let bad = |reason: &str| {
                format!(
                    "TANDEM_CONSOLE_SESSION_KEYS entry {}: {reason} (expected `<version>:<base64 of 32 bytes>`)",
                    i + 1
                )
            };
            let (version, key) = entry
                .trim()
                .split_once(':')
                .ok_or_else(|| bad("no `:` between version and key"))?;
            let version: u32 = version
                .trim()
                .parse()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| bad("the version is not a positive number"))?;
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
        Ok(SessionKeys {
            keys: Arc::new(keys),
        })
    }

    /// One random key: development mode's sessions, unreadable after a restart.
    pub fn ephemeral() -> Self {
        let key: [u8; KEY_LEN] = rand::random();
        SessionKeys {
            keys: Arc::new(BTreeMap::from([(1, SecretBox::new(Box::new(key)))])),
        }
    }

    fn cipher(&self, version: u32) -> Option<Aes256Gcm> {
        Aes256Gcm::new_from_slice(self.keys.get(&version)?.expose_secret()).ok()
    }

    /// `version || nonce || ciphertext` of `plain`, bound to `context` (the Redis key).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let (&version, _) = self
            .keys
            .last_key_value()
            .unwrap_or_else(|| unreachable!("parse and ephemeral give at least one key"));
        let Some(cipher) = self.cipher(version) else {
            unreachable!("the key is 32 bytes long");
        };
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = associated_data(context, version);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .unwrap_or_else(|_| unreachable!("aes-gcm seals any message under 64 GiB"));
        let mut out = Vec::with_capacity(VERSION_LEN + NONCE_LEN + sealed.len());
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// What [`SessionKeys::seal`] sealed for `context`; `None` when it does not open (another
    /// key, another session's value, altered).
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < VERSION_LEN + NONCE_LEN {
            return None;
        }
        let (version, rest) = sealed.split_at(VERSION_LEN);
        let version = u32::from_be_bytes(version.try_into().ok()?);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let aad = associated_data(context, version);
        self.cipher(version)?
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .ok()
    }
}

fn associated_data(context: &str, version: u32) -> Vec<u8> {
    format!("tandem-console-session:v{version}:{context}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> SessionKeys {
        SessionKeys::parse(&SecretString::from(text.to_owned())).unwrap()
    }

    const ONE: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const TWO: &str = "2:HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo=";

    #[test]
    fn a_sealed_session_opens_only_under_its_own_key_and_context() {
        let one = keys(ONE);
        let sealed = one.seal("p:console:session:a", b"{\"token\":\"eyJ\"}");
        assert!(!String::from_utf8_lossy(&sealed).contains("eyJ"));
        assert_eq!(
            one.open("p:console:session:a", &sealed).unwrap(),
            b"{\"token\":\"eyJ\"}"
        );
        assert_eq!(one.open("p:console:session:b", &sealed), None, "moved");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(one.open("p:console:session:a", &altered), None, "altered");
        assert_eq!(
            SessionKeys::ephemeral().open("p:console:session:a", &sealed),
            None
        );
        assert_eq!(one.open("p:console:session:a", b"short"), None);
        // Rotation: the newest seals, the older still opens.
        let both = keys(&format!("{ONE},{TWO}"));
        assert!(both.open("p:console:session:a", &sealed).is_some());
        assert_eq!(&both.seal("c", b"x")[..4], &2u32.to_be_bytes());
    }

    #[test]
    fn malformed_keys_are_refused_naming_the_entry() {
        for (text, expected) in [
            ("", "empty"),
            ("abc", "entry 1: no `:`"),
            ("0:AAAA", "entry 1: the version"),
            ("1:***", "entry 1: the key is not base64"),
            ("1:AAAA", "entry 1: the key is not 32 bytes"),
            (
                &format!("{ONE},{ONE}"),
                "entry 2: the version is listed twice",
            ),
        ] {
            let error = SessionKeys::parse(&SecretString::from(text.to_owned())).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
