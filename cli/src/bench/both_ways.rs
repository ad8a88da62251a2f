//! Scenario 5, real time both ways: monday → Salesforce through the webhooks Tandem registered
//! itself (a person's edit of an item, timed until the opportunity shows it), then a burst of
//! edits on both sides (Salesforce's borne by change events, monday's by webhooks) and, once
//! both sides agree, what the echoes and two quiet cycles write: nothing, if Tandem's own
//! writes (which come back as change events and webhooks) move nothing. Polls hourly, the
//! scheduler running, 100 ms injected on every call to either simulator and every Pub/Sub
//! batch.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use tandem_proto::v1 as pb;

use crate::bench::harness::{self, ORG, Stack, StackOptions};
use crate::bench::latency::percentile;
use crate::bench::measure::Ctx;
use crate::bench::report::Row;

const S: &str = "5 propagation latency";
const LOOK_EVERY: Duration = Duration::from_millis(5);
const TICK_MS: u64 = 100;
const DEBOUNCE_S: u32 = 1;
/// Injected on both simulators.
const LATENCY: Duration = Duration::from_millis(100);
/// Edits on each side in the burst.
const BURST: usize = 10;
/// The event types the orchestrator registers per board.
const HOOKS: usize = 6;

pub async fn run(ctx: &Ctx, samples: usize) -> anyhow::Result<Vec<Row>> {
    if samples == 0 {
        return Ok(Vec::new());
    }
    let stack = Stack::start(
        &ctx.infra,
        StackOptions {
            scheduler_tick_ms: TICK_MS,
            change_events: true,
            monday_webhooks: true,
            ..StackOptions::default()
        },
    )
    .await?;
    let result = measure(&stack, samples).await;
    stack.stop().await?;
    let latency = format!(
        "monday → Salesforce, webhooks Tandem registered itself, low-latency mode, debounce {DEBOUNCE_S} s, scheduler tick {TICK_MS} ms, {} ms injected on both simulators, {samples} edits",
        LATENCY.as_millis()
    );
    let echo = format!(
        "after a burst of {BURST} Salesforce edits (change events) and {BURST} monday edits (webhooks) on one pair, both sides agreeing, {} ms injected",
        LATENCY.as_millis()
    );
    let mut rows = Vec::new();
    match result {
        Ok(m) => {
            let mut secs: Vec<f64> = m.samples.iter().map(Duration::as_secs_f64).collect();
            secs.sort_by(f64::total_cmp);
            let (p50, p99) = (percentile(&secs, 50.0), percentile(&secs, 99.0));
            let goal = "p50 < 2 s, p99 < 4 s (issue 19)";
            rows.push(
                Row::new(S, &latency, "edit → visible in Salesforce, p50")
                    .value(p50, format!("{p50:.2} s"))
                    .goal(goal, p50 < 2.0 && p99 < 4.0),
            );
            rows.push(
                Row::new(S, &latency, "edit → visible in Salesforce, p99")
                    .value(p99, format!("{p99:.2} s (max of {} samples)", secs.len()))
                    .goal(goal, p50 < 2.0 && p99 < 4.0),
            );
            rows.push(
                Row::new(S, &echo, "writes by the cycles the echoes woke")
                    .value(
                        m.echo_writes as f64,
                        format!("{} (in {} cycles)", m.echo_writes, m.echo_runs),
                    )
                    .goal("0 (no echo)", m.echo_writes == 0),
            );
            rows.push(
                Row::new(S, &echo, "writes by two quiet cycles")
                    .value(m.quiet_writes as f64, m.quiet_writes.to_string())
                    .goal("0 (no echo)", m.quiet_writes == 0),
            );
        }
        Err(e) => {
            rows.push(Row::failed(S, latency, &e));
            rows.push(Row::failed(S, echo, &e));
        }
    }
    Ok(rows)
}

struct Measured {
    samples: Vec<Duration>,
    echo_runs: usize,
    echo_writes: u64,
    quiet_writes: u64,
}

fn writes(run: &pb::Run) -> u64 {
    run.counters.map_or(0, |c| c.created + c.updated)
}

