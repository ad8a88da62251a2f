use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tandem_service::args::InfraArgs;

/// run-history: every run and every record's outcome, queryable, with retention. Postgres schema `history`.
#[derive(Parser)]
#[command(name = "run-history", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:50055")]
    listen: SocketAddr,
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    options: run_history::Options,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Args = tandem_service::argv::parse();
    tandem_service::process::run(run_history::NAME, |shutdown| async move {
        let config = run_history::Config {
            listen: args.listen,
            infra: args.infra.resolve()?,
            options: args.options,
        };
        run_history::serve(config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
    .await
}
