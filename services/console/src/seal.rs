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

use secrecy::{ExposeSecret as _, SecretString};
use tandem_service::keyring::{KeyRing, KeyRingError};

const VERSION_LEN: usize = 4;

/// The session keys. Cheap to clone; never printed.
#[derive(Clone)]
pub struct SessionKeys(KeyRing);

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKeys(versions: {:?})", self.0.versions())
    }
}

impl SessionKeys {
    /// Parses `1:<base64>,2:<base64>`; an error names the entry and what is wrong with it.
    pub fn parse(text: &SecretString) -> Result<Self, String> {
        KeyRing::parse(text.expose_secret())
            .map(SessionKeys)
            .map_err(|e| match e {
                KeyRingError::Empty => "TANDEM_CONSOLE_SESSION_KEYS is empty".to_owned(),
                KeyRingError::Malformed { position, reason } => format!(
                    "TANDEM_CONSOLE_SESSION_KEYS entry {position}: {reason} (expected `<version>:<base64 of 32 bytes>`)"
                ),
            })
    }

    /// One random key: development mode's sessions, unreadable after a restart.
    pub fn ephemeral() -> Self {
        SessionKeys(KeyRing::ephemeral())
    }

    /// `version || nonce || ciphertext` of `plain`, bound to `context` (the Redis key).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let version = self.0.current_version();
        let Some(sealed) = self
            .0
            .seal(version, &associated_data(context, version), plain)
        else {
            unreachable!("parse and ephemeral give at least one key");
        };
        let mut out = Vec::with_capacity(VERSION_LEN + sealed.len());
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&sealed);
        out
    }

    /// What [`SessionKeys::seal`] sealed for `context`; `None` when it does not open (another
    /// key, another session's value, altered).
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < VERSION_LEN {
            return None;
        }
        let (version, body) = sealed.split_at(VERSION_LEN);
        let version = u32::from_be_bytes(version.try_into().ok()?);
        self.0
            .open(version, &associated_data(context, version), body)
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
            ("0:AAAA", "entry 1: versions start at 1"),
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
