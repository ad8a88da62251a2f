//! sync-orchestrator's configuration, filled by `main` from flags and environment, or built directly by
//! tests and `tandem up`.

use std::net::SocketAddr;

use tandem_service::args::{Infra, PeerArgs};

/// Flags of sync-orchestrator itself (the shared ones are in `tandem_service::args`).
#[derive(Debug, Clone, Default, clap::Args)]
#[group(id = "sync_orchestrator_options")]
pub struct Options {}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub infra: Infra,
    /// Where the other Tandem services are.
    pub peers: PeerArgs,
    pub options: Options,
}
