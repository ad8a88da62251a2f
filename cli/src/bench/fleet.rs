//! Scenario 8, a fleet: N integrations of many tenants (each its own Tandem account, monday
//! account and Salesforce org; boards empty, integrations monday → Salesforce Accounts so that a
//! tenant's changes are read by its own integrations only), R orchestrator replicas as
//! separate `tandem orchestrator` processes beside a `tandem up` whose own scheduler is off.
//! After every integration has run once, a window of whole poll intervals is measured while a
//! fraction of the boards get a new item each interval; then one replica is killed (SIGKILL)
//! in the middle of its runs and the time until its integrations run again is measured.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use serde_json::json;
use tandem_proto::v1 as pb;
use tandem_service::{Identity, names};
use time::OffsetDateTime;
use tokio::task::JoinSet;

use super::harness::{Stack, StackOptions};
use super::measure::Ctx;
use super::report::Row;

#[derive(Debug, Clone)]
pub struct Params {
    pub integrations: usize,
    pub per_tenant: usize,
    pub replicas: usize,
    pub interval_s: u32,
    pub intervals: u32,
    /// The fraction of integrations whose board gets a new item each interval.
    pub changing: f64,
    pub tick_ms: u64,
    /// Stream Salesforce change events too (off: a polled fleet).
    pub change_events: bool,
}

