//! Scenario 5, Salesforce → monday with Change Data Capture: a person's edit of an
//! opportunity (a Salesforce change event streamed by the orchestrator into the coalescing
//! buffer), timed until the monday item shows it, with the scheduler running and the poll
//! hourly (so no poll can carry it), 100 ms injected on every call to either simulator (REST,
//! GraphQL) and on every Pub/Sub batch.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use tandem_proto::v1 as pb;

use crate::bench::harness::{self, ORG, Stack, StackOptions};
use crate::bench::latency::{first_created_item, percentile};
use crate::bench::measure::Ctx;
use crate::bench::report::Row;

const S: &str = "5 propagation latency";
const LOOK_EVERY: Duration = Duration::from_millis(5);
const TICK_MS: u64 = 100;
const DEBOUNCE_S: u32 = 1;
/// Injected on both simulators.
const LATENCY: Duration = Duration::from_millis(100);

pub async fn run(ctx: &Ctx, samples: usize) -> anyhow::Result<Vec<Row>> {
    if samples == 0 {
        return Ok(Vec::new());
    }
    let params = format!(
        "Salesforce → monday, change events (CDC), low-latency mode, debounce {DEBOUNCE_S} s, scheduler tick {TICK_MS} ms, {} ms injected on both simulators, {samples} edits",
        LATENCY.as_millis()
    );
    let stack = Stack::start(
        &ctx.infra,
        StackOptions {
            scheduler_tick_ms: TICK_MS,
            change_events: true,
            ..StackOptions::default()
        },
    )
    .await?;
    let result = measure(&stack, samples).await;
    stack.stop().await?;
    let mut rows = Vec::new();
    match result {
        Ok(samples) => {
            let mut secs: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
            secs.sort_by(f64::total_cmp);
            let (p50, p99) = (percentile(&secs, 50.0), percentile(&secs, 99.0));
            let goal = "p50 < 2 s, p99 < 4 s (issue 19)";
            rows.push(
                Row::new(S, &params, "edit → visible on monday, p50")
                    .value(p50, format!("{p50:.2} s"))
                    .note(goal),
            );
            rows.push(
                Row::new(S, &params, "edit → visible on monday, p99")
                    .value(p99, format!("{p99:.2} s (max of {} samples)", secs.len()))
                    .note(goal),
            );
        }
        Err(e) => rows.push(Row::failed(S, params, &e)),
    }
    Ok(rows)
}

async fn measure(stack: &Stack, samples: usize) -> anyhow::Result<Vec<Duration>> {
    let opportunity = harness::seed_opportunities(stack, 1)?.remove(0);
    let integration = stack
        .integration(|spec| {
            spec.poll_interval_seconds = 3_600;
            spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
            spec.debounce_seconds = DEBOUNCE_S;
        })
        .await?;
    let item = first_created_item(stack, &integration).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.salesforce.live_subscriptions() == 0 {
        if Instant::now() > deadline {
            bail!("the orchestrator never subscribed to change events");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stack.salesforce.set_latency(LATENCY);
    stack.salesforce.set_pubsub_delay(LATENCY);
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: LATENCY.as_millis() as u64,
        ..Default::default()
    });
    let admin = stack.salesforce.admin_user_id(ORG);
    let mut out = Vec::with_capacity(samples);
    // The first edit warms up (and lets the poll a starting stream asks for pass).
    for k in 0..=samples {
        let date = harness::date(10 + k);
        let started = Instant::now();
        stack
            .salesforce
            .update_as(ORG, &opportunity, json!({"CloseDate": date}), &admin)
            .map_err(|e| anyhow::anyhow!("editing {opportunity}: {e:?}"))?;
        let deadline = started + Duration::from_secs(60);
        loop {
            let shown = stack.monday.item(item).and_then(|i| {
                i.values
                    .get("date4")?
                    .get("date")?
                    .as_str()
                    .map(str::to_owned)
            });
            if shown.as_deref() == Some(date.as_str()) {
                break;
            }
            if Instant::now() > deadline {
                bail!("edit {k} never reached monday");
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
        if k > 0 {
            out.push(started.elapsed());
        }
    }
    Ok(out)
}
