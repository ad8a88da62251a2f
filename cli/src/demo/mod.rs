//! `tandem demo`: the whole product on an embedded default. Both simulators (seeded with a
//! monday "Deals" board and a Salesforce demo org) and the five services run in this process
//! against the local Postgres and Redis; the demo connects both sides, maps the board to
//! Opportunity from the suggested mapping, imports, then edits both sides and shows each
//! cycle. `--once` ends with a convergence check; without it the demo stays up for edits by
//! hand until Ctrl-C.

mod api;
mod check;
mod console;
mod infra;
mod live;
mod report;
mod scenario;
mod setup;
mod sides;

use std::time::Instant;

use anyhow::Context as _;
use tandem_stack::{Embedded, EmbeddedConfig};

/// The Salesforce org the demo connects: the simulator's default org, whose demo users share
/// their emails with the monday demo account's people.
pub const ORG: &str = "demo";

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Run the fixed scenario, check both sides converged and exit (0: converged).
    #[arg(long)]
    once: bool,
    /// Use this database as it is. Without it the demo drops and recreates its own database,
    /// `tandem_demo`, on the Postgres server of --server-url.
    #[arg(long, env = "TANDEM_DEMO_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Any database URL on the Postgres server where `tandem_demo` is created.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1/test",
        hide_env_values = true
    )]
    server_url: String,
    /// Redis; the demo's keys get a prefix of their own.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Seconds between the cycles of the live demo (after the scenario, without --once).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=600))]
    every: u64,
    /// Where the web console listens (a free port when this one is taken).
    #[arg(long, env = "TANDEM_CONSOLE_LISTEN", default_value = "127.0.0.1:8080")]
    console_listen: std::net::SocketAddr,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _logs = quiet_logs()?;
    let started = Instant::now();
    let infra = infra::prepare(
        args.database_url.as_deref(),
        &args.server_url,
        &args.redis_url,
    )
    .await?;
    let mut config = EmbeddedConfig::new(
        infra.infra.clone(),
        mapping_config::KeyRing::ephemeral(),
        ORG,
    );
    config.salesforce_sim.seed = salesforce_sim::Seed::Demo;
    config.monday_sim.seed = monday_sim::Seed::Demo;
    let embedded = Embedded::start(config)
        .await
        .context("starting the simulators and services")?;
    // The first Ctrl-C (or SIGTERM) ends the demo cleanly, a second one at once.
    let stop = tandem_service::shutdown::on_signal();
    let console = console::start(&embedded, &infra.infra, args.console_listen, &stop).await?;
    let outcome = async {
        let pool = sqlx::PgPool::connect(&infra.database_url)
            .await
            .context("connecting to the demo database")?;
        let api = api::Api::new(&embedded, &infra.infra)?;
        let sides = sides::Sides::load(&embedded).await?;
        // (The services announce their listeners as they start; the demo's output follows.)
        println!();
        report::title("Tandem demo");
        report::kv("database", &infra.described);
        report::kv(
            "Salesforce sim",
            &format!(
                "{}\n{}",
                embedded.salesforce_url,
                sides.describe_salesforce()
            ),
        );
        report::kv(
            "monday sim",
            &format!("{}\n{}", embedded.monday_api_url, sides.describe_monday()),
        );
        report::kv("console", &console.describe());
        let scripted = async {
            let integration = setup::connect_and_map(&api, &sides).await?;
            scenario::Scenario::new(&api, &sides, &integration, &pool)
                .run()
                .await?;
            let verdict =
                check::converged(&pool, &sides, &integration, &embedded.monday_api_url).await?;
            verdict.print();
            anyhow::Ok((integration, verdict))
        };
        let (integration, verdict) = tokio::select! {
            done = scripted => done?,
            _ = stop.cancelled() => anyhow::bail!("interrupted before the scenario finished"),
        };
        let result = if args.once {
            report::kv(
                "finished in",
                &format!("{:.1} s", started.elapsed().as_secs_f64()),
            );
            verdict.into_result()
        } else {
            let live = live::Live {
                api: &api,
                embedded: &embedded,
                sides: &sides,
                integration: &integration,
                pool: &pool,
                console_url: &console.url,
            };
            live.run(args.every, &stop).await
        };
        pool.close().await;
        result
    }
    .await;
    // The database stays for a look afterwards; the next run recreates it.
    console.stop().await;
    embedded.stop().await.context("stopping the stack")?;
    outcome
}

/// The services log through `tracing`; the demo shows only errors (or what RUST_LOG asks
/// for) so its own output stays readable.
fn quiet_logs() -> anyhow::Result<tandem_telemetry::Guard> {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "error".to_owned());
    tandem_telemetry::init(&tandem_telemetry::Config {
        service_name: "tandem-demo".to_owned(),
        filter,
        format: tandem_telemetry::LogFormat::Human,
        otlp_endpoint: None,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))
}
