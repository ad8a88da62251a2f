//! One stack for one scenario: a database of its own on the server of `DATABASE_URL` (dropped
//! afterwards), a unique Redis prefix, both simulators sized for benchmarking, a Deals board,
//! both connections made the way a user makes them, and one Deals ↔ Opportunity integration.

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::json;
use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::sync_orchestrator_client::SyncOrchestratorClient;
use tandem_service::service_key::KeySet;
use tandem_service::{Auth, Identity, TokenSigner, names};
use tandem_stack::{Embedded, EmbeddedConfig};
use tonic::transport::Channel;

/// The Salesforce org (My Domain) the bench connects.
pub const ORG: &str = "bench";
/// The bench's account and user at Tandem.
const ACCOUNT: &str = "bench";
const USER: &str = "bench@tandem.test";

use super::apart::{Apart, Parts, apart};
pub use super::db::BenchDb;

/// Where the bench runs: the Postgres server (whose `postgres`-style URL names any database)
/// and Redis.
#[derive(Clone, Debug)]
pub struct Infra {
    pub database_url: String,
    pub redis_url: String,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(apart) = self.apart.as_mut() {
            apart.stop();
        }
    }
}

/// How a scenario wants its stack.
#[derive(Clone, Copy)]
pub struct StackOptions {
    /// The orchestrator's scheduler tick (0: cycles only on SyncNow).
    pub scheduler_tick_ms: u64,
    /// Items the monday board may hold.
    pub max_items_per_board: usize,
    /// Run the five services in a `tandem up` child process (the simulators stay in this
    /// one), so that their memory and CPU can be told apart from the simulators'.
    pub services_apart: bool,
    /// The orchestrator streams Salesforce change events.
    pub change_events: bool,
    /// The orchestrator registers monday webhooks itself (embedded stack only).
    pub monday_webhooks: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            scheduler_tick_ms: 0,
            max_items_per_board: 250_000,
            services_apart: false,
            change_events: false,
            monday_webhooks: false,
        }
    }
}

pub struct Stack {
    pub salesforce: salesforce_sim::SimHandle,
    pub monday: monday_sim::SimHandle,
    pub monday_token: String,
    pub monday_account: i64,
    pub monday_user: i64,
    pub webhook_url: String,
    pub board: i64,
    pub config: MappingConfigClient<Channel>,
    pub orchestrator: SyncOrchestratorClient<Channel>,
    pub history: RunHistoryClient<Channel>,
    bearer: String,
    /// What more processes of this stack start with (the fleet scenario's replicas).
    pub(super) infra: tandem_service::args::Infra,
    pub(super) secret: String,
    /// Mints the bench's user tokens (development mode).
    pub(super) signer: TokenSigner,
    /// The services' keys: a process the bench starts beside the stack signs with one.
    pub(super) service_keys: KeySet,
    pub(super) peers: tandem_service::args::PeerArgs,
    embedded: Option<Embedded>,
    apart: Option<Apart>,
    db: Option<BenchDb>,
}

/// The simulators' limits the bench runs with. monday's per-minute complexity budget (10M,
/// about 1,000 item writes a minute) is raised so that scenarios finish in minutes: the
/// per-request ceiling (5M complexity, at most ~500 mutations per request), which decides how
/// many requests a batch takes, is left as monday has it. Salesforce's daily allocation is
/// raised for the same reason; the calls are counted either way.
pub(super) fn sim_configs(
    org: &str,
    options: StackOptions,
) -> (salesforce_sim::Config, monday_sim::Config) {
    let salesforce = salesforce_sim::Config {
        default_org: org.to_owned(),
        api_limit: 100_000_000,
        ..Default::default()
    };
    let monday = monday_sim::Config {
        listen: ([127, 0, 0, 1], 0).into(),
        complexity_budget_per_minute: 100_000_000_000,
        requests_per_minute: 1_000_000,
        max_items_per_board: options.max_items_per_board,
        ..Default::default()
    };
    (salesforce, monday)
}

/// A fixed key: the bench's database is dropped at the end, nothing outlives it.
fn key_ring() -> anyhow::Result<mapping_config::KeyRing> {
    super::apart::KEY_RING
        .parse()
        .map_err(|e| anyhow::anyhow!("bench key ring: {e}"))
}

