//! Scenarios 1 and 2, write and read efficiency: N linked pairs, N records edited on one side,
//! one cycle; the calls each side answered against the least the APIs allow.

use anyhow::bail;
use serde_json::json;
use tandem_proto::v1 as pb;

use crate::bench::harness::{self, ORG, Stack, StackOptions};
use crate::bench::measure::{Ctx, Measure, ceil_div, measure};
use crate::bench::report::{Row, thousands};

/// Records per sObject Collections call.
pub const SALESFORCE_BATCH: usize = 200;
/// Rounds of at least this many records also report calls per 1,000, cycle time and CPU.
const EXTRAS_FROM: usize = 5_000;
/// Records per SOQL query page.
pub const SALESFORCE_PAGE: usize = 2_000;

/// Item writes that fit in one monday request at best: the per-request complexity cap over
/// one mutation returning only its id.
pub fn monday_best_per_request() -> usize {
    use connector_monday::queries::{MAX_QUERY_COMPLEXITY, MUTATION_COST};
    (MAX_QUERY_COMPLEXITY / (MUTATION_COST + 1)) as usize
}

/// A stack with `n` linked pairs and a settled first cycle.
pub struct Linked {
    pub stack: Stack,
    pub integration: pb::Integration,
    pub opportunities: Vec<String>,
    pub items: Vec<i64>,
    admin: String,
    round: usize,
}

impl Linked {
    pub async fn start(ctx: &Ctx, n: usize) -> anyhow::Result<Self> {
        let stack = Stack::start(&ctx.infra, StackOptions::default()).await?;
        let integration = stack.integration(|_| {}).await?;
        let (opportunities, items) = harness::linked_pairs(&stack, &integration, n).await?;
        stack.sync(&integration).await?;
        let admin = stack.salesforce.admin_user_id(ORG);
        let linked = Linked {
            stack,
            integration,
            opportunities,
            items,
            admin,
            round: 0,
        };
        linked.age()?;
        Ok(linked)
    }

    /// A stack whose pairs were linked some other way (memory.rs writes links directly).
    pub fn from_parts(
        stack: Stack,
        integration: pb::Integration,
        opportunities: Vec<String>,
        items: Vec<i64>,
    ) -> Self {
        let admin = stack.salesforce.admin_user_id(ORG);
        Linked {
            stack,
            integration,
            opportunities,
            items,
            admin,
            round: 0,
        }
    }

    /// Moves every record's modification stamps ten minutes back on both sides, so that the
    /// next cycle sees what a cycle minutes after the last one would (the scheduler's default
    /// interval is 3 minutes), not what the bench's seconds leave: records changed within
    /// Salesforce's poll overlap (60 s) or in monday's watermark second are read again by
    /// design, and would otherwise be counted in every measured cycle.
    pub fn age(&self) -> anyhow::Result<()> {
        let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
        let stamp = past
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
            ))
            .map_err(|e| anyhow::anyhow!("formatting a stamp: {e}"))?;
        let fields = json!({"SystemModstamp": stamp, "LastModifiedDate": stamp});
        for id in &self.opportunities {
            self.stack
                .salesforce
                .force_fields(ORG, id, fields.clone())
                .map_err(|e| anyhow::anyhow!("ageing {id}: {e}"))?;
        }
        for item in &self.items {
            self.stack.monday.set_updated_at(*item, past);
        }
        Ok(())
    }

    /// Edits the first `n` items on monday (a new close date each round).
    pub fn edit_monday(&mut self, n: usize) -> anyhow::Result<()> {
        self.edit_monday_at(0..n)
    }

    /// Edits the items at `range` on monday.
    pub fn edit_monday_at(&mut self, range: std::ops::Range<usize>) -> anyhow::Result<()> {
        self.round += 1;
        if range.start == 0 {
            self.age()?;
        }
        let value = json!({"date4": {"date": harness::date(self.round)}});
        for item in &self.items[range] {
            self.stack
                .monday
                .set_values(*item, value.clone())
                .map_err(|e| anyhow::anyhow!("editing item {item}: {e}"))?;
        }
        Ok(())
    }

    /// Edits the first `n` Opportunities in Salesforce, as a person would.
    pub fn edit_salesforce(&mut self, n: usize) -> anyhow::Result<()> {
        self.round += 1;
        self.age()?;
        let value = json!({"CloseDate": harness::date(self.round)});
        for id in &self.opportunities[..n] {
            self.stack
                .salesforce
                .update_as(ORG, id, value.clone(), &self.admin)
                .map_err(|e| anyhow::anyhow!("editing {id}: {e}"))?;
        }
        Ok(())
    }

    /// One measured cycle that must update `n` records; then an unmeasured one that reads back
    /// the echoes of its writes, so the next measurement starts clean.
    pub async fn cycle(&self, ctx: &Ctx, n: usize) -> anyhow::Result<(pb::Run, Measure)> {
        let (run, m) = measure(ctx, &self.stack, async || {
            self.stack.sync(&self.integration).await
        })
        .await?;
        let counters = run.counters.unwrap_or_default();
        if counters.updated != n as u64 || counters.failed != 0 {
            bail!(
                "the cycle updated {} and failed {} records, not {n} updated",
                counters.updated,
                counters.failed
            );
        }
        self.stack.sync(&self.integration).await?;
        Ok((run, m))
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.stack.stop().await
    }
}

