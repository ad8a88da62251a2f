//! Scenario 4, throughput: an import of N records each way, end to end; the CPU it costs and
//! where the time goes; and the simulator's own serving rate for the same writes sent
//! straight to it, the ceiling Tandem is measured against.

use std::time::Instant;

use anyhow::{Context as _, bail};
use serde_json::json;
use tandem_proto::v1 as pb;

use crate::bench::harness::{self, ORG, Stack, StackOptions};
use crate::bench::measure::{Ctx, Measure, measure};
use crate::bench::report::{Row, thousands};

const S: &str = "4 throughput";

/// Records written straight to a simulator to measure its serving rate.
const CEILING_SAMPLE: usize = 10_000;

pub async fn run(ctx: &Ctx, sizes: &[usize]) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &n in sizes {
        for source in [pb::Side::Salesforce, pb::Side::Monday] {
            let params = match source {
                pb::Side::Salesforce => {
                    format!("import Salesforce → monday, N={}", thousands(n as u64))
                }
                _ => format!("import monday → Salesforce, N={}", thousands(n as u64)),
            };
            if let Err(e) = one_way(ctx, n, source, &params, &mut rows).await {
                rows.push(Row::failed(S, params, &e));
            }
        }
    }
    Ok(rows)
}

async fn one_way(
    ctx: &Ctx,
    n: usize,
    source: pb::Side,
    params: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let stack = Stack::start(&ctx.infra, StackOptions::default()).await?;
    let result = async {
        let integration = stack.integration(|_| {}).await?;
        match source {
            pb::Side::Salesforce => {
                harness::seed_opportunities(&stack, n)?;
            }
            _ => {
                harness::seed_items(&stack, n, None)?;
            }
        }
        let (run, m) = measure(ctx, &stack, async || stack.import(&integration, source).await).await?;
        let created = run.counters.unwrap_or_default().created;
        if created != n as u64 {
            bail!("the import created {created} of {n} records");
        }
        let rate = n as f64 / m.wall.as_secs_f64();
        let ceiling = match source {
            pb::Side::Salesforce => monday_ceiling(&stack).await?,
            _ => salesforce_ceiling(&stack).await?,
        };
        let target = if source == pb::Side::Salesforce { "monday-sim" } else { "salesforce-sim" };
        rows.push(
            Row::new(S, params, "records/s end to end")
                .value(rate, format!("{rate:.0} ({:.1} s)", m.wall.as_secs_f64()))
                .note("report"),
        );
        let ratio = rate / ceiling;
        rows.push(
            Row::new(S, params, format!("{target} serving rate for the same writes (ceiling)"))
                .value(ceiling, format!("{ceiling:.0} records/s"))
                .note("report"),
        );
        rows.push(
            Row::new(S, params, "Tandem rate ÷ simulator ceiling")
                .value(ratio, format!("{:.0}%", ratio * 100.0))
                .goal("the simulator is the ceiling: ≥ 80% of its rate", ratio >= 0.8),
        );
        let process = Measure::micros_per(m.cpu, n);
        rows.push(
            Row::new(S, params, "process CPU per record (all services + both simulators)")
                .value(process, format!("{process:.0} µs"))
                .note("report"),
        );
        let own = Measure::micros_per(m.orchestrator_busy(), n);
        rows.push(
            Row::new(S, params, "orchestrator CPU per record (network excluded)")
                .value(own, format!("{own:.0} µs"))
                .note("report"),
        );
        let spans_busy: std::time::Duration = m.spans.values().map(|t| t.busy).sum();
        // The import's own wall time less its CPU and the RPCs it waited for (called one after
        // another during an import): what it spent waiting on Postgres and Redis.
        let import = m
            .spans
            .get("tandem.v1.SyncOrchestrator/Import")
            .copied()
            .unwrap_or_default();
        let called: std::time::Duration = m
            .spans
            .iter()
            .filter(|(k, _)| !k.starts_with("tandem.v1.SyncOrchestrator/") && !k.starts_with("tandem.v1.RunHistory/GetRun"))
            .map(|(_, t)| t.wall)
            .sum();
        let storage = import.wall.saturating_sub(import.busy).saturating_sub(called);
        rows.push(
            Row::new(S, params, "orchestrator: own CPU / waiting on RPCs / waiting on Postgres+Redis")
                .text(format!(
                    "{:.2} s / {:.2} s / {:.2} s of {:.2} s",
                    import.busy.as_secs_f64(),
                    called.as_secs_f64(),
                    storage.as_secs_f64(),
                    import.wall.as_secs_f64()
                )),
        );
        let breakdown: Vec<String> = m
            .breakdown()
            .into_iter()
            .take(6)
            .map(|(method, t)| {
                format!(
                    "{} ×{} busy {:.2} s / wall {:.2} s",
                    method.trim_start_matches("tandem.v1."),
                    t.count,
                    t.busy.as_secs_f64(),
                    t.wall.as_secs_f64()
                )
            })
            .collect();
        rows.push(
            Row::new(S, params, "where the time goes (RPC busy/wall)")
                .text(format!(
                    "process CPU {:.2} s; RPC busy {:.2} s; simulators, Postgres client and the rest {:.2} s; {}",
                    m.cpu.as_secs_f64(),
                    spans_busy.as_secs_f64(),
                    m.cpu.saturating_sub(spans_busy).as_secs_f64(),
                    breakdown.join("; ")
                )),
        );
        Ok(())
    }
    .await;
    stack.stop().await?;
    result
}

