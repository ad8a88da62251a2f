use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tandem_service::args::{InfraArgs, PeerArgs, RemoteArgs};

/// connector-monday: speaks the monday.com GraphQL API v2 and receives its webhooks.
#[derive(Parser)]
#[command(name = "connector-monday", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:50052")]
    listen: SocketAddr,
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    peers: PeerArgs,
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(flatten)]
    options: connector_monday::Options,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Args = tandem_service::argv::parse();
    tandem_service::process::run(connector_monday::NAME, |shutdown| async move {
        let config = connector_monday::Config {
            listen: args.listen,
            infra: args.infra.resolve()?,
            peers: args.peers,
            remote: args.remote,
            options: args.options,
        };
        connector_monday::serve(config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
    .await
}
