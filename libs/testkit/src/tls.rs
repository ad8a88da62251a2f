//! Certificates for TLS tests: a CA of the test's own and a certificate it signed for
//! `localhost`, in PEM.

use tandem_dev_issuer::pem;
use tandem_service::tls::Tls;

/// A CA and a `localhost` certificate with its key, PEM.
#[derive(Clone)]
pub struct TestPki {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

impl TestPki {
    /// A fresh CA and certificate.
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("a key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "tandem test CA");
        let ca_cert = ca.self_signed(&ca_key).expect("a self-signed CA");
        let key = rcgen::KeyPair::generate().expect("a key");
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let cert = leaf
            .signed_by(&key, &rcgen::Issuer::new(ca, &ca_key))
            .expect("a certificate");
        Self {
            ca: pem("CERTIFICATE", ca_cert.der()),
            cert: pem("CERTIFICATE", cert.der()),
            key: pem("PRIVATE KEY", &key.serialize_der()),
        }
    }

    /// A service serving this certificate and trusting this CA.
    pub fn tls(&self) -> Tls {
        self.tls_trusting(&self.ca)
    }

    /// A service serving this certificate and trusting `ca` instead.
    pub fn tls_trusting(&self, ca: &str) -> Tls {
        Tls::from_pem(
            Some((self.cert.as_bytes(), self.key.as_bytes())),
            Some(ca.as_bytes()),
        )
        .expect("test certificates parse")
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}