/// Items created per second by monday-sim from aliased `create_item` mutations sent straight
/// to it, as many per request as the complexity cap allows.
async fn monday_ceiling(stack: &Stack) -> anyhow::Result<f64> {
    let per_request = crate::bench::efficiency::monday_best_per_request();
    let http = reqwest::Client::new();
    let values =
        json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-01-01"}}).to_string();
    let started = Instant::now();
    let mut sent = 0;
    while sent < CEILING_SAMPLE {
        let batch = per_request.min(CEILING_SAMPLE - sent);
        let body: Vec<String> = (0..batch)
            .map(|i| {
                format!(
                    "w{i}: create_item(board_id: {}, item_name: \"Ceiling {}\", column_values: {}) {{ id }}",
                    stack.board,
                    sent + i,
                    serde_json::to_string(&values).unwrap_or_default()
                )
            })
            .collect();
        let query = format!("mutation {{ {} }}", body.join(" "));
        let answer = http
            .post(&stack.monday_api_url)
            .header("authorization", &stack.monday_token)
            .header("api-version", connector_monday::DEFAULT_API_VERSION)
            .json(&json!({ "query": query }))
            .send()
            .await
            .context("monday-sim")?;
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() || text.contains("\"errors\"") {
            bail!(
                "monday-sim refused the ceiling batch ({status}): {}",
                &text[..text.len().min(300)]
            );
        }
        sent += batch;
    }
    Ok(CEILING_SAMPLE as f64 / started.elapsed().as_secs_f64())
}

/// Opportunities created per second by salesforce-sim from sObject Collections calls of 200
/// sent straight to it.
async fn salesforce_ceiling(stack: &Stack) -> anyhow::Result<f64> {
    let token = stack.salesforce.mint_token(ORG).access_token;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/services/data/v{}/composite/sobjects",
        stack.salesforce_url,
        connector_salesforce::DEFAULT_API_VERSION
    );
    let started = Instant::now();
    let mut sent = 0;
    while sent < CEILING_SAMPLE {
        let batch = 200.min(CEILING_SAMPLE - sent);
        let records: Vec<_> = (0..batch)
            .map(|i| {
                json!({"attributes": {"type": "Opportunity"}, "Name": format!("Ceiling {}", sent + i), "StageName": "Prospecting", "CloseDate": "2027-01-01"})
            })
            .collect();
        let answer = http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"allOrNone": false, "records": records}))
            .send()
            .await
            .context("salesforce-sim")?;
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() || text.contains("\"success\":false") {
            bail!(
                "salesforce-sim refused the ceiling batch ({status}): {}",
                &text[..text.len().min(300)]
            );
        }
        sent += batch;
    }
    Ok(CEILING_SAMPLE as f64 / started.elapsed().as_secs_f64())
}
