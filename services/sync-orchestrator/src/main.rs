use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tandem_service::args::{InfraArgs, PeerArgs};

/// sync-orchestrator: scheduling, locks, coalescing, links, merge and writes. Postgres schema `sync`.
#[derive(Parser)]
#[command(name = "sync-orchestrator", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:50054")]
    listen: SocketAddr,
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    peers: PeerArgs,
    #[command(flatten)]
    options: sync_orchestrator::Options,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Args = tandem_service::argv::parse();
    tandem_service::process::run(sync_orchestrator::NAME, |shutdown| async move {
        let config = sync_orchestrator::Config {
            listen: args.listen,
            infra: args.infra.resolve()?,
            peers: args.peers,
            options: args.options,
        };
        sync_orchestrator::serve(config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
    .await
}
