//! mapping-config's configuration, filled by `main` from flags and environment, or built directly by
//! tests and `tandem up`.

use std::net::SocketAddr;

use tandem_service::args::{Infra, PeerArgs};

use crate::crypto::KeyRing;

/// Flags of mapping-config itself (the shared ones are in `tandem_service::args`). The group
/// id keeps it apart from other services' `Options` when `tandem up` flattens several.
#[derive(Debug, Clone, Default, clap::Args)]
#[group(id = "mapping-config-options")]
pub struct Options {
    /// Token encryption keys: `1:<base64 of 32 bytes>[,2:<…>]`; the highest version encrypts,
    /// all decrypt. Required: start-up fails without it.
    #[arg(long, env = "TANDEM_ENCRYPTION_KEYS", hide = true)]
    pub encryption_keys: Option<KeyRing>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub infra: Infra,
    /// Where the other Tandem services are.
    pub peers: PeerArgs,
    pub options: Options,
}
