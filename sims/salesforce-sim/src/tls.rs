//! A self-signed certificate for `--tls`, served with rustls (ring provider).

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

use crate::errors::Error;

/// The names the certificate covers.
const NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "*.localhost",
    "*.my.salesforce.com",
    "*.sandbox.my.salesforce.com",
    "*.develop.my.salesforce.com",
];

/// A TLS acceptor with a fresh self-signed certificate, and that certificate (DER).
pub fn acceptor() -> Result<(TlsAcceptor, Vec<u8>), Error> {
    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| Error::Tls(e.to_string()))?;
    let cert_der: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), cert_der.to_vec()))
}
