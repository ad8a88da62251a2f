//! Scenario 4, throughput at the remotes' limits: an import each way with the latency of a
//! real remote injected into both simulators (default 250 ms per Salesforce call, 400 ms per
//! monday request) and monday's complexity budget at its real value (10,000,000 a minute),
//! measured against the ceiling those rules allow (see [`Ceiling`]); the services' peak RSS
//! during each import (the services run in a child process of their own); and an import
//! killed (SIGKILL) about half way and run again, which must end with every record linked
//! once and none made twice.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tandem_proto::v1 as pb;

use crate::bench::harness::{self, ORG, Stack, StackOptions};
use crate::bench::measure::Ctx;
use crate::bench::procstat::{self, Of, mib};
use crate::bench::report::{Row, thousands};

const S: &str = "4 throughput";

/// What the scenario runs.
pub struct Params {
    /// Sizes of the imports monday → Salesforce.
    pub salesforce_bound: Vec<usize>,
    /// Sizes of the imports Salesforce → monday (at monday's budget, about 1,000 a minute).
    pub monday_bound: Vec<usize>,
    pub salesforce_latency: Duration,
    pub monday_latency: Duration,
    /// Records of the import killed half way and resumed (monday → Salesforce); 0: none.
    pub resume_records: usize,
}

/// monday's complexity budget a minute for a personal token, and what one `create_item`
/// costs (monday-sim's model; monday's long-published figure).
const MONDAY_BUDGET_PER_MINUTE: u64 = 10_000_000;
const MONDAY_CREATE_COST: u64 = 10_000;
/// Items per `items_page`/`next_items_page` request (monday's largest `limit`).
const MONDAY_PAGE: f64 = 500.0;
/// Aliased mutations per request within monday's 5,000,000 per-query cap.
const MONDAY_WRITES_PER_REQUEST: f64 = 499.0;
/// Records per SOQL query page.
const SALESFORCE_QUERY_PAGE: f64 = 2_000.0;
/// Records per sObject Collections call.
const SALESFORCE_COLLECTION: f64 = 200.0;
/// WriteRecords calls the orchestrator keeps in flight (its default).
const SALESFORCE_CONCURRENCY: f64 = 4.0;
/// From this many records an import into Salesforce goes through Bulk API 2.0 (the
/// connector's default), one ingest job of 5,000 per page.
const BULK_THRESHOLD: usize = 10_000;
const BULK_JOB: f64 = sync_orchestrator::BULK_PAGE as f64;
/// The fewest calls one ingest job takes: create, upload, close, one status poll, the
/// successful and the failed results.
const BULK_CALLS_PER_JOB: f64 = 6.0;
/// Bulk API 2.0's documented daily allocation: 150,000,000 records in 24 hours.
const BULK_RECORDS_PER_SECOND: f64 = 150_000_000.0 / 86_400.0;

pub async fn run(ctx: &Ctx, params: &Params) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut peaks = Vec::new();
    for (source, sizes) in [
        (pb::Side::Monday, &params.salesforce_bound),
        (pb::Side::Salesforce, &params.monday_bound),
    ] {
        for &n in sizes {
            let label = match source {
                pb::Side::Monday => "import monday → Salesforce",
                _ => "import Salesforce → monday",
            };
            let described = format!(
                "{label}, N={}, {} ms per Salesforce call, {} ms per monday request",
                thousands(n as u64),
                params.salesforce_latency.as_millis(),
                params.monday_latency.as_millis()
            );
            match one_way(ctx, params, n, source, &described, &mut rows).await {
                Ok(peak) if source == pb::Side::Monday => peaks.push((n, peak)),
                Ok(_) => {}
                Err(e) => rows.push(Row::failed(S, described, &e)),
            }
        }
    }
    // Bounded, not ∝ N: the two largest imports through the same path (Bulk API 2.0 from
    // its threshold on) compared.
    peaks.sort_by_key(|&(n, _)| n);
    if let [.., (small, low), (large, high)] = peaks[..]
        && large > small
    {
        let growth = high as f64 / low.max(1) as f64 - 1.0;
        rows.push(
            Row::new(
                S,
                format!(
                    "import monday → Salesforce, N={} vs N={}",
                    thousands(small as u64),
                    thousands(large as u64)
                ),
                "services' peak RSS, larger import over smaller",
            )
            .value(growth, format!("{:+.0}%", growth * 100.0))
            .goal("within 20% (bounded, not ∝ N)", growth <= 0.2),
        );
    }
    if params.resume_records > 0 {
        let described = format!(
            "import monday → Salesforce killed half way and run again, N={}",
            thousands(params.resume_records as u64)
        );
        if let Err(e) = killed_and_resumed(ctx, params, &described, &mut rows).await {
            rows.push(Row::failed(S, described, &e));
        }
    }
    Ok(rows)
}

