//! The product in one process. [`bind_services`] binds the five services wired to each other
//! (what `tandem up` runs); [`Embedded`] adds both simulators in front of them (what
//! `tandem demo`, `tandem bench` and the end-to-end tests run). Listeners are bound before
//! any service is built, since the services call each other and port 0 must work.

use std::net::SocketAddr;

use anyhow::Context as _;
use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_service::args::{Infra, PeerArgs, RemoteArgs};
use tandem_service::server::{self, GrpcServer};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

/// Where each service listens (port 0: any free port).
#[derive(Debug, Clone, Copy)]
pub struct Listens {
    pub connector_salesforce: SocketAddr,
    pub connector_monday: SocketAddr,
    pub mapping_config: SocketAddr,
    pub sync_orchestrator: SocketAddr,
    pub run_history: SocketAddr,
}

impl Listens {
    /// Every service on a free port of 127.0.0.1.
    pub fn any() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Listens {
            connector_salesforce: any,
            connector_monday: any,
            mapping_config: any,
            sync_orchestrator: any,
            run_history: any,
        }
    }
}

/// Everything the five services are configured with.
#[derive(Clone)]
pub struct ServicesConfig {
    pub infra: Infra,
    pub remote: RemoteArgs,
    pub salesforce: connector_salesforce::Options,
    pub monday: connector_monday::Options,
    pub mapping_config: mapping_config::Options,
    pub orchestrator: sync_orchestrator::Options,
    pub history: run_history::Options,
    /// The orchestrator registers monday webhooks at connector-monday's own webhook address
    /// (a stack monday — the simulator — reaches directly); otherwise at the orchestrator's
    /// `monday_webhook_url`, if set.
    pub register_webhooks_here: bool,
}

/// The five services, bound and not yet serving.
pub struct Services {
    pub servers: Vec<GrpcServer>,
    pub peers: PeerArgs,
    /// Where connector-monday receives monday's webhooks.
    pub webhooks: SocketAddr,
}

/// Binds the five services on `listens`, each knowing the others' real addresses (over TLS
/// when `config.infra.tls` has a certificate, which must then name `localhost`).
pub async fn bind_services(listens: Listens, config: ServicesConfig) -> anyhow::Result<Services> {
    let sf = server::bind(listens.connector_salesforce).await?;
    let monday = server::bind(listens.connector_monday).await?;
    let mapping = server::bind(listens.mapping_config).await?;
    let orchestrator = server::bind(listens.sync_orchestrator).await?;
    let history = server::bind(listens.run_history).await?;
    // Over TLS the peers are called by a name the certificate holds: `localhost`.
    let tls = config.infra.tls.serves_tls();
    let url = |l: &tokio::net::TcpListener| -> anyhow::Result<String> {
        let addr = l.local_addr()?;
        Ok(if tls {
            format!("https://localhost:{}", addr.port())
        } else {
            format!("http://{addr}")
        })
    };
    let peers = PeerArgs {
        connector_salesforce_url: url(&sf)?,
        connector_monday_url: url(&monday)?,
        mapping_config_url: url(&mapping)?,
        sync_orchestrator_url: url(&orchestrator)?,
        run_history_url: url(&history)?,
    };
    // The services' own `listen` is unused once a listener is handed in.
    let unused: SocketAddr = ([127, 0, 0, 1], 0).into();
    let ServicesConfig {
        infra,
        remote,
        salesforce,
        monday: monday_options,
        mapping_config: mapping_options,
        orchestrator: orchestrator_options,
        history: history_options,
        register_webhooks_here,
    } = config;
    let mut orchestrator_options = orchestrator_options;
    let mut monday_options = monday_options;
    // The URL the orchestrator registers is the one webhook JWTs name as their audience.
    if monday_options.webhook_audience.is_none() && !register_webhooks_here {
        monday_options.webhook_audience = orchestrator_options.monday_webhook_url.clone();
    }
    let (monday_server, webhooks) = connector_monday::bind_with_webhooks(
        monday,
        connector_monday::Config {
            listen: unused,
            infra: infra.clone(),
            peers: peers.clone(),
            remote: remote.clone(),
            options: monday_options,
        },
    )
    .await
    .context("connector-monday")?;
    if register_webhooks_here {
        orchestrator_options.monday_webhook_url = Some(format!(
            "http://{webhooks}{}",
            connector_monday::WEBHOOK_PATH
        ));
    }
    let servers = vec![
        connector_salesforce::bind_on(
            sf,
            connector_salesforce::Config {
                listen: unused,
                infra: infra.clone(),
                peers: peers.clone(),
                remote,
                options: salesforce,
            },
        )
        .await
        .context("connector-salesforce")?,
        monday_server,
        mapping_config::bind_on(
            mapping,
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
                options: orchestrator_options,
            },
        )
        .await
        .context("sync-orchestrator")?,
        run_history::bind_on(
            history,
            run_history::Config {
                listen: unused,
                infra,
                options: history_options,
            },
        )
        .await
        .context("run-history")?,
    ];
    Ok(Services {
        servers,
        peers,
        webhooks,
    })
}

