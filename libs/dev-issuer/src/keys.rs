//! The provider's signing key: ES256 (P-256), kept in a PEM file so tokens outlive a restart,
//! and published as a JSON Web Key under a key id derived from the public key.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};

/// A P-256 signing key and its public half as a JWK.
pub struct EcKey {
    kid: String,
    pkcs8: Vec<u8>,
    encoding: EncodingKey,
    jwk: Value,
}

impl EcKey {
    /// A new random key.
    pub fn generate() -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "could not generate a P-256 key".to_owned())?;
        Self::from_pkcs8(pkcs8.as_ref().to_vec(), None)
    }

    /// A new random key published under `kid` (tests that name their keys).
    pub fn generate_named(kid: &str) -> Result<Self, String> {
        let key = Self::generate()?;
        Self::from_pkcs8(key.pkcs8, Some(kid))
    }

    /// The key a PEM file (`-----BEGIN PRIVATE KEY-----`, PKCS#8) holds.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use rustls::pki_types::PrivatePkcs8KeyDer;
        use rustls::pki_types::pem::PemObject as _;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("no PKCS#8 `PRIVATE KEY` PEM block: {e}"))?;
        Self::from_pkcs8(der.secret_pkcs8_der().to_vec(), None)
    }

    fn from_pkcs8(pkcs8: Vec<u8>, kid: Option<&str>) -> Result<Self, String> {
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
            .map_err(|_| "not a PKCS#8 P-256 private key".to_owned())?;
        // Uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        let kid = match kid {
            Some(kid) => kid.to_owned(),
            None => {
                let digest = ring::digest::digest(&ring::digest::SHA256, point);
                URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12])
            }
        };
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ec_der(&pkcs8),
            pkcs8,
            jwk,
        })
    }

    /// The private key as PEM, for the key file.
    pub fn to_pem(&self) -> String {
        pem("PRIVATE KEY", &self.pkcs8)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as published in the key set.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// `claims` as a compact JWS signed with this key.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }
}

/// DER as PEM with the given label (`CERTIFICATE`, `PRIVATE KEY`), 64 characters a line.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_read_back_from_its_pem_is_the_same_key() {
        let key = EcKey::generate().unwrap();
        let again = EcKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.jwk(), key.jwk());
        assert!(EcKey::from_pem("not a key").is_err());
    }
}
