use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tandem_service::args::{InfraArgs, PeerArgs, RemoteArgs};

/// connector-salesforce: speaks the Salesforce REST API on behalf of a connection.
#[derive(Parser)]
#[command(name = "connector-salesforce", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    peers: PeerArgs,
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(flatten)]
    options: connector_salesforce::Options,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Args = tandem_service::argv::parse();
    tandem_service::process::run(connector_salesforce::NAME, |shutdown| async move {
        let config = connector_salesforce::Config {
            listen: args.listen,
            infra: args.infra.resolve()?,
            peers: args.peers,
            remote: args.remote,
            options: args.options,
        };
        connector_salesforce::serve(config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
    .await
}