/// A stack whose services run apart, with the remotes' latency and monday's real budget.
async fn limited_stack(ctx: &Ctx, params: &Params) -> anyhow::Result<(Stack, pb::Integration)> {
    let stack = Stack::start(
        &ctx.infra,
        StackOptions {
            services_apart: true,
            ..StackOptions::default()
        },
    )
    .await?;
    let integration = stack.integration(|_| {}).await?;
    stack
        .monday
        .set_complexity_budget(stack.monday_account, Some(MONDAY_BUDGET_PER_MINUTE));
    stack.salesforce.set_latency(params.salesforce_latency);
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: params.monday_latency.as_millis() as u64,
        ..Default::default()
    });
    Ok((stack, integration))
}

/// One import from `source`; the services' peak RSS during it.
async fn one_way(
    ctx: &Ctx,
    params: &Params,
    n: usize,
    source: pb::Side,
    described: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<u64> {
    let (stack, integration) = limited_stack(ctx, params).await?;
    let result = async {
        match source {
            pb::Side::Monday => {
                harness::seed_items(&stack, n, None)?;
            }
            _ => {
                harness::seed_opportunities(&stack, n)?;
            }
        }
        let pid = stack.services_pid().context("the services' process")?;
        let of = Of::Pid(pid);
        procstat::reset_peak_of(of);
        let cpu_before = procstat::cpu_time_of(pid).unwrap_or_default();
        stack.clear_calls();
        let started = Instant::now();
        let run = stack.import(&integration, source).await?;
        let wall = started.elapsed();
        let cpu = procstat::cpu_time_of(pid)
            .unwrap_or_default()
            .saturating_sub(cpu_before);
        let peak = procstat::peak_rss_of(of).unwrap_or_default();
        let created = run.counters.unwrap_or_default().created;
        if created != n as u64 {
            bail!("the import created {created} of {n} records");
        }
        let rate = n as f64 / wall.as_secs_f64();
        let ceiling = Ceiling::of(params, n, source);
        rows.push(
            Row::new(S, described, "records/s end to end")
                .value(rate, format!("{rate:.0} ({:.1} s)", wall.as_secs_f64()))
                .note("report"),
        );
        rows.push(
            Row::new(S, described, "ceiling the remotes' rules allow")
                .value(
                    ceiling.rate(),
                    format!("{:.0} records/s: {}", ceiling.rate(), ceiling.why()),
                )
                .note("report"),
        );
        let ratio = rate / ceiling.rate();
        let ratio_row = Row::new(S, described, "Tandem rate ÷ ceiling")
            .value(ratio, format!("{:.0}%", ratio * 100.0));
        // The goal is for large imports: a small one is mostly the fixed cost of a run (the
        // catalogs read at the remotes' latency).
        rows.push(if n >= 100_000 || source == pb::Side::Salesforce {
            ratio_row.goal("≥ 80%", ratio >= 0.8)
        } else {
            ratio_row.note("report")
        });
        let (sf, mo) = stack.call_summary();
        rows.push(Row::new(S, described, "calls").text(format!("Salesforce: {sf}; monday: {mo}")));
        rows.push(
            Row::new(
                S,
                described,
                "services' CPU per record (all five, one process)",
            )
            .value(
                cpu.as_secs_f64() * 1e6 / n as f64,
                format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / n as f64),
            )
            .note("report"),
        );
        let peak_row = Row::new(S, described, "services' peak RSS during the import");
        rows.push(if source == pb::Side::Monday && n >= 100_000 {
            peak_row
                .value(mib(peak), format!("{:.0} MiB", mib(peak)))
                .goal("< 256 MiB", mib(peak) < 256.0)
        } else {
            peak_row
                .value(mib(peak), format!("{:.0} MiB", mib(peak)))
                .note("report")
        });
        Ok(peak)
    }
    .await;
    stack.stop().await?;
    result
}

/// The fastest an import can go under the remotes' rules: the slower of reading the source
/// and writing the target, each at its rule for the injected latency and the budget.
struct Ceiling {
    read: (f64, String),
    write: (f64, String),
}

