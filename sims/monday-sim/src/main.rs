//! `monday-sim`: run a local monday.com GraphQL API.

use std::net::SocketAddr;

use clap::{Parser, ValueEnum};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy, ValueEnum)]
enum SeedArg {
    Empty,
    Demo,
}

#[derive(Parser)]
#[command(name = "monday-sim", about = "A local monday.com GraphQL API v2")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "MONDAY_SIM_LISTEN", default_value = "127.0.0.1:7002")]
    listen: SocketAddr,
    /// Data to start with.
    #[arg(long, env = "MONDAY_SIM_SEED", value_enum, default_value = "empty")]
    seed: SeedArg,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = match args.seed {
        SeedArg::Empty => monday_sim::Seed::Empty,
        SeedArg::Demo => monday_sim::Seed::Demo,
    };
    let config = monday_sim::Config {
        listen: args.listen,
        seed,
        ..Default::default()
    };
    let sim = monday_sim::bind(config).await?;
    println!("monday-sim listening on http://{}", sim.local_addr());
    if let Some(demo) = sim.demo() {
        println!("demo api token: {}", demo.token);
        println!("demo board id: {}", demo.board_id);
    }
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        stop.cancel();
    });
    sim.serve(shutdown).await?;
    Ok(())
}

/// Ctrl-C, or SIGTERM on unix (how containers are stopped).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
