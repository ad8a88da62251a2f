use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tandem_service::args::{InfraArgs, PeerArgs};

/// mapping-config: connections, integrations, validation and suggested mappings. Postgres schema `config`.
#[derive(Parser)]
#[command(name = "mapping-config", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:50053")]
    listen: SocketAddr,
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    peers: PeerArgs,
    #[command(flatten)]
    options: mapping_config::Options,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Args = tandem_service::argv::parse();
    tandem_service::process::run(mapping_config::NAME, |shutdown| async move {
        let config = mapping_config::Config {
            listen: args.listen,
            infra: args.infra.resolve()?,
            peers: args.peers,
            options: args.options,
        };
        mapping_config::serve(config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
    .await
}
