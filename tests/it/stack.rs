//! The whole product in one test process (`tandem_stack::Embedded`) against a database of the
//! test's own, with a Deals board seeded at the monday simulator.

use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_stack::{Embedded, EmbeddedConfig};
use tandem_testkit::{TestDb, authorized, infra, user_bearer_in};
use tonic::transport::Channel;

/// The Salesforce org (My Domain subdomain) the tests connect.
pub const ORG: &str = "acme";

/// The Stage column's labels by their monday index: the gap (no 2, 3, 4) is how real boards
/// look once labels were deleted.
pub fn stage_label(index: u64) -> &'static str {
    match index {
        0 => "Prospecting",
        1 => "Closed Won",
        5 => "Closed Lost",
        other => panic!("no stage label with index {other}"),
    }
}

pub struct Stack {
    pub config: MappingConfigClient<Channel>,
    pub orchestrator: SyncOrchestratorClient<Channel>,
    pub history: RunHistoryClient<Channel>,
    pub salesforce: salesforce_sim::SimHandle,
    pub monday: monday_sim::SimHandle,
    pub monday_token: String,
    pub monday_account: i64,
    /// The monday user who edits items by hand in tests.
    pub monday_user: i64,
    /// Where connector-monday receives webhooks.
    pub webhook_url: String,
    pub board: i64,
    pub bearer: String,
    /// The test's own database (every service's schema is in it).
    pub database_url: String,
    /// What the services were started with, and where they are: more replicas join with it.
    infra: tandem_service::args::Infra,
    peers: tandem_service::args::PeerArgs,
    // Declared before the database: the services stop before it is dropped.
    _embedded: Embedded,
    _db: TestDb,
}

fn key_ring() -> mapping_config::KeyRing {
    "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        .parse()
        .expect("a valid test key")
}

/// The stack with its scheduler off: cycles run on SyncNow only.
pub async fn start_stack() -> Stack {
    start_stack_with_scheduler(0).await
}

/// The stack with the orchestrator's scheduler ticking every `tick_ms` (0: off).
pub async fn start_stack_with_scheduler(tick_ms: u64) -> Stack {
    start_stack_with(|config| config.scheduler_tick_ms = tick_ms).await
}

/// The stack with its configuration changed by `adjust` first.
pub async fn start_stack_with(adjust: impl FnOnce(&mut EmbeddedConfig)) -> Stack {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let mut config = EmbeddedConfig::new(infra(&db), key_ring(), ORG);
    adjust(&mut config);
    let infra = config.infra.clone();
    let embedded = Embedded::start(config).await.unwrap();
    let monday = embedded.monday.clone();
    let account = monday.create_account("Acme", "Ada Admin", "ada@acme.test");
    let board = monday.create_board(account.account_id, "Deals");
    for (id, title, kind, settings) in [
        (
            "status",
            "Stage",
            "status",
            serde_json::json!({"labels": {"0": "Prospecting", "1": "Closed Won", "5": "Closed Lost"}}),
        ),
        ("date4", "Expected Close", "date", serde_json::json!({})),
        ("tandem_key", "tandem_key", "text", serde_json::json!({})),
        ("sfid", "Salesforce Id", "text", serde_json::json!({})),
        ("owner", "Owner", "people", serde_json::json!({})),
    ] {
        monday.add_column(board, id, title, kind, settings).unwrap();
    }
    Stack {
        config: embedded.mapping_config(),
        orchestrator: embedded.orchestrator(),
        history: embedded.run_history(),
        salesforce: embedded.salesforce.clone(),
        monday,
        monday_token: account.token,
        monday_account: account.account_id,
        monday_user: account.user_id,
        webhook_url: embedded.webhook_url.clone(),
        board,
        bearer: user_bearer_in("acme", "ada@acme.test"),
        database_url: db.url().to_owned(),
        infra,
        peers: embedded.peers.clone(),
        _embedded: embedded,
        _db: db,
    }
}