fn per_thousand(calls: usize, n: usize) -> f64 {
    calls as f64 * 1_000.0 / n.max(1) as f64
}

/// Cycle time, CPU and calls per 1,000 records of the largest round (the orchestrator issue's
/// figures for 10,000 changes).
fn cycle_rows(scenario: &str, params: &str, n: usize, m: &Measure, rows: &mut Vec<Row>) {
    rows.push(
        Row::new(scenario, params, "cycle time (SyncNow to finished run)").value(
            m.wall.as_secs_f64(),
            format!("{:.2} s", m.wall.as_secs_f64()),
        ),
    );
    let process = Measure::micros_per(m.cpu, n);
    rows.push(
        Row::new(
            scenario,
            params,
            "process CPU per record (all services + both simulators)",
        )
        .value(process, format!("{process:.0} µs")),
    );
    let own = Measure::micros_per(m.orchestrator_busy(), n);
    rows.push(
        Row::new(
            scenario,
            params,
            "orchestrator CPU per record (its own RPC busy time)",
        )
        .value(own, format!("{own:.0} µs")),
    );
}

/// Scenario 1. Salesforce-bound: N items edited on monday → Salesforce write calls against
/// ⌈N/200⌉. monday-bound: N Opportunities edited → monday requests per 1,000 item updates
/// against the per-request complexity cap.
pub async fn write(ctx: &Ctx, sizes: &[usize]) -> anyhow::Result<Vec<Row>> {
    const S: &str = "1 write efficiency";
    let max = sizes.iter().copied().max().unwrap_or(0);
    let mut linked = Linked::start(ctx, max).await?;
    let mut rows = Vec::new();
    for &n in sizes {
        let params = format!("Salesforce-bound, N={}", thousands(n as u64));
        linked.edit_monday(n)?;
        match linked.cycle(ctx, n).await {
            Ok((_, m)) => {
                let least = ceil_div(n, SALESFORCE_BATCH);
                let writes = m.calls.salesforce_writes;
                rows.push(
                    Row::new(S, &params, "Salesforce write calls")
                        .value(writes as f64, writes.to_string())
                        .goal(format!("= ⌈N/200⌉ = {least}"), writes == least),
                );
                if n >= EXTRAS_FROM || n == max {
                    let sf_least = 1 + least;
                    rows.push(
                        Row::new(
                            S,
                            &params,
                            "Salesforce calls per 1,000 changed (reads+writes)",
                        )
                        .value(
                            per_thousand(m.calls.salesforce(), n),
                            format!(
                                "{:.1} ({})",
                                per_thousand(m.calls.salesforce(), n),
                                m.detail.0
                            ),
                        )
                        .note(format!(
                            "least: 1 poll query + ⌈N/200⌉ writes = {:.1}",
                            per_thousand(sf_least, n)
                        )),
                    );
                    let mo_least = ceil_div(n, connector_monday_page());
                    rows.push(
                        Row::new(S, &params, "monday requests per 1,000 changed (poll)")
                            .value(
                                per_thousand(m.calls.monday(), n),
                                format!(
                                    "{:.1} ({})",
                                    per_thousand(m.calls.monday(), n),
                                    m.detail.1
                                ),
                            )
                            .note(format!(
                                "least: ⌈N/500⌉ pages = {:.1}",
                                per_thousand(mo_least, n)
                            )),
                    );
                    cycle_rows(S, &params, n, &m, &mut rows);
                }
            }
            Err(e) => rows.push(Row::failed(S, params, &e)),
        }
    }
    let best = monday_best_per_request();
    for &n in sizes {
        let params = format!("monday-bound, N={}", thousands(n as u64));
        linked.edit_salesforce(n)?;
        match linked.cycle(ctx, n).await {
            Ok((_, m)) => {
                let writes = m.calls.monday_writes;
                let least = ceil_div(n, best);
                let measured = per_thousand(writes, n);
                let goal = per_thousand(least, n);
                rows.push(
                    Row::new(S, &params, "monday write requests per 1,000 updates")
                        .value(measured, format!("{measured:.1} ({writes} requests)"))
                        .goal(
                            format!("≤ 110% of ⌈N/{best}⌉ = {least} → {:.1}", goal * 1.1),
                            measured <= goal * 1.1 + 1e-9,
                        ),
                );
                if n >= EXTRAS_FROM || n == max {
                    let sf_least = ceil_div(n, SALESFORCE_PAGE);
                    rows.push(
                        Row::new(S, &params, "Salesforce calls per 1,000 changed (poll)")
                            .value(
                                per_thousand(m.calls.salesforce(), n),
                                format!(
                                    "{:.1} ({})",
                                    per_thousand(m.calls.salesforce(), n),
                                    m.detail.0
                                ),
                            )
                            .note(format!(
                                "least: ⌈N/2000⌉ query pages = {:.1}",
                                per_thousand(sf_least, n)
                            )),
                    );
                    rows.push(
                        Row::new(
                            S,
                            &params,
                            "monday requests per 1,000 changed (reads+writes)",
                        )
                        .value(
                            per_thousand(m.calls.monday(), n),
                            format!("{:.1} ({})", per_thousand(m.calls.monday(), n), m.detail.1),
                        )
                        .note(format!(
                            "least: 1 poll + ⌈N/{best}⌉ writes = {:.1}",
                            per_thousand(1 + least, n)
                        )),
                    );
                    cycle_rows(S, &params, n, &m, &mut rows);
                }
            }
            Err(e) => rows.push(Row::failed(S, params, &e)),
        }
    }
    linked.stop().await?;
    Ok(rows)
}