/// One orchestrator replica: a child process and its name in `sync.leases.holder`.
pub(super) struct Replica {
    pub(super) child: std::process::Child,
    pub(super) holder: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn run(ctx: &Ctx, p: &Params) -> anyhow::Result<Vec<Row>> {
    let stack = Stack::start(
        &ctx.infra,
        StackOptions {
            services_apart: true,
            scheduler_tick_ms: 0,
            change_events: p.change_events,
            ..Default::default()
        },
    )
    .await?;
    let result = measure(&stack, p).await;
    stack.stop().await?;
    result
}

async fn measure(stack: &Stack, p: &Params) -> anyhow::Result<Vec<Row>> {
    let params = format!(
        "{} integrations ({} per tenant), {} replicas, every {} s, {:.0}% changing per interval",
        p.integrations,
        p.per_tenant,
        p.replicas,
        p.interval_s,
        p.changing * 100.0
    );
    let began = Instant::now();
    let boards = populate(stack, p).await?;
    eprintln!(
        "tandem bench: fleet: {} integrations created in {:.0} s",
        boards.len(),
        began.elapsed().as_secs_f64()
    );
    let pool = sqlx::PgPool::connect(stack.database_url()).await?;
    let mut replicas = Vec::new();
    for _ in 0..p.replicas {
        replicas.push(replica(stack, p)?);
    }
    // Warm-up: every integration has run once (the first round is one burst: all are due).
    let interval = Duration::from_secs(u64::from(p.interval_s));
    let deadline = Instant::now() + interval * 4 + Duration::from_secs(120);
    loop {
        let ran: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT integration_id) FROM history.runs WHERE finished_at IS NOT NULL",
        )
        .fetch_one(&pool)
        .await?;
        if ran as usize >= boards.len() {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {ran} of {} integrations ran in the warm-up",
            boards.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!(
        "tandem bench: fleet: every integration ran once after {:.0} s",
        began.elapsed().as_secs_f64()
    );

    // The window: whole intervals, with changes spread over them.
    let before = Counts::read(&pool, stack, &replicas).await?;
    let window = interval * p.intervals;
    let edits = ((boards.len() as f64) * p.changing * f64::from(p.intervals)).round() as usize;
    let started = Instant::now();
    for k in 0..edits {
        let at = window.mul_f64(k as f64 / edits as f64);
        tokio::time::sleep_until((started + at).into()).await;
        let board = boards[(k * 7_919) % boards.len()];
        stack
            .monday
            .create_item(board, None, &format!("Fleet deal {k}"), json!({}))
            .map_err(|e| anyhow::anyhow!("a fleet edit: {e}"))?;
    }
    tokio::time::sleep_until((started + window).into()).await;
    let after = Counts::read(&pool, stack, &replicas).await?;
    let runs = Runs::between(&pool, before.at - interval, after.at).await?;
    let cycles = runs.started_in(before.at, after.at);
    let seconds = (after.at - before.at).as_seconds_f64();
    let late = runs.lateness(interval, before.at);
    let doubles = runs.overlapping();
    let cpu = after.cpu.saturating_sub(before.cpu);
    let per_cycle = |n: f64| n / cycles.max(1) as f64;

    let killed = super::fleet_kill::kill_one(&pool, &mut replicas).await?;
    let mut rows = vec![
        Row::new("fleet", &params, "cycles per second").value(
            cycles as f64 / seconds,
            format!(
                "{:.1} ({cycles} in {seconds:.0} s)",
                cycles as f64 / seconds
            ),
        ),
        Row::new("fleet", &params, "start lateness p50 (start − due)").value(
            percentile(&late, 0.5),
            format!("{:.2} s", percentile(&late, 0.5)),
        ),
        Row::new("fleet", &params, "start lateness p99 (start − due)")
            .value(
                percentile(&late, 0.99),
                format!("{:.2} s", percentile(&late, 0.99)),
            )
            .goal("< 5 s", percentile(&late, 0.99) < 5.0),
        Row::new(
            "fleet",
            &params,
            "replicas' CPU per cycle (scheduling and the cycle)",
        )
        .value(
            per_cycle(cpu.as_secs_f64() * 1_000.0),
            format!("{:.2} ms", per_cycle(cpu.as_secs_f64() * 1_000.0)),
        ),
        Row::new(
            "fleet",
            &params,
            "Postgres transactions per cycle (every service)",
        )
        .value(
            per_cycle((after.transactions - before.transactions) as f64),
            format!(
                "{:.1}",
                per_cycle((after.transactions - before.transactions) as f64)
            ),
        ),
        Row::new("fleet", &params, "Redis commands per cycle (every service)").value(
            per_cycle((after.redis_commands - before.redis_commands) as f64),
            format!(
                "{:.1}",
                per_cycle((after.redis_commands - before.redis_commands) as f64)
            ),
        ),
        Row::new(
            "fleet",
            &params,
            "double runs (one integration, overlapping runs)",
        )
        .value(doubles as f64, doubles.to_string())
        .goal("0", doubles == 0),
    ];
    rows.extend(killed.rows(&params));
    Ok(rows)
}

/// Tenants with their accounts, orgs, connections, boards and integrations; the boards.
async fn populate(stack: &Stack, p: &Params) -> anyhow::Result<Vec<i64>> {
    let tenants = p.integrations.div_ceil(p.per_tenant.max(1));
    let mut boards = Vec::with_capacity(p.integrations);
    let mut tasks = JoinSet::new();
    let mut next = 0;
    while next < tenants || !tasks.is_empty() {
        while next < tenants && tasks.len() < 8 {
            let count = p.per_tenant.min(p.integrations - next * p.per_tenant);
            tasks.spawn(tenant(Tenant::of(stack, next, p.interval_s), count));
            next += 1;
        }
        if let Some(done) = tasks.join_next().await {
            boards.extend(done??);
        }
    }
    Ok(boards)
}

/// What setting up one tenant needs from the stack.
struct Tenant {
    index: usize,
    interval_s: u32,
    monday: monday_sim::SimHandle,
    salesforce: salesforce_sim::SimHandle,
    config: tandem_proto::v1::mapping_config_client::MappingConfigClient<tonic::transport::Channel>,
    bearer: String,
}

impl Tenant {
    fn of(stack: &Stack, index: usize, interval_s: u32) -> Self {
        let signer = &stack.signer;
        let bearer = format!(
            "Bearer {}",
            signer.mint(
                &Identity::User {
                    account: format!("tenant-{index}"),
                    email: format!("ada@t{index}.test"),
                },
                Duration::from_secs(24 * 3600),
            )
        );
        Tenant {
            index,
            interval_s,
            monday: stack.monday.clone(),
            salesforce: stack.salesforce.clone(),
            config: stack.config.clone(),
            bearer,
        }
    }
}

async fn tenant(t: Tenant, integrations: usize) -> anyhow::Result<Vec<i64>> {
    let account = t.monday.create_account(
        &format!("Tenant {}", t.index),
        "Ada Admin",
        &format!("ada@t{}.test", t.index),
    );
    let org = format!("t{}", t.index);
    t.salesforce.ensure_org(&org);
    let mut config = t.config.clone();
    let monday = config
        .create_connection(tandem_stack::authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Monday as i32,
                monday_token: account.token.clone(),
                ..Default::default()
            },
            &t.bearer,
        ))
        .await
        .context("connecting monday")?
        .into_inner()
        .connection
        .context("no monday connection returned")?;
    let salesforce = tandem_stack::connect_simulated_org(&mut config, &t.bearer, &org).await?;
    let mut boards = Vec::with_capacity(integrations);
    for b in 0..integrations {
        let board = t
            .monday
            .create_board(account.account_id, &format!("Deals {b}"));
        t.monday
            .add_column(board, "sfid", "Salesforce Id", "text", json!({}))
            .map_err(|e| anyhow::anyhow!("a board column: {e}"))?;
        let spec = pb::IntegrationSpec {
            name: format!("Fleet {} / {b}", t.index),
            monday_connection_id: monday.id.clone(),
            board_id: board.to_string(),
            salesforce_connection_id: salesforce.id.clone(),
            // Accounts need only a Name: a new item alone makes a valid record.
            salesforce_object: "Account".into(),
            scope: pb::Scope::MondayToSalesforce as i32,
            mappings: vec![pb::FieldMapping {
                monday_column_id: "name".into(),
                salesforce_field: "Name".into(),
                direction: pb::Direction::MondayToSalesforce as i32,
                options: None,
            }],
            link_monday_column_id: "sfid".into(),
            link_salesforce_field: "Id".into(),
            poll_interval_seconds: t.interval_s,
            ..Default::default()
        };
        config
            .create_integration(tandem_stack::authorized(
                pb::CreateIntegrationRequest {
                    spec: Some(spec),
                    paused: false,
                },
                &t.bearer,
            ))
            .await
            .context("creating a fleet integration")?;
        boards.push(board);
    }
    Ok(boards)
}