/// Serves every server until `shutdown`; one failing stops the others (one service down means
/// the stack is down) and its error is returned.
pub async fn serve_all(
    servers: Vec<GrpcServer>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
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

/// How to start an [`Embedded`] stack.
#[derive(Clone)]
pub struct EmbeddedConfig {
    pub infra: Infra,
    pub encryption_keys: mapping_config::KeyRing,
    /// The orchestrator's scheduler tick in milliseconds (0: cycles only on SyncNow).
    pub scheduler_tick_ms: u64,
    /// How often a cycle checks that linked monday items still exist (0: every cycle).
    pub deletion_sweep_seconds: u64,
    /// The orchestrator streams Salesforce change events from the simulator's Pub/Sub API
    /// (off: Salesforce changes are polled only).
    pub salesforce_change_events: bool,
    /// The orchestrator registers monday webhooks at the simulator itself (off: none are
    /// registered unless a test does it by hand).
    pub monday_webhooks: bool,
    /// Writes in one import from which connector-salesforce's BulkWrite is chosen.
    pub salesforce_bulk_write_threshold: u32,
    /// Records from which an import reads Salesforce through Bulk API 2.0 queries.
    pub salesforce_bulk_query_threshold: u32,
    /// The Salesforce simulator; its `default_org` is the org a bare 127.0.0.1 host reaches,
    /// which is how the connector addresses it.
    pub salesforce_sim: salesforce_sim::Config,
    pub monday_sim: monday_sim::Config,
    pub listens: Listens,
}

impl EmbeddedConfig {
    /// Both simulators and every service on free ports, simulators empty, scheduler off.
    pub fn new(infra: Infra, encryption_keys: mapping_config::KeyRing, org: &str) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        EmbeddedConfig {
            infra,
            encryption_keys,
            scheduler_tick_ms: 0,
            deletion_sweep_seconds: 3_600,
            salesforce_change_events: false,
            monday_webhooks: false,
            salesforce_bulk_write_threshold: 10_000,
            salesforce_bulk_query_threshold: 10_000,
            salesforce_sim: salesforce_sim::Config {
                default_org: org.to_owned(),
                ..Default::default()
            },
            monday_sim: monday_sim::Config {
                listen: any,
                ..Default::default()
            },
            listens: Listens::any(),
        }
    }
}

/// The OAuth client the embedded connector presents to the simulator (which accepts any).
pub const SIM_CLIENT_ID: &str = "tandem-embedded";