impl Stack {
    pub async fn start(infra: &Infra, options: StackOptions) -> anyhow::Result<Self> {
        let db = BenchDb::create(&infra.database_url).await?;
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let signer = TokenSigner::new(secret.clone().into())
            .map_err(|e| anyhow::anyhow!("bench signer: {e}"))?;
        let bearer = format!(
            "Bearer {}",
            signer.mint(
                &Identity::User {
                    account: ACCOUNT.to_owned(),
                    email: USER.to_owned(),
                },
                Duration::from_secs(24 * 3600),
            )
        );
        // Development mode: the bench's users by the secret, each service by a key made here
        // (handed to the processes a bench starts apart).
        let service_keys = KeySet::generate(&names::ALL);
        let signer_for_users = signer.clone();
        let service_infra = tandem_service::args::Infra {
            database_url: db.url().to_owned(),
            redis_url: infra.redis_url.clone(),
            redis_prefix: format!("tandem-bench-{}", uuid::Uuid::new_v4().simple()),
            auth: Auth::development(signer.clone(), &service_keys),
            tls: Default::default(),
        };
        let kept_infra = service_infra.clone();
        let kept_signer = signer_for_users;
        let kept_secret = secret.clone();
        let parts = if options.services_apart {
            apart(service_infra, secret, &service_keys, options).await?
        } else {
            let mut config = EmbeddedConfig::new(service_infra, key_ring()?, ORG);
            config.scheduler_tick_ms = options.scheduler_tick_ms;
            config.salesforce_change_events = options.change_events;
            config.monday_webhooks = options.monday_webhooks;
            let (sf, mo) = sim_configs(ORG, options);
            config.salesforce_sim = sf;
            config.monday_sim = mo;
            let embedded = Embedded::start(config).await?;
            Parts {
                salesforce: embedded.salesforce.clone(),
                monday: embedded.monday.clone(),
                webhook_url: embedded.webhook_url.clone(),
                peers: embedded.peers.clone(),
                embedded: Some(embedded),
                apart: None,
            }
        };
        let monday = parts.monday.clone();
        let account = monday.create_account("Bench", "Ada Admin", "ada@bench.test");
        let board = monday.create_board(account.account_id, "Deals");
        for (id, title, kind, settings) in [
            (
                "status",
                "Stage",
                "status",
                json!({"labels": {"0": "Prospecting", "1": "Closed Won", "5": "Closed Lost"}}),
            ),
            ("date4", "Expected Close", "date", json!({})),
            ("tandem_key", "tandem_key", "text", json!({})),
            ("sfid", "Salesforce Id", "text", json!({})),
        ] {
            monday
                .add_column(board, id, title, kind, settings)
                .map_err(|e| anyhow::anyhow!("monday board column {id}: {e}"))?;
        }
        parts.salesforce.ensure_org(ORG);
        Ok(Stack {
            salesforce: parts.salesforce,
            monday,
            monday_token: account.token,
            monday_account: account.account_id,
            monday_user: account.user_id,
            webhook_url: parts.webhook_url,
            board,
            config: MappingConfigClient::new(lazy_channel(&parts.peers.mapping_config_url)?),
            orchestrator: SyncOrchestratorClient::new(lazy_channel(
                &parts.peers.sync_orchestrator_url,
            )?),
            history: RunHistoryClient::new(lazy_channel(&parts.peers.run_history_url)?),
            bearer,
            infra: kept_infra,
            secret: kept_secret,
            signer: kept_signer,
            service_keys,
            peers: parts.peers.clone(),
            embedded: parts.embedded,
            apart: parts.apart,
            db: Some(db),
        })
    }

    /// The stack's own database.
    pub fn database_url(&self) -> &str {
        self.db.as_ref().map_or("", |d| d.url())
    }

    /// The process the services run in when they run apart.
    pub fn services_pid(&self) -> Option<u32> {
        self.apart.as_ref().map(|a| a.child.id())
    }

    /// Kills the services' process (SIGKILL, as a crashed node) and starts it again; the
    /// clients follow it to its new ports. Only for a stack whose services run apart.
    pub async fn restart_services(&mut self) -> anyhow::Result<()> {
        let apart = self
            .apart
            .as_mut()
            .context("only services running apart can be restarted")?;
        let peers = apart.restart().await?;
        self.config = MappingConfigClient::new(lazy_channel(&peers.mapping_config_url)?);
        self.orchestrator =
            SyncOrchestratorClient::new(lazy_channel(&peers.sync_orchestrator_url)?);
        self.history = RunHistoryClient::new(lazy_channel(&peers.run_history_url)?);
        self.peers = peers;
        Ok(())
    }