/// Starts `tandem orchestrator` (this binary) against the stack's services.
fn replica(stack: &Stack, p: &Params) -> anyhow::Result<Replica> {
    let peers = &stack.peers;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("orchestrator")
        .env("TANDEM_SYNC_ORCHESTRATOR_LISTEN", "127.0.0.1:0")
        .env("TANDEM_SCHEDULER_TICK_MS", p.tick_ms.to_string())
        .env(
            "TANDEM_SALESFORCE_CHANGE_EVENTS",
            if p.change_events { "true" } else { "false" },
        )
        .env("DATABASE_URL", &stack.infra.database_url)
        .env("REDIS_URL", &stack.infra.redis_url)
        .env("TANDEM_REDIS_PREFIX", &stack.infra.redis_prefix)
        .env("TANDEM_DEV_AUTH", "1")
        .env("TANDEM_AUTH_SECRET", &stack.secret)
        .env(
            "TANDEM_SERVICE_KEY",
            stack
                .service_keys
                .private_text(names::SYNC_ORCHESTRATOR)
                .context("the orchestrator's key")?
                .expose_secret(),
        )
        .env(
            "TANDEM_SERVICE_PUBLIC_KEYS",
            stack.service_keys.public_text(),
        )
        .env(
            "TANDEM_CONNECTOR_SALESFORCE_URL",
            &peers.connector_salesforce_url,
        )
        .env("TANDEM_CONNECTOR_MONDAY_URL", &peers.connector_monday_url)
        .env("TANDEM_MAPPING_CONFIG_URL", &peers.mapping_config_url)
        .env("TANDEM_SYNC_ORCHESTRATOR_URL", &peers.sync_orchestrator_url)
        .env("TANDEM_RUN_HISTORY_URL", &peers.run_history_url)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(std::process::Stdio::piped())
        .stderr(log_file()?)
        .spawn()
        .context("starting `tandem orchestrator`")?;
    let stdout = child.stdout.take().context("the replica's stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("sync-orchestrator listening on http://")
        .with_context(|| format!("the replica did not announce its address: {line:?}"))?;
    Ok(Replica {
        holder: format!("sync-orchestrator@{addr}"),
        child,
    })
}

/// Where a child process's log goes: a file in `TANDEM_BENCH_LOG_DIR` when set (with `RUST_LOG`
/// passed through), nowhere otherwise.
pub(super) fn log_file() -> anyhow::Result<std::process::Stdio> {
    let Some(dir) = std::env::var_os("TANDEM_BENCH_LOG_DIR") else {
        return Ok(std::process::Stdio::null());
    };
    let path = std::path::Path::new(&dir).join(format!("replica-{}.log", uuid::Uuid::new_v4()));
    Ok(std::fs::File::create(&path)
        .with_context(|| format!("creating {}", path.display()))?
        .into())
}

/// Counters read at both ends of the window.
struct Counts {
    at: OffsetDateTime,
    transactions: i64,
    redis_commands: i64,
    cpu: Duration,
}

impl Counts {
    async fn read(
        pool: &sqlx::PgPool,
        stack: &Stack,
        replicas: &[Replica],
    ) -> anyhow::Result<Self> {
        let (at, transactions): (OffsetDateTime, i64) = sqlx::query_as(
            "SELECT now(), (xact_commit + xact_rollback)::bigint FROM pg_stat_database \
             WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await?;
        let client = redis::Client::open(stack.infra.redis_url.as_str())?;
        let mut redis = client.get_multiplexed_async_connection().await?;
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query_async(&mut redis)
            .await?;
        let redis_commands = info
            .lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let cpu = replicas
            .iter()
            .filter_map(|r| super::procstat::cpu_time_of(r.child.id()))
            .sum();
        Ok(Counts {
            at,
            transactions,
            redis_commands,
            cpu,
        })
    }
}

/// Scheduled runs by integration, oldest first.
struct Runs(HashMap<String, Vec<(OffsetDateTime, Option<OffsetDateTime>)>>);

impl Runs {
    async fn between(
        pool: &sqlx::PgPool,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> anyhow::Result<Self> {
        let rows: Vec<(String, OffsetDateTime, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT integration_id, started_at, finished_at FROM history.runs \
             WHERE started_at >= $1 AND started_at < $2 ORDER BY integration_id, started_at",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
        let mut by = HashMap::<String, Vec<_>>::new();
        for (id, started, finished) in rows {
            by.entry(id).or_default().push((started, finished));
        }
        Ok(Runs(by))
    }

    fn started_in(&self, from: OffsetDateTime, to: OffsetDateTime) -> usize {
        self.0
            .values()
            .flatten()
            .filter(|(s, _)| *s >= from && *s < to)
            .count()
    }

    /// How late each run started in the window was: its start − (the previous run's end +
    /// the interval), the time the due-queue set (a little later than the end it records).
    fn lateness(&self, interval: Duration, from: OffsetDateTime) -> Vec<f64> {
        let mut late = Vec::new();
        for runs in self.0.values() {
            for pair in runs.windows(2) {
                let ((_, Some(previous_end)), (start, _)) = (pair[0], pair[1]) else {
                    continue;
                };
                if start >= from {
                    late.push(
                        (start - (previous_end + interval))
                            .as_seconds_f64()
                            .max(0.0),
                    );
                }
            }
        }
        late
    }

    /// Runs of one integration that overlapped in time (must be none).
    fn overlapping(&self) -> usize {
        self.0
            .values()
            .map(|runs| {
                runs.windows(2)
                    .filter(|pair| pair[0].1.is_none_or(|end| end > pair[1].0))
                    .count()
            })
            .sum()
    }
}

fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