impl Ceiling {
    fn of(params: &Params, n: usize, source: pb::Side) -> Self {
        let sf = params.salesforce_latency.as_secs_f64().max(1e-3);
        let mo = params.monday_latency.as_secs_f64().max(1e-3);
        match source {
            pb::Side::Monday => {
                let read = (
                    MONDAY_PAGE / mo,
                    format!("monday reads {MONDAY_PAGE} items a request, one after another"),
                );
                let write = if n >= BULK_THRESHOLD {
                    let per_job = BULK_JOB / (BULK_CALLS_PER_JOB * sf);
                    (
                        per_job.min(BULK_RECORDS_PER_SECOND),
                        format!(
                            "Bulk API 2.0: {BULK_JOB} records a job of ≥ {BULK_CALLS_PER_JOB} calls ({per_job:.0}/s), and 150 M records a day ({BULK_RECORDS_PER_SECOND:.0}/s)"
                        ),
                    )
                } else {
                    (
                        SALESFORCE_CONCURRENCY * SALESFORCE_COLLECTION / sf,
                        format!(
                            "{SALESFORCE_CONCURRENCY} collections of {SALESFORCE_COLLECTION} in flight"
                        ),
                    )
                };
                Ceiling { read, write }
            }
            _ => {
                let read = (
                    SALESFORCE_QUERY_PAGE / sf,
                    format!("Salesforce reads {SALESFORCE_QUERY_PAGE} records a query page"),
                );
                // The first minute's budget is spent at once; each further minute's allows
                // as many creates again; the requests themselves take their latency.
                let per_minute = MONDAY_BUDGET_PER_MINUTE / MONDAY_CREATE_COST;
                let minutes = (n as u64).div_ceil(per_minute).saturating_sub(1);
                let requests = (n as f64 / MONDAY_WRITES_PER_REQUEST).ceil();
                let seconds = minutes as f64 * 60.0 + requests * mo;
                let write = (
                    n as f64 / seconds,
                    format!(
                        "monday's budget: {per_minute} creates a minute, so {minutes} more minute(s) after the first, plus {requests} requests of ≤ {MONDAY_WRITES_PER_REQUEST}"
                    ),
                );
                Ceiling { read, write }
            }
        }
    }

    fn rate(&self) -> f64 {
        self.read.0.min(self.write.0)
    }

    fn why(&self) -> String {
        format!(
            "reading {:.0}/s ({}), writing {:.0}/s ({})",
            self.read.0, self.read.1, self.write.0, self.write.1
        )
    }
}

/// An import into Salesforce whose services are killed (SIGKILL) once about half its records
/// are committed, then started again and the import run again: it must resume, and end with
/// every item linked once and no Opportunity made twice.
async fn killed_and_resumed(
    ctx: &Ctx,
    params: &Params,
    described: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let n = params.resume_records;
    let (mut stack, integration) = limited_stack(ctx, params).await?;
    let result = async {
        harness::seed_items(&stack, n, None)?;
        let started = Instant::now();
        let mut orchestrator = stack.orchestrator.clone();
        let request = stack.authorized(pb::ImportRequest {
            integration_id: integration.id.clone(),
            source: pb::Side::Monday as i32,
            ..Default::default()
        });
        let first = tokio::spawn(async move { orchestrator.import(request).await });
        let deadline = Instant::now() + Duration::from_secs(1_800);
        let done_at_kill = loop {
            let done = stack
                .status(&integration)
                .await?
                .import
                .map_or(0, |p| p.records_done);
            if done as usize * 2 >= n {
                break done;
            }
            if first.is_finished() {
                bail!("the import finished before it could be killed half way ({done} of {n} committed)");
            }
            if Instant::now() > deadline {
                bail!("the import never reached half way ({done} of {n} committed)");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        stack.restart_services().await?;
        let killed = first.await?;
        if killed.is_ok() {
            bail!("the import answered although its services were killed");
        }
        // The killed holder's lease runs out before the import can run again.
        let run = loop {
            match stack.import(&integration, pb::Side::Monday).await {
                Ok(run) => break run,
                Err(e) if Instant::now() < deadline => {
                    tracing::info!("the import cannot run again yet: {e:#}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let wall = started.elapsed();
        let linked = stack.status(&integration).await?.linked_records;
        let opportunities = stack.salesforce.records(ORG, "Opportunity").len();
        let items = stack.monday.items(stack.board).len();
        rows.push(
            Row::new(S, described, "killed with records committed").text(format!(
                "{} of {} ({:.0} s in); the run again created {}",
                thousands(done_at_kill),
                thousands(n as u64),
                wall.as_secs_f64(),
                run.counters.unwrap_or_default().created
            )),
        );
        let exact = linked == n as u64 && opportunities == n && items == n;
        rows.push(
            Row::new(S, described, "links / Opportunities / items at the end")
                .value(
                    linked as f64,
                    format!(
                        "{} / {} / {} ({:.0} s in all)",
                        thousands(linked),
                        thousands(opportunities as u64),
                        thousands(items as u64),
                        wall.as_secs_f64()
                    ),
                )
                .goal(format!("each exactly {}", thousands(n as u64)), exact),
        );
        Ok(())
    }
    .await;
    stack.stop().await?;
    result
}