    /// Stops the services and simulators, then drops the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(embedded) = self.embedded.take() {
            embedded.stop().await?;
        }
        if let Some(mut apart) = self.apart.take() {
            apart.stop();
        }
        if let Some(db) = self.db.take() {
            db.drop_now().await?;
        }
        Ok(())
    }

    /// `message` with the bench user's credentials.
    pub fn authorized<T>(&self, message: T) -> tonic::Request<T> {
        tandem_stack::authorized(message, &self.bearer)
    }

    /// Connects both sides and creates a two-way Deals ↔ Opportunity integration (Name,
    /// StageName, CloseDate), linked by the Salesforce Id kept in the `sfid` column, with the
    /// settings changed by `adjust`.
    pub async fn integration(
        &self,
        adjust: impl FnOnce(&mut pb::IntegrationSpec),
    ) -> anyhow::Result<pb::Integration> {
        let mut config = self.config.clone();
        let monday = config
            .create_connection(self.authorized(pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Monday as i32,
                monday_token: self.monday_token.clone(),
                ..Default::default()
            }))
            .await
            .context("connecting monday")?
            .into_inner()
            .connection
            .context("no monday connection returned")?;
        let salesforce = tandem_stack::connect_simulated_org(&mut config, &self.bearer, ORG)
            .await
            .context("connecting Salesforce")?;
        let mapping = |column: &str, field: &str| pb::FieldMapping {
            monday_column_id: column.into(),
            salesforce_field: field.into(),
            direction: pb::Direction::Both as i32,
            options: None,
        };
        let mut spec = pb::IntegrationSpec {
            name: "Bench deals".into(),
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
            link_monday_column_id: "sfid".into(),
            link_salesforce_field: "Id".into(),
            ..Default::default()
        };
        adjust(&mut spec);
        Ok(config
            .create_integration(self.authorized(pb::CreateIntegrationRequest {
                spec: Some(spec),
                paused: false,
            }))
            .await
            .context("creating the integration")?
            .into_inner())
    }

    /// One cycle now; the finished run.
    pub async fn sync(&self, integration: &pb::Integration) -> anyhow::Result<pb::Run> {
        let run_id = self
            .orchestrator
            .clone()
            .sync_now(self.authorized(pb::SyncNowRequest {
                integration_id: integration.id.clone(),
            }))
            .await
            .context("SyncNow")?
            .into_inner()
            .run_id;
        self.run(run_id).await
    }

    /// An import from `source`; the finished run.
    pub async fn import(
        &self,
        integration: &pb::Integration,
        source: pb::Side,
    ) -> anyhow::Result<pb::Run> {
        let run_id = self
            .orchestrator
            .clone()
            .import(self.authorized(pb::ImportRequest {
                integration_id: integration.id.clone(),
                source: source as i32,
                // Answered once the run is open: a long import outlives any one call.
                detach: true,
                ..Default::default()
            }))
            .await
            .context("Import")?
            .into_inner()
            .run_id;
        self.run(run_id).await
    }

    /// The run once it is over: read from run history until it is no longer running.
    async fn run(&self, run_id: String) -> anyhow::Result<pb::Run> {
        let mut wait = Duration::from_millis(20);
        let run = loop {
            let run = self
                .history
                .clone()
                .get_run(self.authorized(pb::GetRunRequest {
                    run_id: run_id.clone(),
                }))
                .await
                .context("GetRun")?
                .into_inner();
            if run.status != pb::RunStatus::Running as i32 {
                break run;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        };
        if run.status == pb::RunStatus::Failed as i32 {
            bail!("the run failed: {}", run.error);
        }
        Ok(run)
    }

    pub async fn status(
        &self,
        integration: &pb::Integration,
    ) -> anyhow::Result<pb::IntegrationStatus> {
        Ok(self
            .orchestrator
            .clone()
            .get_integration_status(self.authorized(pb::GetIntegrationStatusRequest {
                integration_id: integration.id.clone(),
            }))
            .await
            .context("GetIntegrationStatus")?
            .into_inner())
    }

    /// Forgets every call both simulators logged.
    pub fn clear_calls(&self) {
        self.salesforce.clear_calls();
        self.monday.clear_requests();
    }

    /// Calls logged since the last [`Stack::clear_calls`].
    pub fn calls(&self) -> Calls {
        let sf = self.salesforce.calls();
        let mo = self.monday.requests();
        let sf_api: Vec<_> = sf.iter().filter(|c| c.is_api_call()).collect();
        Calls {
            salesforce_reads: sf_api.iter().filter(|c| c.method == "GET").count(),
            salesforce_writes: sf_api.iter().filter(|c| c.method != "GET").count(),
            salesforce_queries: sf_api
                .iter()
                .filter(|c| c.method == "GET" && c.path.contains("/query"))
                .count(),
            monday_reads: mo.iter().filter(|r| !is_mutation(&r.query)).count(),
            monday_writes: mo.iter().filter(|r| is_mutation(&r.query)).count(),
        }
    }
}

