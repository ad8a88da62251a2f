//! The scheduler: on every tick, each active integration whose poll interval has passed since
//! its last run (or that never ran), or whose buffer holds a record that is due (low-latency
//! mode, webhook-borne changes), gets a cycle. Any number of replicas run this loop; the lease
//! makes sure one of them works on an integration at a time, and the last run is shared in
//! Postgres, so N replicas do not poll N times as often. Cycles run in the background, several
//! at once (`--scheduler-concurrency`), so one long cycle holds up no other integration.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_proto::v1 as pb;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::run::{CycleError, Deps};
use crate::settings::interval_of;

pub async fn run(deps: Deps, tick: Duration, concurrency: usize, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cycles = Cycles {
        permits: Arc::new(Semaphore::new(concurrency)),
        running: Arc::default(),
        tasks: JoinSet::new(),
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(_) = cycles.tasks.join_next(), if !cycles.tasks.is_empty() => continue,
            _ = ticks.tick() => {}
        }
        if let Err(error) = tick_once(&deps, &mut cycles, &shutdown).await {
            tracing::warn!(%error, "scheduler tick failed; trying again next tick");
        }
    }
    // Cycles in flight finish (they hold leases and half-applied batches are replayed anyway,
    // but finishing is cheaper than replaying).
    while cycles.tasks.join_next().await.is_some() {}
}

/// The cycles this replica runs: at most `permits` at once, one per integration.
struct Cycles {
    permits: Arc<Semaphore>,
    running: Arc<Mutex<HashSet<String>>>,
    tasks: JoinSet<()>,
}

impl Cycles {
    fn is_running(&self, id: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// Starts a cycle of `id` in the background; false when every permit is taken.
    fn start(&mut self, deps: &Deps, id: String) -> bool {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return false;
        };
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone());
        let (deps, running) = (deps.clone(), self.running.clone());
        self.tasks.spawn(async move {
            match crate::run::sync(&deps, &id, pb::Trigger::Schedule).await {
                Ok(run) => {
                    tracing::info!(integration_id = %id, run_id = %run.id, "scheduled cycle done")
                }
                Err(CycleError::Busy(_)) => {}
                Err(error) => {
                    tracing::warn!(integration_id = %id, %error, "scheduled cycle failed")
                }
            }
            running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            drop(permit);
        });
        true
    }
}

async fn tick_once(
    deps: &Deps,
    cycles: &mut Cycles,
    shutdown: &CancellationToken,
) -> Result<(), CycleError> {
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
            if shutdown.is_cancelled() || cycles.permits.available_permits() == 0 {
                // The rest wait for the next tick.
                return Ok(());
            }
            if cycles.is_running(&integration.id) || !is_due(deps, &integration).await? {
                continue;
            }
            cycles.start(deps, integration.id);
        }
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(());
        }
    }
}

async fn is_due(deps: &Deps, integration: &pb::Integration) -> Result<bool, CycleError> {
    let interval = interval_of(integration);
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
