//! `tandem up`: the five services in one process, wired to each other.

use std::net::SocketAddr;

use anyhow::Context as _;
use tandem_service::args::{InfraArgs, PeerArgs, RemoteArgs};
use tandem_service::server::{self, GrpcServer};
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct UpArgs {
    #[arg(
        long,
        env = "TANDEM_CONNECTOR_SALESFORCE_LISTEN",
        default_value = "127.0.0.1:50051"
    )]
    connector_salesforce_listen: SocketAddr,
    #[arg(
        long,
        env = "TANDEM_CONNECTOR_MONDAY_LISTEN",
        default_value = "127.0.0.1:50052"
    )]
    connector_monday_listen: SocketAddr,
    #[arg(
        long,
        env = "TANDEM_MAPPING_CONFIG_LISTEN",
        default_value = "127.0.0.1:50053"
    )]
    mapping_config_listen: SocketAddr,
    #[arg(
        long,
        env = "TANDEM_SYNC_ORCHESTRATOR_LISTEN",
        default_value = "127.0.0.1:50054"
    )]
    sync_orchestrator_listen: SocketAddr,
    #[arg(
        long,
        env = "TANDEM_RUN_HISTORY_LISTEN",
        default_value = "127.0.0.1:50055"
    )]
    run_history_listen: SocketAddr,
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(flatten)]
    salesforce: connector_salesforce::Options,
    #[command(flatten)]
    monday: connector_monday::Options,
    #[command(flatten)]
    orchestrator: sync_orchestrator::Options,
    #[command(flatten)]
    history: run_history::Options,
    #[command(flatten)]
    mapping_config: mapping_config::Options,
}

pub async fn run(args: UpArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let infra = args.infra.resolve().map_err(anyhow::Error::msg)?;
    // Bind every listener first, so that peers know each other's real ports (port 0 works).
    let sf = server::bind(args.connector_salesforce_listen).await?;
    let monday = server::bind(args.connector_monday_listen).await?;
    let config = server::bind(args.mapping_config_listen).await?;
    let orchestrator = server::bind(args.sync_orchestrator_listen).await?;
    let history = server::bind(args.run_history_listen).await?;
    let url = |l: &tokio::net::TcpListener| -> anyhow::Result<String> {
        Ok(format!("http://{}", l.local_addr()?))
    };
    let peers = PeerArgs {
        connector_salesforce_url: url(&sf)?,
        connector_monday_url: url(&monday)?,
        mapping_config_url: url(&config)?,
        sync_orchestrator_url: url(&orchestrator)?,
        run_history_url: url(&history)?,
    };
    let unused: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut mapping_options = args.mapping_config.clone();
    if mapping_options.encryption_keys.is_none() {
        // A development stack may run without configured keys: tokens stored now are
        // unreadable after a restart (reconnect then).
        tracing::warn!(
            "TANDEM_ENCRYPTION_KEYS is not set: using an ephemeral key; stored connections will not survive a restart"
        );
        mapping_options.encryption_keys = Some(mapping_config::KeyRing::ephemeral());
    }
    let servers: Vec<GrpcServer> = vec![
        connector_salesforce::bind_on(
            sf,
            connector_salesforce::Config {
                listen: unused,
                infra: infra.clone(),
                peers: peers.clone(),
                remote: args.remote.clone(),
                options: args.salesforce,
            },
        )
        .await
        .context("connector-salesforce")?,
        connector_monday::bind_on(
            monday,
            connector_monday::Config {
                listen: unused,
                infra: infra.clone(),
                peers: peers.clone(),
                remote: args.remote.clone(),
                options: args.monday,
            },
        )
        .await
        .context("connector-monday")?,
        mapping_config::bind_on(
            config,
            mapping_config::Config {
                listen: unused,
                infra: infra.clone(),
                peers: peers.clone(),
                options: mapping_options,
            },
        )
        .await
        .context("mapping-config")?,
        sync_orchestrator::bind_on(
            orchestrator,
            sync_orchestrator::Config {
                listen: unused,
                infra: infra.clone(),
                peers: peers.clone(),
                options: args.orchestrator,
            },
        )
        .await
        .context("sync-orchestrator")?,
        run_history::bind_on(
            history,
            run_history::Config {
                listen: unused,
                infra,
                options: args.history,
            },
        )
        .await
        .context("run-history")?,
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for server in servers {
        let name = server.name;
        let shutdown = shutdown.clone();
        tasks.spawn(async move { (name, server.serve(shutdown).await) });
    }
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(()))) => {}
            Ok((name, Err(e))) => {
                // One service down means the stack is down: stop the others.
                shutdown.cancel();
                failure.get_or_insert_with(|| anyhow::anyhow!("{name}: {e}"));
            }
            Err(e) => {
                shutdown.cancel();
                failure.get_or_insert_with(|| anyhow::anyhow!("a service task failed: {e}"));
            }
        }
    }
    failure.map_or(Ok(()), Err)
}
