use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// console: the web console of Tandem, over HTTP; calls the services as the signed-in user.
#[derive(Parser)]
#[command(name = "console", version)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    args: tandem_console::Args,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = tandem_service::argv::parse();
    tandem_service::process::run(tandem_console::NAME, |shutdown| async move {
        let config = cli.args.resolve(cli.listen)?;
        tandem_console::serve(config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
    .await
}
