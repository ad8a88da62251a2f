//! `tandem up`: the five services in one process, wired to each other.

use std::net::SocketAddr;

use tandem_service::args::{InfraArgs, PeerArgs, RemoteArgs};
use tandem_stack::{Listens, ServicesConfig};
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
    let mut infra = args.infra.resolve().map_err(anyhow::Error::msg)?;
    // The five in one process: each signs its calls with a key of its own made here.
    infra.auth = infra.auth.with_own_service_keys();
    let mut mapping_options = args.mapping_config.clone();
    if mapping_options.encryption_keys.is_none() {
        // A development stack may run without configured keys: tokens stored now are
        // unreadable after a restart (reconnect then).
        tracing::warn!(
            "TANDEM_ENCRYPTION_KEYS is not set: using an ephemeral key; stored connections will not survive a restart"
        );
        mapping_options.encryption_keys = Some(mapping_config::KeyRing::ephemeral());
    }
    let services = tandem_stack::bind_services(
        Listens {
            connector_salesforce: args.connector_salesforce_listen,
            connector_monday: args.connector_monday_listen,
            mapping_config: args.mapping_config_listen,
            sync_orchestrator: args.sync_orchestrator_listen,
            run_history: args.run_history_listen,
        },
        ServicesConfig {
            infra,
            remote: args.remote,
            salesforce: args.salesforce,
            monday: args.monday,
            mapping_config: mapping_options,
            orchestrator: args.orchestrator,
            history: args.history,
            register_webhooks_here: false,
        },
    )
    .await?;
    tandem_stack::serve_all(services.servers, shutdown).await
}

/// `tandem orchestrator`: one more sync-orchestrator replica beside services that run
/// already (a fleet on one machine; the fleet bench starts its replicas this way).
#[derive(clap::Args)]
pub struct OrchestratorArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "TANDEM_SYNC_ORCHESTRATOR_LISTEN",
        default_value = "127.0.0.1:50054"
    )]
    listen: SocketAddr,
    #[command(flatten)]
    infra: InfraArgs,
    #[command(flatten)]
    peers: PeerArgs,
    #[command(flatten)]
    orchestrator: sync_orchestrator::Options,
}

pub async fn orchestrator(
    args: OrchestratorArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let config = sync_orchestrator::Config {
        listen: args.listen,
        infra: args.infra.resolve().map_err(anyhow::Error::msg)?,
        peers: args.peers,
        options: args.orchestrator,
    };
    sync_orchestrator::serve(config, shutdown).await?;
    Ok(())
}
