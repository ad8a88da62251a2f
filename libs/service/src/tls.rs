//! TLS on every gRPC listener and every call between services (rustls through tonic, ring as
//! the provider). A service given a certificate and key (`TANDEM_TLS_CERT`, `TANDEM_TLS_KEY`,
//! PEM files) serves TLS only; peers at `https://` URLs are verified against the CA bundle
//! `TANDEM_TLS_CA` (PEM, one or more certificates). Plaintext is for development mode only:
//! outside it a service refuses to start without a certificate (see `args::InfraArgs`).

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// Where the certificate, its key and the CA bundle are.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// This service's certificate chain (PEM). With `--tls-key`, every gRPC listener serves
    /// TLS only.
    #[arg(long, env = "TANDEM_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(long, env = "TANDEM_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// The CA certificates (PEM) peers' certificates are checked against, for `https://` peer
    /// URLs. Unset: the system's roots are not used; set it whenever peers use TLS.
    #[arg(long, env = "TANDEM_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
}

/// The resolved TLS settings: what the server presents, what clients trust.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    server: Option<ServerTlsConfig>,
    ca: Option<Certificate>,
}

impl Tls {
    /// From PEM text: this service's certificate chain and key, and the CA bundle it trusts.
    pub fn from_pem(identity: Option<(&[u8], &[u8])>, ca: Option<&[u8]>) -> Result<Self, String> {
        let server = identity
            .map(|(cert, key)| ServerTlsConfig::new().identity(Identity::from_pem(cert, key)));
        Ok(Self {
            server,
            ca: ca.map(Certificate::from_pem),
        })
    }

    /// Whether this service's listeners serve TLS.
    pub fn serves_tls(&self) -> bool {
        self.server.is_some()
    }

    /// What a listener serves TLS with, if it does.
    pub fn server(&self) -> Option<ServerTlsConfig> {
        self.server.clone()
    }

    /// The client settings for a peer at `host`: its certificate must chain to the CA bundle.
    pub fn client(&self, host: &str) -> Result<ClientTlsConfig, String> {
        let ca = self.ca.clone().ok_or_else(|| {
            "a peer URL is https:// but no CA bundle is set: set TANDEM_TLS_CA".to_owned()
        })?;
        Ok(ClientTlsConfig::new()
            .ca_certificate(ca)
            .domain_name(host.to_owned()))
    }
}

/// A certificate chain and its private key, PEM.
type Pem = (Vec<u8>, Vec<u8>);

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} `{}`: {e}", path.display()))
}

impl TlsArgs {
    /// The certificate and key as PEM, if both are set; an error names the setting and file.
    fn identity(&self) -> Result<Option<Pem>, String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((
                read(cert, "TANDEM_TLS_CERT")?,
                read(key, "TANDEM_TLS_KEY")?,
            ))),
            (None, None) => Ok(None),
            _ => Err("set both TANDEM_TLS_CERT and TANDEM_TLS_KEY, or neither".to_owned()),
        }
    }

    /// What an HTTP listener (the console, the development provider) serves HTTPS with;
    /// `None` without a certificate.
    pub fn https_server(&self) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, String> {
        self.identity()?
            .map(|(cert, key)| crate::https::server_config(&cert, &key))
            .transpose()
    }

    /// Reads the files; an error names the setting and the file.
    pub fn resolve(&self) -> Result<Tls, String> {
        let identity = self.identity()?;
        let ca = match &self.tls_ca {
            Some(path) => Some(read(path, "TANDEM_TLS_CA")?),
            None => None,
        };
        if let Some((cert, _)) = &identity
            && !String::from_utf8_lossy(cert).contains("-----BEGIN CERTIFICATE-----")
        {
            return Err("TANDEM_TLS_CERT holds no PEM certificate".to_owned());
        }
        Tls::from_pem(
            identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
            ca.as_deref(),
        )
    }
}
