//! Tokens at rest: AES-256-GCM with a random 96-bit nonce per encryption and the connection
//! id, the key version and the token's purpose as associated data, so a ciphertext copied to
//! another row (or another column) fails to decrypt.
//!
//! Keys come from `TANDEM_ENCRYPTION_KEYS`: `version:base64(32 bytes)` separated by commas,
//! e.g. `1:…,2:…`. The highest version encrypts; every listed version decrypts, so rotation
//! is adding a version (old rows decrypt with their own, and are re-encrypted with the newest
//! on their next refresh).

use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use tandem_service::keyring::{self, KeyRingError};
use uuid::Uuid;

/// Which token a ciphertext holds; part of the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Access,
    Refresh,
    /// An OAuth state's PKCE code verifier (the connection id is the state's connection).
    PkceVerifier,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::Access => b"access",
            Purpose::Refresh => b"refresh",
            Purpose::PkceVerifier => b"pkce",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "TANDEM_ENCRYPTION_KEYS is not set: set it to `1:<base64 of 32 random bytes>` (e.g. `1:$(openssl rand -base64 32)`); add `,2:<…>` to rotate"
    )]
    Missing,
    #[error(
        "TANDEM_ENCRYPTION_KEYS entry {position} is malformed: {reason} (expected `<version>:<base64 of 32 bytes>`)"
    )]
    Malformed { position: usize, reason: String },
}

/// The set of token keys. Cheap to clone; its keys never appear in Debug output.
#[derive(Clone)]
pub struct KeyRing(keyring::KeyRing);

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for KeyRing {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, KeyError> {
        Self::parse(&SecretString::from(text.to_owned()))
    }
}

/// The token could not be decrypted: wrong row, wrong key, or tampered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored token does not decrypt (key version {version})")]
pub struct DecryptError {
    pub version: u32,
}

impl KeyRing {
    /// Parses `1:<base64>,2:<base64>`.
    pub fn parse(text: &SecretString) -> Result<Self, KeyError> {
        keyring::KeyRing::parse(text.expose_secret())
            .map(Self)
            .map_err(|e| match e {
                KeyRingError::Empty => KeyError::Missing,
                KeyRingError::Malformed { position, reason } => {
                    KeyError::Malformed { position, reason }
                }
            })
    }

    /// A ring with one random key, for `tandem up` without configured keys (tokens stored
    /// with it are unreadable after a restart).
    pub fn ephemeral() -> Self {
        Self(keyring::KeyRing::ephemeral())
    }

    /// The version new ciphertexts use.
    pub fn current_version(&self) -> u32 {
        self.0.current_version()
    }

    /// `nonce || ciphertext` of `plaintext` under the current key.
    pub fn encrypt(&self, connection: Uuid, purpose: Purpose, plaintext: &str) -> (u32, Vec<u8>) {
        let version = self.current_version();
        let aad = associated_data(connection, version, purpose);
        let Some(sealed) = self.0.seal(version, &aad, plaintext.as_bytes()) else {
            unreachable!("a key ring always holds its current version");
        };
        (version, sealed)
    }

    /// The token stored as `stored` for `connection` with key `version`.
    pub fn decrypt(
        &self,
        connection: Uuid,
        purpose: Purpose,
        version: u32,
        stored: &[u8],
    ) -> Result<SecretString, DecryptError> {
        let fail = DecryptError { version };
        let plain = self
            .0
            .open(
                version,
                &associated_data(connection, version, purpose),
                stored,
            )
            .ok_or(fail.clone())?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| fail)
    }
}

fn associated_data(connection: Uuid, version: u32, purpose: Purpose) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + 4 + 8);
    aad.extend_from_slice(connection.as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(purpose.tag());
    aad
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;

    use super::*;

    const KEY_LEN: usize = 32;
    const NONCE_LEN: usize = 12;

    fn key(byte: u8) -> String {
        B64.encode([byte; KEY_LEN])
    }

    #[test]
    fn round_trips_and_binds_the_row_the_version_and_the_purpose() {
        let ring: KeyRing = format!("1:{}", key(7)).parse().unwrap();
        let row = Uuid::new_v4();
        let (version, ct) = ring.encrypt(row, Purpose::Access, "00Dxx!secret-token");
        assert_eq!(version, 1);
        assert!(!ct.windows(6).any(|w| w == b"secret"));
        let plain = ring.decrypt(row, Purpose::Access, 1, &ct).unwrap();
        assert_eq!(plain.expose_secret(), "00Dxx!secret-token");
        assert!(
            ring.decrypt(Uuid::new_v4(), Purpose::Access, 1, &ct)
                .is_err()
        );
        assert!(ring.decrypt(row, Purpose::Refresh, 1, &ct).is_err());
        assert!(ring.decrypt(row, Purpose::Access, 2, &ct).is_err());
        let mut tampered = ct.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(ring.decrypt(row, Purpose::Access, 1, &tampered).is_err());
    }

    #[test]
    fn nonces_differ_between_encryptions() {
        let ring: KeyRing = format!("1:{}", key(7)).parse().unwrap();
        let row = Uuid::new_v4();
        let (_, a) = ring.encrypt(row, Purpose::Access, "same");
        let (_, b) = ring.encrypt(row, Purpose::Access, "same");
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
    }

    #[test]
    fn the_highest_version_encrypts_and_older_ones_still_decrypt() {
        let old: KeyRing = format!("1:{}", key(1)).parse().unwrap();
        let row = Uuid::new_v4();
        let (v1, ct1) = old.encrypt(row, Purpose::Refresh, "r1");
        let rotated: KeyRing = format!("2:{},1:{}", key(2), key(1)).parse().unwrap();
        let (v2, _) = rotated.encrypt(row, Purpose::Refresh, "r2");
        assert_eq!((v1, v2), (1, 2));
        let plain = rotated.decrypt(row, Purpose::Refresh, v1, &ct1).unwrap();
        assert_eq!(plain.expose_secret(), "r1");
    }

    #[test]
    fn malformed_or_missing_keys_are_refused_with_a_clear_message() {
        let cases = [
            ("", "is not set"),
            ("abc", "no `:`"),
            ("x:abc", "not a positive number"),
            ("0:abc", "versions start at 1"),
            ("1:!!!", "not base64"),
            ("1:AAAA", "not 32 bytes"),
        ];
        for (text, expected) in cases {
            let err = text.parse::<KeyRing>().unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let dup = format!("1:{},1:{}", key(1), key(2));
        assert!(
            dup.parse::<KeyRing>()
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn debug_output_shows_versions_only() {
        let ring: KeyRing = format!("3:{}", key(9)).parse().unwrap();
        let shown = format!("{ring:?}");
        assert_eq!(shown, "KeyRing(versions: [3])");
    }
}