impl Stack {
    /// The calls logged since the last clear, grouped: `GET /query ×2, POST /composite ×1`
    /// for Salesforce (the path after the API version, ids dropped) and the operation name
    /// for monday.
    pub fn call_summary(&self) -> (String, String) {
        let mut sf: Vec<(String, usize)> = Vec::new();
        for c in self.salesforce.calls().iter().filter(|c| c.is_api_call()) {
            let rest: Vec<&str> = c.path.split('/').skip(4).collect();
            let kind = rest
                .iter()
                .take(2)
                .filter(|p| !p.chars().any(|ch| ch.is_ascii_digit()))
                .copied()
                .collect::<Vec<_>>()
                .join("/");
            bump(&mut sf, format!("{} {kind}", c.method));
        }
        let mut mo: Vec<(String, usize)> = Vec::new();
        for r in self.monday.requests() {
            let op = r
                .query
                .split(['(', '{'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            bump(&mut mo, op);
        }
        let show = |v: Vec<(String, usize)>| {
            v.into_iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        (show(sf), show(mo))
    }
}

fn bump(counts: &mut Vec<(String, usize)>, key: String) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
}

fn is_mutation(query: &str) -> bool {
    query.trim_start().starts_with("mutation")
}

/// API calls both simulators answered in one stretch of a scenario.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calls {
    pub salesforce_reads: usize,
    pub salesforce_writes: usize,
    /// Of the reads: SOQL query pages (`/query`, `/queryAll`, `nextRecordsUrl`).
    pub salesforce_queries: usize,
    pub monday_reads: usize,
    pub monday_writes: usize,
}

impl Calls {
    pub fn salesforce(&self) -> usize {
        self.salesforce_reads + self.salesforce_writes
    }

    pub fn monday(&self) -> usize {
        self.monday_reads + self.monday_writes
    }
}

/// The values a seeded pair starts with, equal on both sides so that a re-link writes nothing.
pub fn stage(i: usize) -> (&'static str, u64) {
    match i % 3 {
        0 => ("Prospecting", 0),
        1 => ("Closed Won", 1),
        _ => ("Closed Lost", 5),
    }
}

/// A date (`YYYY-MM-DD`) that differs per `round`: every edit round changes CloseDate.
pub fn date(round: usize) -> String {
    let day = 1 + round % 28;
    let month = 1 + (round / 28) % 12;
    format!("2027-{month:02}-{day:02}")
}

/// `n` Opportunities, seeded straight into the simulator (no API calls).
pub fn seed_opportunities(stack: &Stack, n: usize) -> anyhow::Result<Vec<String>> {
    let records = (0..n)
        .map(|i| {
            json!({"Name": format!("Deal {i:06}"), "StageName": stage(i).0, "CloseDate": date(0)})
        })
        .collect();
    stack
        .salesforce
        .insert_many(ORG, "Opportunity", records)
        .map_err(|e| anyhow::anyhow!("seeding opportunities: {e}"))
}

/// `n` items on the board, seeded straight into the simulator; with `partners`, item i holds
/// Salesforce Id `partners[i]` in its link column.
pub fn seed_items(
    stack: &Stack,
    n: usize,
    partners: Option<&[String]>,
) -> anyhow::Result<Vec<i64>> {
    (0..n)
        .map(|i| {
            let mut values = json!({"status": {"label": stage(i).0}, "date4": {"date": date(0)}});
            if let Some(ids) = partners {
                values["sfid"] = json!(ids[i]);
            }
            stack
                .monday
                .create_item(stack.board, None, &format!("Deal {i:06}"), values)
                .map_err(|e| anyhow::anyhow!("seeding item {i}: {e}"))
        })
        .collect()
}

/// `n` linked pairs: seeded on both sides with equal values, then paired by an import that
/// re-links them by the Salesforce Id (reads only). Returns (Salesforce ids, item ids).
pub async fn linked_pairs(
    stack: &Stack,
    integration: &pb::Integration,
    n: usize,
) -> anyhow::Result<(Vec<String>, Vec<i64>)> {
    let opportunities = seed_opportunities(stack, n)?;
    let items = seed_items(stack, n, Some(&opportunities))?;
    stack.import(integration, pb::Side::Salesforce).await?;
    let linked = stack.status(integration).await?.linked_records;
    if linked != n as u64 {
        bail!("{n} pairs seeded but {linked} linked by the import");
    }
    Ok((opportunities, items))
}

/// A channel to `url` that connects on first use.
fn lazy_channel(url: &str) -> anyhow::Result<Channel> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_owned())?.connect_lazy())
}