/// Items per monday poll page.
fn connector_monday_page() -> usize {
    500
}

/// Scenario 2. M Opportunities changed → Salesforce read calls ≤ 1 + ⌈M/2000⌉; nothing
/// changed → one query per side.
pub async fn read(ctx: &Ctx, sizes: &[usize]) -> anyhow::Result<Vec<Row>> {
    const S: &str = "2 read efficiency";
    let max = sizes.iter().copied().max().unwrap_or(0).max(1);
    let mut linked = Linked::start(ctx, max).await?;
    let mut rows = Vec::new();
    let (_, empty) = measure(ctx, &linked.stack, async || {
        linked.stack.sync(&linked.integration).await
    })
    .await?;
    let c = empty.calls;
    let (sf_detail, mo_detail) = empty.detail.clone();
    rows.push(
        Row::new(S, "nothing changed", "Salesforce calls per cycle")
            .value(
                c.salesforce() as f64,
                format!("{} ({sf_detail})", c.salesforce()),
            )
            .goal("1 query", c.salesforce() == 1 && c.salesforce_queries == 1),
    );
    rows.push(
        Row::new(S, "nothing changed", "monday requests per cycle")
            .value(c.monday() as f64, format!("{} ({mo_detail})", c.monday()))
            .goal("1 query", c.monday() == 1),
    );
    for &m_changed in sizes.iter().filter(|&&m| m > 0) {
        let params = format!("M={} changed in Salesforce", thousands(m_changed as u64));
        linked.edit_salesforce(m_changed)?;
        // The poll is what is measured: it has run even when the cycle fails later (at its
        // writes), so the calls are counted either way and the failure is noted.
        let measured = measure(ctx, &linked.stack, async || {
            Ok(linked.stack.sync(&linked.integration).await)
        })
        .await;
        match measured {
            Ok((outcome, m)) => {
                let reads = m.calls.salesforce_reads;
                let detail = &m.detail.0;
                let bound = 1 + ceil_div(m_changed, SALESFORCE_PAGE);
                let mut shown = format!("{reads} ({detail})");
                if let Err(e) = outcome {
                    shown.push_str(&format!("; the cycle then failed at its writes: {e:#}"));
                } else {
                    linked.stack.sync(&linked.integration).await?;
                }
                rows.push(
                    Row::new(S, &params, "Salesforce read calls (Opportunity)")
                        .value(reads as f64, shown)
                        .goal(format!("≤ 1 + ⌈M/2000⌉ = {bound}"), reads <= bound),
                );
            }
            Err(e) => rows.push(Row::failed(S, params, &e)),
        }
    }
    linked.stop().await?;
    Ok(rows)
}
