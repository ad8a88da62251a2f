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
    /// Where the web console listens (browsers reach it at --public-url).
    #[arg(long, env = "TANDEM_CONSOLE_LISTEN", default_value = "127.0.0.1:8080")]
    console_listen: SocketAddr,
    #[command(flatten)]
    console: tandem_console::Options,
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
    let console_auth = infra.auth.clone();
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
    let services_tls = infra.tls.clone();
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
    // The console calls the services as its signed-in users, at the addresses they bound.
    let console = tandem_console::bind(tandem_console::Config {
        listen: args.console_listen,
        auth: console_auth,
        tls: services_tls,
        https: args.infra.tls.https_server().map_err(anyhow::Error::msg)?,
        oidc_issuer: args.infra.auth.oidc_issuer.clone(),
        oidc_audience: args.infra.auth.oidc_audience.clone(),
        oidc_ca: args
            .infra
            .auth
            .oidc_ca_pem()
            .map_err(|e| anyhow::anyhow!(e))?,
        sessions: match args.console.sessions.as_str() {
            "memory" => tandem_console::SessionBackend::Memory,
            _ => tandem_console::SessionBackend::Redis {
                url: args.infra.redis_url.clone(),
                prefix: args.infra.redis_prefix.clone(),
            },
        },
        peers: tandem_console::Peers {
            mapping_config_url: services.peers.mapping_config_url.clone(),
            sync_orchestrator_url: services.peers.sync_orchestrator_url.clone(),
            run_history_url: services.peers.run_history_url.clone(),
        },
        options: args.console,
    })
    .await
    .map_err(|e| anyhow::anyhow!("console: {e}"))?;
    let console = {
        let shutdown = shutdown.clone();
        async move {
            let served = console.serve(shutdown.clone()).await;
            // One part down means the stack is down.
            shutdown.cancel();
            served.map_err(|e| anyhow::anyhow!("console: {e}"))
        }
    };
    let (services, console) = tokio::join!(
        tandem_stack::serve_all(services.servers, shutdown.clone()),
        console
    );
    services.and(console)
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