/// Both simulators and the five services, serving in the current runtime until
/// [`Embedded::stop`] or drop.
pub struct Embedded {
    pub salesforce: salesforce_sim::SimHandle,
    /// The Salesforce simulator's base URL (`http://127.0.0.1:PORT`).
    pub salesforce_url: String,
    pub monday: monday_sim::SimHandle,
    /// The monday simulator's GraphQL endpoint.
    pub monday_api_url: String,
    pub peers: PeerArgs,
    /// Where connector-monday receives webhooks (register this URL at the monday simulator).
    pub webhook_url: String,
    stop: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Embedded {
    pub async fn start(config: EmbeddedConfig) -> anyhow::Result<Embedded> {
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let sf_sim = salesforce_sim::bind(config.salesforce_sim)
            .await
            .context("salesforce-sim")?;
        let salesforce_url = sf_sim.base_url();
        let salesforce = sf_sim.handle();
        let pubsub_url = salesforce
            .pubsub_addr()
            .map(|a| format!("http://{a}"))
            .unwrap_or_else(|| connector_salesforce::DEFAULT_PUBSUB_URL.to_owned());
        let token = stop.clone();
        tasks.spawn(async move { sf_sim.serve(token).await.context("salesforce-sim") });
        let monday_sim = monday_sim::bind(config.monday_sim)
            .await
            .context("monday-sim")?;
        let monday = monday_sim.handle();
        let token = stop.clone();
        tasks.spawn(async move { monday_sim.serve(token).await.context("monday-sim") });
        let monday_api_url = monday.api_url();
        let services = bind_services(
            config.listens,
            ServicesConfig {
                infra: config.infra,
                remote: RemoteArgs {
                    salesforce_instance_url: Some(salesforce_url.clone()),
                    salesforce_login_url: Some(salesforce_url.clone()),
                    monday_api_url: monday_api_url.clone(),
                },
                salesforce: connector_salesforce::Options {
                    client_id: Some(SIM_CLIENT_ID.to_owned()),
                    client_secret: Some("embedded-simulator-secret".to_owned().into()),
                    retry_base_ms: 5,
                    pubsub_url,
                    bulk: connector_salesforce::BulkOptions {
                        write_threshold: config.salesforce_bulk_write_threshold,
                        query_threshold: config.salesforce_bulk_query_threshold,
                        ..Default::default()
                    },
                    ..Default::default()
                },
                monday: connector_monday::Options {
                    signing_secret: connector_monday::SigningSecret::new(
                        monday.webhook_signing_secret(),
                    ),
                    ..Default::default()
                },
                mapping_config: mapping_config::Options {
                    encryption_keys: Some(config.encryption_keys),
                },
                orchestrator: sync_orchestrator::Options {
                    scheduler_tick_ms: config.scheduler_tick_ms,
                    deletion_sweep_seconds: config.deletion_sweep_seconds,
                    salesforce_change_events: config.salesforce_change_events,
                    ..Default::default()
                },
                history: Default::default(),
                register_webhooks_here: config.monday_webhooks,
            },
        )
        .await?;
        let token = stop.clone();
        tasks.spawn(serve_all(services.servers, token));
        Ok(Embedded {
            salesforce,
            salesforce_url,
            monday,
            monday_api_url,
            webhook_url: format!("http://{}/webhooks/monday", services.webhooks),
            peers: services.peers,
            stop,
            tasks,
        })
    }

    /// A lazily connecting channel to a service of this stack.
    fn channel(url: &str) -> Channel {
        Endpoint::from_shared(url.to_owned())
            .expect("a bound address is a valid url")
            .connect_lazy()
    }

    /// Clients without credentials: callers add `authorization` metadata themselves.
    pub fn mapping_config(&self) -> MappingConfigClient<Channel> {
        MappingConfigClient::new(Self::channel(&self.peers.mapping_config_url))
    }

    pub fn orchestrator(&self) -> SyncOrchestratorClient<Channel> {
        SyncOrchestratorClient::new(Self::channel(&self.peers.sync_orchestrator_url))
    }

    pub fn run_history(&self) -> RunHistoryClient<Channel> {
        RunHistoryClient::new(Self::channel(&self.peers.run_history_url))
    }

    /// Stops everything and waits for it; the first error any part stopped with.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        let mut failure = None;
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    failure.get_or_insert_with(|| anyhow::anyhow!("a stack task failed: {e}"));
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// A token that stops the stack when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Where the simulator's OAuth flow sends the browser back (nothing listens there: the code
/// and state are read off the redirect).
pub const SIM_REDIRECT: &str = "https://tandem.example/oauth/callback";

/// `message` with `bearer` (e.g. `Bearer <jwt>`) as its `authorization` metadata; a bearer
/// that is not valid metadata is left off, so the service refuses the call as unauthenticated.
pub fn authorized<T>(message: T, bearer: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = bearer.parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// Connects the simulated org through the real OAuth web-server flow, as the user whose
/// `authorization` metadata value is `bearer`: CreateConnection, the simulator's authorize
/// page (which approves at once and redirects with `code` and `state`), then
/// CompleteSalesforceConnection.
pub async fn connect_simulated_org(
    config: &mut MappingConfigClient<Channel>,
    bearer: &str,
    org: &str,
) -> anyhow::Result<pb::Connection> {
    let authorized = |request: &mut tonic::metadata::MetadataMap| -> anyhow::Result<()> {
        request.insert(
            "authorization",
            bearer.parse().context("a bearer is ASCII")?,
        );
        Ok(())
    };
    let mut start = tonic::Request::new(pb::CreateConnectionRequest {
        kind: pb::ConnectionKind::Salesforce as i32,
        subdomain: org.to_owned(),
        environment: pb::SalesforceEnvironment::Production as i32,
        redirect_uri: SIM_REDIRECT.to_owned(),
        ..Default::default()
    });
    authorized(start.metadata_mut())?;
    let started = config
        .create_connection(start)
        .await
        .context("starting the Salesforce OAuth flow")?
        .into_inner();
    let (code, state) = approve(&started.authorize_url, org).await?;
    let mut complete = tonic::Request::new(pb::CompleteSalesforceConnectionRequest { state, code });
    authorized(complete.metadata_mut())?;
    Ok(config
        .complete_salesforce_connection(complete)
        .await
        .context("completing the Salesforce OAuth flow")?
        .into_inner())
}

/// Follows an authorize URL at the simulator as the admin of `org` (a user logging in to that
/// org at the login page; the simulator's `X-Tandem-Sim-Org` says which): the callback's
/// `code` and `state`.
async fn approve(url: &str, org: &str) -> anyhow::Result<(String, String)> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("an HTTP client")?;
    let answer = http
        .get(url)
        .header("x-tandem-sim-org", org)
        .send()
        .await
        .context("the Salesforce simulator's authorize page")?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .with_context(|| {
            format!(
                "the authorize page answered {} without a redirect",
                answer.status()
            )
        })?;
    let callback = reqwest::Url::parse(location).context("the OAuth callback URL")?;
    let mut code = None;
    let mut state = None;
    for (key, value) in callback.query_pairs() {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            _ => {}
        }
    }
    code.zip(state)
        .context("the OAuth callback carried no code and state")
}
