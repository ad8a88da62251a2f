//! Scenario 5, propagation latency: a single edit of a monday item, timed until Salesforce
//! holds the new value, with the scheduler running as in production. With webhooks (low
//! latency mode) and with polling only (at the shortest poll interval allowed); in the polling
//! case each edit is made at a random moment of the interval, as a person's edit would be.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;
use tandem_proto::v1 as pb;

use crate::bench::coalescing::Rng;
use crate::bench::harness::{self, ORG, Stack, StackOptions};
use crate::bench::measure::Ctx;
use crate::bench::report::Row;

const S: &str = "5 propagation latency";
/// How often the bench looks at Salesforce for the new value.
const LOOK_EVERY: Duration = Duration::from_millis(5);
/// The scheduler tick the latency stack runs with (production default: 5 s).
const TICK_MS: u64 = 100;

pub struct Params {
    pub webhook_samples: usize,
    pub poll_samples: usize,
    pub poll_interval_s: u32,
    pub debounce_s: u32,
}

pub async fn run(ctx: &Ctx, p: &Params) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    if p.webhook_samples > 0 {
        let params = format!(
            "webhooks on, low-latency mode, debounce {} s, scheduler tick {} ms, {} edits",
            p.debounce_s, TICK_MS, p.webhook_samples
        );
        match mode(ctx, p, true).await {
            Ok(samples) => push(
                &mut rows,
                &params,
                &samples,
                "seconds (debounce + one cycle)",
            ),
            Err(e) => rows.push(Row::failed(S, params, &e)),
        }
    }
    if p.poll_samples > 0 {
        let params = format!(
            "polling only, every {} s (the shortest allowed), {} edits at random moments",
            p.poll_interval_s, p.poll_samples
        );
        match mode(ctx, p, false).await {
            Ok(samples) => push(
                &mut rows,
                &params,
                &samples,
                "≈ interval/2 + cycle for p50; with the default 180 s interval ≈ 90 s / 178 s",
            ),
            Err(e) => rows.push(Row::failed(S, params, &e)),
        }
    }
    Ok(rows)
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn push(rows: &mut Vec<Row>, params: &str, samples: &[Duration], goal: &str) {
    let mut secs: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&secs, 50.0), percentile(&secs, 99.0));
    rows.push(
        Row::new(S, params, "edit → visible in Salesforce, p50")
            .value(p50, format!("{p50:.2} s"))
            .note(goal),
    );
    rows.push(
        Row::new(S, params, "edit → visible in Salesforce, p99")
            .value(p99, format!("{p99:.2} s (max of {} samples)", secs.len()))
            .note(goal),
    );
}

async fn mode(ctx: &Ctx, p: &Params, webhooks: bool) -> anyhow::Result<Vec<Duration>> {
    let stack = Stack::start(
        &ctx.infra,
        StackOptions {
            scheduler_tick_ms: TICK_MS,
            ..StackOptions::default()
        },
    )
    .await?;
    let result = samples(&stack, p, webhooks).await;
    stack.stop().await?;
    result
}

async fn samples(stack: &Stack, p: &Params, webhooks: bool) -> anyhow::Result<Vec<Duration>> {
    let opportunity = harness::seed_opportunities(stack, 1)?.remove(0);
    let integration = stack
        .integration(|spec| {
            if webhooks {
                spec.poll_interval_seconds = 3_600;
                spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
                spec.debounce_seconds = p.debounce_s;
            } else {
                spec.poll_interval_seconds = p.poll_interval_s;
            }
        })
        .await?;
    // The scheduler's first cycle creates the item on monday.
    let item = first_created_item(stack, &integration).await?;
    if webhooks {
        stack.monday.register_webhook(
            stack.monday_account,
            stack.board,
            &stack.webhook_url,
            "change_column_value",
            None,
        );
    }
    let mut rng = Rng::new(5);
    let interval = Duration::from_secs(u64::from(p.poll_interval_s));
    let count = if webhooks {
        p.webhook_samples
    } else {
        p.poll_samples
    };
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        if !webhooks {
            // The previous edit became visible right after a cycle: wait a random part of
            // the interval so that edits land anywhere in it.
            tokio::time::sleep(interval.mul_f64(rng.unit())).await;
        }
        let date = harness::date(10 + k);
        let value = json!({"date4": {"date": date}});
        let started = Instant::now();
        if webhooks {
            stack
                .monday
                .edit_item_as(stack.monday_user, item, value)
                .map_err(|e| anyhow::anyhow!("editing item {item}: {e:?}"))?;
        } else {
            stack
                .monday
                .set_values(item, value)
                .map_err(|e| anyhow::anyhow!("editing item {item}: {e}"))?;
        }
        let deadline = started + interval * 2 + Duration::from_secs(60);
        loop {
            let now = stack.salesforce.record(ORG, &opportunity).and_then(|r| {
                r.get("CloseDate")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            });
            if now.as_deref() == Some(date.as_str()) {
                break;
            }
            if Instant::now() > deadline {
                bail!("edit {k} never reached Salesforce");
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
        out.push(started.elapsed());
    }
    Ok(out)
}

/// Waits for the scheduler's first run and returns the item it created.
pub(super) async fn first_created_item(
    stack: &Stack,
    integration: &pb::Integration,
) -> anyhow::Result<i64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = stack
            .history
            .clone()
            .list_runs(stack.authorized(pb::ListRunsRequest {
                integration_id: integration.id.clone(),
                ..Default::default()
            }))
            .await
            .context("ListRuns")?
            .into_inner()
            .runs;
        if let Some(run) = runs
            .into_iter()
            .find(|r| r.status != pb::RunStatus::Running as i32)
        {
            let events = stack
                .history
                .clone()
                .list_events(stack.authorized(pb::ListEventsRequest {
                    run_id: run.id.clone(),
                    ..Default::default()
                }))
                .await
                .context("ListEvents")?
                .into_inner()
                .events;
            let created = events
                .iter()
                .find(|e| e.action == pb::EventAction::Created as i32)
                .context("the first cycle created no item")?;
            return created
                .target_record_id
                .parse()
                .context("the created item's id");
        }
        if Instant::now() > deadline {
            bail!("the scheduler never ran the integration");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
