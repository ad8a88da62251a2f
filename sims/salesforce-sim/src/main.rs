//! `salesforce-sim`: a local Salesforce org on one port.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SeedArg {
    Empty,
    Demo,
}

/// A local Salesforce org speaking the REST API (OAuth, describes, SOQL, records,
/// collections, limits) for trying Tandem and for tests.
#[derive(Debug, Parser)]
#[command(name = "salesforce-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "SALESFORCE_SIM_LISTEN", default_value = "127.0.0.1:7001")]
    listen: SocketAddr,
    /// Serve HTTPS with a self-signed certificate.
    #[arg(long, env = "SALESFORCE_SIM_TLS")]
    tls: bool,
    /// Data every new org starts with.
    #[arg(long, env = "SALESFORCE_SIM_SEED", value_enum, default_value = "empty")]
    seed: SeedArg,
    /// Access-token lifetime: `90s`, `30m`, `2h` or plain seconds.
    #[arg(long, env = "SALESFORCE_SIM_TOKEN_TTL", default_value = "2h", value_parser = parse_duration)]
    token_ttl: Duration,
    /// Query page size without a `Sforce-Query-Options: batchSize` header.
    #[arg(long, env = "SALESFORCE_SIM_PAGE_SIZE", default_value_t = 2000)]
    page_size: usize,
    /// Keep the orgs in this JSON file: loaded at start, saved on shutdown (Ctrl-C).
    #[arg(long, env = "SALESFORCE_SIM_STATE_FILE")]
    state_file: Option<std::path::PathBuf>,
    /// Daily API allocation per org.
    #[arg(long, env = "SALESFORCE_SIM_API_LIMIT", default_value_t = 15_000)]
    api_limit: u64,
    /// Where the Pub/Sub API (gRPC, h2c) listens.
    #[arg(
        long,
        env = "SALESFORCE_SIM_PUBSUB_LISTEN",
        default_value = "127.0.0.1:7011"
    )]
    pubsub_listen: SocketAddr,
    /// Empty keepalive batch after this long without events.
    #[arg(long, env = "SALESFORCE_SIM_PUBSUB_KEEPALIVE", default_value = "270s", value_parser = parse_duration)]
    pubsub_keepalive: Duration,
    /// How long events are kept for replay.
    #[arg(long, env = "SALESFORCE_SIM_EVENT_RETENTION", default_value = "72h", value_parser = parse_duration)]
    event_retention: Duration,
    /// Event deliveries per org in a rolling 24 hours.
    #[arg(
        long,
        env = "SALESFORCE_SIM_DELIVERY_ALLOCATION",
        default_value_t = 50_000
    )]
    delivery_allocation: u64,
    /// Changes in one transaction before GAP_OVERFLOW.
    #[arg(long, env = "SALESFORCE_SIM_OVERFLOW_AFTER", default_value_t = 100_000)]
    overflow_after: usize,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("not a duration: {s}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "ms" => return Ok(Duration::from_millis(n)),
        _ => return Err(format!("unknown unit in {s} (use ms, s, m or h)")),
    };
    Ok(Duration::from_secs(secs))
}

/// Ctrl-C, or SIGTERM (e.g. `docker stop`) on Unix.
async fn shutdown_signal() {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "salesforce_sim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = salesforce_sim::Config {
        listen: args.listen,
        tls: args.tls,
        seed: match args.seed {
            SeedArg::Empty => salesforce_sim::Seed::Empty,
            SeedArg::Demo => salesforce_sim::Seed::Demo,
        },
        token_ttl: args.token_ttl,
        page_size: args.page_size.clamp(200, 2000),
        api_limit: args.api_limit,
        state_file: args.state_file,
        pubsub: salesforce_sim::pubsub::PubSubConfig {
            listen: Some(args.pubsub_listen),
            keepalive: args.pubsub_keepalive,
            retention: args.event_retention,
            delivery_allocation: args.delivery_allocation,
            overflow_after: args.overflow_after,
            ..Default::default()
        },
        ..Default::default()
    };
    let sim = salesforce_sim::bind(config).await?;
    println!("salesforce-sim listening on {}", sim.base_url());
    if let Some(token) = sim.demo_token() {
        println!("demo access token: {token}");
    }
    if let Some(addr) = sim.pubsub_addr() {
        println!("salesforce-sim pub/sub api (grpc, h2c) on {addr}");
    }
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        on_signal.cancel();
    });
    sim.serve(shutdown).await?;
    Ok(())
}