/// Another orchestrator replica, serving beside the stack's own on the same Postgres, Redis
/// and services, on a runtime of its own: killed, every task it runs — its scheduler's runs
/// and the handlers of the calls it is answering — is dropped where it stands.
pub struct Replica {
    /// Its name in `sync.leases.holder`.
    pub holder: String,
    stop: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Replica {
    /// Gone at once, as with `kill -9`: its futures are dropped mid-step, nothing cleans up.
    pub fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// A graceful shutdown (SIGTERM), awaited.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// A client of its gRPC API.
    pub async fn client(&self) -> SyncOrchestratorClient<Channel> {
        let address = self.holder.split('@').nth(1).unwrap_or_default();
        SyncOrchestratorClient::connect(format!("http://{address}"))
            .await
            .unwrap()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Stack {
    /// Starts another orchestrator replica with `options`.
    pub async fn replica(&self, options: sync_orchestrator::Options) -> Replica {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let holder = format!(
            "{}@{}",
            sync_orchestrator::NAME,
            listener.local_addr().unwrap()
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = sync_orchestrator::Config {
            listen: ([127, 0, 0, 1], 0).into(),
            infra: self.infra.clone(),
            peers: self.peers.clone(),
            options,
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        let (ready, serving) = tokio::sync::oneshot::channel();
        let task = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let server = sync_orchestrator::bind_on(listener, config).await.unwrap();
            let _ = ready.send(());
            let _ = server.serve(token).await;
        });
        serving.await.unwrap();
        Replica {
            holder,
            stop,
            task: Some(task),
            runtime: Some(runtime),
        }
    }

    /// Connects both sides as the user and creates a two-way Deals ↔ Opportunity integration.
    pub async fn integration(&self) -> pb::Integration {
        self.integration_with(|_| {}).await
    }

    /// Like [`Stack::integration`], with the settings changed by `adjust` first.
    pub async fn integration_with(
        &self,
        adjust: impl FnOnce(&mut pb::IntegrationSpec),
    ) -> pb::Integration {
        self.create_integration(adjust, false).await
    }

    /// Like [`Stack::integration_with`], created paused (`integration create --paused`).
    pub async fn integration_paused_with(
        &self,
        adjust: impl FnOnce(&mut pb::IntegrationSpec),
    ) -> pb::Integration {
        self.create_integration(adjust, true).await
    }

    async fn create_integration(
        &self,
        adjust: impl FnOnce(&mut pb::IntegrationSpec),
        paused: bool,
    ) -> pb::Integration {
        let mut config = self.config.clone();
        let monday = config
            .create_connection(authorized(
                pb::CreateConnectionRequest {
                    kind: pb::ConnectionKind::Monday as i32,
                    monday_token: self.monday_token.clone(),
                    ..Default::default()
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
            .connection
            .unwrap();
        let salesforce = tandem_stack::connect_simulated_org(&mut config, &self.bearer, ORG)
            .await
            .unwrap();
        let mapping = |column: &str, field: &str| pb::FieldMapping {
            monday_column_id: column.into(),
            salesforce_field: field.into(),
            direction: pb::Direction::Both as i32,
            options: None,
        };
        let mut spec = pb::IntegrationSpec {
            name: "Deals ↔ Opportunities".into(),
            monday_connection_id: monday.id,
            board_id: self.board.to_string(),
            salesforce_connection_id: salesforce.id,
            salesforce_object: "Opportunity".into(),
            scope: pb::Scope::TwoWay as i32,
            mappings: vec![
                mapping("name", "Name"),
                mapping("status", "StageName"),
                mapping("date4", "CloseDate"),
            ],
            ..Default::default()
        };
        adjust(&mut spec);
        config
            .create_integration(authorized(
                pb::CreateIntegrationRequest {
                    spec: Some(spec),
                    paused,
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Where the stack's services listen.
    pub fn peers(&self) -> &tandem_service::args::PeerArgs {
        &self.peers
    }

    /// The prefix of every Redis key the stack's services write.
    pub fn redis_prefix(&self) -> &str {
        &self.infra.redis_prefix
    }

    /// Every run of `integration` in run history, newest first.
    pub async fn runs(&self, integration: &pb::Integration) -> Vec<pb::Run> {
        self.history
            .clone()
            .list_runs(authorized(
                pb::ListRunsRequest {
                    integration_id: integration.id.clone(),
                    ..Default::default()
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
            .runs
    }

    /// Runs one cycle now and returns its run.
    pub async fn sync(&self, integration: &pb::Integration) -> pb::Run {
        let run_id = self
            .orchestrator
            .clone()
            .sync_now(authorized(
                pb::SyncNowRequest {
                    integration_id: integration.id.clone(),
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
            .run_id;
        self.history
            .clone()
            .get_run(authorized(pb::GetRunRequest { run_id }, &self.bearer))
            .await
            .unwrap()
            .into_inner()
    }

    /// Imports from `source` (optionally as a dry run, optionally matching by a monday column
    /// and a Salesforce field) and returns its run.
    pub async fn import(
        &self,
        integration: &pb::Integration,
        source: pb::Side,
        dry_run: bool,
        matching: Option<(&str, &str)>,
    ) -> pb::Run {
        let (column, field) = matching.unwrap_or_default();
        let run_id = self
            .orchestrator
            .clone()
            .import(authorized(
                pb::ImportRequest {
                    integration_id: integration.id.clone(),
                    source: source as i32,
                    dry_run,
                    match_monday_column_id: column.to_owned(),
                    match_salesforce_field: field.to_owned(),
                    ..Default::default()
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
            .run_id;
        self.run(&run_id).await
    }

    /// A run by its id once it is over (read until it is no longer running).
    pub async fn finished_run(&self, run_id: &str) -> pb::Run {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let run = self.run(run_id).await;
            if run.status != pb::RunStatus::Running as i32 {
                return run;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running: {run:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A run by its id.
    pub async fn run(&self, run_id: &str) -> pb::Run {
        self.history
            .clone()
            .get_run(authorized(
                pb::GetRunRequest {
                    run_id: run_id.to_owned(),
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Changes the integration's settings as its owner would.
    pub async fn update(
        &self,
        integration: &pb::Integration,
        adjust: impl FnOnce(&mut pb::IntegrationSpec),
    ) -> pb::Integration {
        let mut spec = integration.spec.clone().unwrap();
        adjust(&mut spec);
        self.config
            .clone()
            .update_integration(authorized(
                pb::UpdateIntegrationRequest {
                    id: integration.id.clone(),
                    spec: Some(spec),
                    version: integration.version,
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// What `sync status` shows.
    pub async fn status(&self, integration: &pb::Integration) -> pb::IntegrationStatus {
        self.orchestrator
            .clone()
            .get_integration_status(authorized(
                pb::GetIntegrationStatusRequest {
                    integration_id: integration.id.clone(),
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Starts a cycle in the background (to interfere with it while it runs).
    pub fn sync_in_background(
        &self,
        integration: &pb::Integration,
    ) -> tokio::task::JoinHandle<Result<tonic::Response<pb::SyncNowResponse>, tonic::Status>> {
        let mut orchestrator = self.orchestrator.clone();
        let request = authorized(
            pb::SyncNowRequest {
                integration_id: integration.id.clone(),
            },
            &self.bearer,
        );
        tokio::spawn(async move { orchestrator.sync_now(request).await })
    }

    /// The events of a run, oldest first.
    pub async fn events(&self, run: &pb::Run) -> Vec<pb::RecordEvent> {
        let mut events = self
            .history
            .clone()
            .list_events(authorized(
                pb::ListEventsRequest {
                    run_id: run.id.clone(),
                    ..Default::default()
                },
                &self.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
            .events;
        events.reverse();
        events
    }
}

/// `SELECT count(*) FROM {table}` in the stack's database.
pub async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}
