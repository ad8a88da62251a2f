//! The scheduler: on every tick, each active integration whose poll interval has passed since
//! its last run (or that never ran), or whose buffer holds a record that is due (low-latency
//! mode, webhook-borne changes), gets a cycle. Any number of replicas run this loop; the lease
//! makes sure one of them works on an integration at a time, and the last run is shared in
//! Postgres, so N replicas do not poll N times as often.

use std::time::Duration;

use tandem_proto::v1 as pb;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::cycle::{CycleError, Deps};

/// The poll interval when an integration sets none (the original app's 3 minutes).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(180);

pub async fn run(deps: Deps, tick: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = tick_once(&deps, &shutdown).await {
            tracing::warn!(%error, "scheduler tick failed; trying again next tick");
        }
    }
}

async fn tick_once(deps: &Deps, shutdown: &CancellationToken) -> Result<(), CycleError> {
    let mut token = String::new();
    loop {
        let page = deps
            .peers
            .mapping_config
            .clone()
            .list_integrations(pb::ListIntegrationsRequest {
                page: Some(pb::PageRequest {
                    page_size: None,
                    page_token: token,
                }),
                active_only: true,
                board_id: String::new(),
            })
            .await?
            .into_inner();
        for integration in page.integrations {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            if !is_due(deps, &integration).await? {
                continue;
            }
            match crate::cycle::sync(deps, &integration.id, pb::Trigger::Schedule).await {
                Ok(run) => {
                    tracing::info!(integration_id = %integration.id, run_id = %run.id, "scheduled cycle done")
                }
                Err(CycleError::Busy(_)) => {}
                Err(error) => {
                    tracing::warn!(integration_id = %integration.id, %error, "scheduled cycle failed")
                }
            }
        }
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(());
        }
    }
}

async fn is_due(deps: &Deps, integration: &pb::Integration) -> Result<bool, CycleError> {
    let interval = match integration
        .spec
        .as_ref()
        .map_or(0, |s| s.poll_interval_seconds)
    {
        0 => DEFAULT_INTERVAL,
        s => Duration::from_secs(u64::from(s)),
    };
    let now = OffsetDateTime::now_utc();
    let polled_due = match deps.store.last_run(&integration.id).await? {
        None => true,
        Some((at, _, _)) => at + interval <= now,
    };
    if polled_due {
        return Ok(true);
    }
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    Ok(deps
        .buffer
        .earliest_due(&integration.id)
        .await?
        .is_some_and(|due| due <= now_ms))
}
