//! The connector started on port 0 against monday-sim in-process, with stand-ins for the two
//! peers it calls: mapping-config (only `GetCredentials`) and the orchestrator (only
//! `SubmitChanges`, recording what it got). The lead swaps in the real services later.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connector_monday::{Config, Options, SigningSecret};
use monday_sim::{AccountInfo, SimHandle};
use serde_json::json;
use tandem_proto::v1::mapping_config_server::{MappingConfig, MappingConfigServer};
use tandem_proto::v1::monday_connector_client::MondayConnectorClient;
use tandem_proto::v1::sync_orchestrator_server::{SyncOrchestrator, SyncOrchestratorServer};
use tandem_proto::v1::{
    ConnectionKind, Credentials, GetCredentialsRequest, Integration, IntegrationSpec,
    ListIntegrationsRequest, ListIntegrationsResponse, SubmitChangesRequest, SubmitChangesResponse,
};
use tandem_service::args::{Infra, PeerArgs, RemoteArgs};
use tandem_service::server::{Authenticate, GrpcServer};
use tandem_testkit::{Running, any_port, authorized, service_bearer, start};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

pub const CONNECTION: &str = "conn-monday-1";

/// Stand-in for mapping-config: hands out the token the sim issued, per connection, and lists
/// one active integration on each watched board (on [`CONNECTION`]).
#[derive(Clone, Default)]
pub struct StandInMappingConfig {
    pub tokens: Arc<Mutex<HashMap<String, String>>>,
    pub calls: Arc<AtomicUsize>,
    pub watched_boards: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl MappingConfig for StandInMappingConfig {
    async fn list_integrations(
        &self,
        request: Request<ListIntegrationsRequest>,
    ) -> Result<Response<ListIntegrationsResponse>, Status> {
        let board = request.into_inner().board_id;
        let integrations = self
            .watched_boards
            .lock()
            .unwrap()
            .iter()
            .filter(|b| **b == board)
            .map(|b| Integration {
                id: format!("integration-on-{b}"),
                spec: Some(IntegrationSpec {
                    monday_connection_id: CONNECTION.into(),
                    board_id: b.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        Ok(Response::new(ListIntegrationsResponse {
            integrations,
            page: None,
        }))
    }

    async fn get_credentials(
        &self,
        request: Request<GetCredentialsRequest>,
    ) -> Result<Response<Credentials>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let id = request.into_inner().connection_id;
        let token = self.tokens.lock().unwrap().get(&id).cloned();
        match token {
            Some(access_token) => Ok(Response::new(Credentials {
                connection_id: id,
                kind: ConnectionKind::Monday as i32,
                access_token,
                ..Default::default()
            })),
            None => Err(Status::not_found(format!("connection {id} not found"))),
        }
    }
}

/// Stand-in for the sync orchestrator: records every SubmitChanges.
#[derive(Clone, Default)]
pub struct StandInOrchestrator {
    pub submitted: Arc<Mutex<Vec<SubmitChangesRequest>>>,
    /// When set, SubmitChanges answers UNAVAILABLE.
    pub down: Arc<std::sync::atomic::AtomicBool>,
}

#[tonic::async_trait]
impl SyncOrchestrator for StandInOrchestrator {
    async fn submit_changes(
        &self,
        request: Request<SubmitChangesRequest>,
    ) -> Result<Response<SubmitChangesResponse>, Status> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Status::unavailable("stand-in orchestrator is down"));
        }
        self.submitted.lock().unwrap().push(request.into_inner());
        Ok(Response::new(SubmitChangesResponse { integrations: 1 }))
    }
}

async fn stand_in(routes: tonic::service::Routes) -> Running {
    let listener = tokio::net::TcpListener::bind(any_port()).await.unwrap();
    start(GrpcServer {
        name: "stand-in",
        tls: None,
        listener,
        routes,
        health_names: vec![],
        background: vec![],
    })
}

pub struct Harness {
    pub sim: SimHandle,
    pub account: AccountInfo,
    pub board: i64,
    pub client: MondayConnectorClient<Channel>,
    pub webhooks: SocketAddr,
    pub credentials: StandInMappingConfig,
    pub orchestrator: StandInOrchestrator,
    pub signing_secret: String,
    pub redis_prefix: String,
    stop: CancellationToken,
    _running: Vec<Running>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn start_harness() -> Harness {
    start_with(monday_sim::Config::default(), Options::default()).await
}

pub async fn start_with(sim_config: monday_sim::Config, mut options: Options) -> Harness {
    tandem_testkit::install_crypto();
    let sim = monday_sim::bind(monday_sim::Config {
        listen: any_port(),
        ..sim_config
    })
    .await
    .unwrap();
    let handle = sim.handle();
    let stop = CancellationToken::new();
    tokio::spawn(sim.serve(stop.clone()));
    let account = handle.create_account("Acme", "Ann Admin", "ann@acme.test");
    handle.add_user(account.account_id, "Bob", "bob@acme.test");
    let board = tandem_board(&handle, account.account_id);

    let credentials = StandInMappingConfig::default();
    credentials
        .tokens
        .lock()
        .unwrap()
        .insert(CONNECTION.into(), account.token.clone());
    credentials
        .watched_boards
        .lock()
        .unwrap()
        .push(board.to_string());
    let auth = tandem_testkit::auth();
    let mc = stand_in(tonic::service::Routes::new(
        Authenticate::new(auth.verifier.clone())
            .wrap(MappingConfigServer::new(credentials.clone())),
    ))
    .await;
    let orchestrator = StandInOrchestrator::default();
    let orch = stand_in(tonic::service::Routes::new(
        Authenticate::new(auth.verifier.clone())
            .wrap(SyncOrchestratorServer::new(orchestrator.clone())),
    ))
    .await;

    let signing_secret = handle.webhook_signing_secret();
    options.signing_secret = SigningSecret::new(signing_secret.clone());
    let closed = "http://127.0.0.1:9".to_owned();
    let redis_prefix = format!("tandem-test-{}", uuid_like());
    let config = Config {
        listen: any_port(),
        infra: Infra {
            database_url: "postgres://unused@127.0.0.1:9/unused".into(),
            redis_url: tandem_testkit::redis_url(),
            redis_prefix: redis_prefix.clone(),
            auth,
            tls: Default::default(),
        },
        peers: PeerArgs {
            connector_salesforce_url: closed.clone(),
            connector_monday_url: closed.clone(),
            mapping_config_url: mc.url(),
            sync_orchestrator_url: orch.url(),
            run_history_url: closed,
        },
        remote: RemoteArgs {
            salesforce_instance_url: None,
            salesforce_login_url: None,
            monday_api_url: handle.api_url(),
        },
        options,
    };
    let listener = tokio::net::TcpListener::bind(any_port()).await.unwrap();
    let (server, webhooks) = connector_monday::bind_with_webhooks(listener, config)
        .await
        .unwrap();
    let running = start(server);
    let client = MondayConnectorClient::new(running.channel().await)
        .max_decoding_message_size(64 * 1024 * 1024);
    Harness {
        sim: handle,
        account,
        board,
        client,
        webhooks,
        credentials,
        orchestrator,
        signing_secret,
        redis_prefix,
        stop,
        _running: vec![running, mc, orch],
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A board with the columns Tandem syncs, a read-only mirror and the idempotency column.
pub fn tandem_board(sim: &SimHandle, account_id: i64) -> i64 {
    let board = sim.create_board(account_id, "Deals");
    let cols = [
        (
            "status",
            "Status",
            "status",
            json!({"labels": {"0": "Working on it", "1": "Done", "2": "Stuck"}}),
        ),
        ("text", "Notes", "text", json!({})),
        ("numbers", "Amount", "numbers", json!({})),
        (
            "dropdown",
            "Industry",
            "dropdown",
            json!({"labels": [{"id": 1, "name": "Technology"}, {"id": 2, "name": "Marketing"}]}),
        ),
        ("email", "Email", "email", json!({})),
        ("mirror", "Account owner", "mirror", json!({})),
        ("tandem_key", "Tandem key", "text", json!({})),
    ];
    for (id, title, kind, settings) in cols {
        sim.add_column(board, id, title, kind, settings).unwrap();
    }
    board
}

/// A request as a Tandem service makes it.
pub fn svc<T>(message: T) -> Request<T> {
    authorized(message, &service_bearer("sync-orchestrator"))
}

/// Poll `check` until it holds or `within` passes.
pub async fn eventually<F: FnMut() -> bool>(within: Duration, mut check: F) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// GraphQL requests the sim served whose text contains `needle`.
pub fn served(sim: &SimHandle, needle: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.query.contains(needle))
        .count()
}