async fn measure(stack: &Stack, samples: usize) -> anyhow::Result<Measured> {
    let integration = stack
        .integration(|spec| {
            spec.poll_interval_seconds = 3_600;
            spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
            spec.debounce_seconds = DEBOUNCE_S;
        })
        .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.salesforce.live_subscriptions() == 0
        || stack
            .monday
            .webhooks()
            .iter()
            .filter(|w| w.board_id == stack.board)
            .count()
            < HOOKS
    {
        if Instant::now() > deadline {
            bail!("the orchestrator never subscribed to change events and registered its webhooks");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The pair: an opportunity made now, carried to monday by its change event.
    let opportunity = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            json!({"Name": "Both ways", "StageName": "Prospecting", "CloseDate": harness::date(1)}),
        )
        .map_err(|e| anyhow::anyhow!("creating the opportunity: {e:?}"))?;
    let item = loop {
        if let Some(i) = stack
            .monday
            .items(stack.board)
            .into_iter()
            .find(|i| i.name == "Both ways")
        {
            break i.id;
        }
        if Instant::now() > deadline {
            bail!("the opportunity never reached monday");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stack.salesforce.set_latency(LATENCY);
    stack.salesforce.set_pubsub_delay(LATENCY);
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: LATENCY.as_millis() as u64,
        ..Default::default()
    });
    let close_date = |stack: &Stack| {
        stack.salesforce.record(ORG, &opportunity).and_then(|r| {
            r.get("CloseDate")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
    };
    let mut out = Vec::with_capacity(samples);
    // The first edit warms up.
    for k in 0..=samples {
        let date = harness::date(40 + k);
        let started = Instant::now();
        stack
            .monday
            .edit_item_as(stack.monday_user, item, json!({"date4": {"date": date}}))
            .map_err(|e| anyhow::anyhow!("editing item {item}: {e:?}"))?;
        let deadline = started + Duration::from_secs(60);
        while close_date(stack).as_deref() != Some(date.as_str()) {
            if Instant::now() > deadline {
                bail!("edit {k} never reached Salesforce");
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
        if k > 0 {
            out.push(started.elapsed());
        }
    }

    // The burst: Salesforce edits the stage, monday the date, interleaved.
    let admin = stack.salesforce.admin_user_id(ORG);
    let mut last = (String::new(), 0);
    for k in 0..BURST {
        let (stage, index) = harness::stage(k + 1);
        stack
            .salesforce
            .update_as(ORG, &opportunity, json!({"StageName": stage}), &admin)
            .map_err(|e| anyhow::anyhow!("editing {opportunity}: {e:?}"))?;
        let date = harness::date(100 + k);
        stack
            .monday
            .edit_item_as(stack.monday_user, item, json!({"date4": {"date": date}}))
            .map_err(|e| anyhow::anyhow!("editing item {item}: {e:?}"))?;
        last = (date, index);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = stack
            .monday
            .item(item)
            .and_then(|i| i.values.get("status")?.get("index")?.as_u64());
        if close_date(stack).as_deref() == Some(last.0.as_str()) && shown == Some(last.1) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the burst never converged");
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
    let agreed = runs(stack, &integration).await?;
    settle(stack, &integration).await?;
    let echoes: Vec<pb::Run> = runs(stack, &integration)
        .await?
        .into_iter()
        .filter(|r| !agreed.iter().any(|a| a.id == r.id))
        .collect();
    let echo_writes = echoes.iter().map(writes).sum();
    let mut quiet_writes = 0;
    for _ in 0..2 {
        quiet_writes += writes(&stack.sync(&integration).await?);
    }
    Ok(Measured {
        samples: out,
        echo_runs: echoes.len(),
        echo_writes,
        quiet_writes,
    })
}

async fn runs(stack: &Stack, integration: &pb::Integration) -> anyhow::Result<Vec<pb::Run>> {
    Ok(stack
        .history
        .clone()
        .list_runs(stack.authorized(pb::ListRunsRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        }))
        .await?
        .into_inner()
        .runs)
}

/// Waits until nothing is buffered or running on three readings in a row, half a second
/// apart (longer than an echo takes to arrive), with no run in between.
async fn settle(stack: &Stack, integration: &pb::Integration) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut quiet_readings = 0;
    let mut seen = usize::MAX;
    while quiet_readings < 3 {
        if Instant::now() > deadline {
            bail!("the integration never settled after the burst");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let pending = stack.status(integration).await?.pending_changes;
        let all = runs(stack, integration).await?;
        let running = all
            .iter()
            .any(|r| r.status == pb::RunStatus::Running as i32);
        let idle = pending == 0 && !running && all.len() == seen;
        quiet_readings = if idle { quiet_readings + 1 } else { 0 };
        seen = all.len();
    }
    Ok(())
}
