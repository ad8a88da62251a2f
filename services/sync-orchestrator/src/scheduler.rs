//! The scheduler: a replica reads what changed in mapping-config (integrations created,
//! resumed, paused) into the shared due-queue ([`crate::due`]) every tick, and claims as many
//! due integrations as it has free permits whenever one is due (or a cycle of its own ends),
//! running a cycle of each in the background (`--scheduler-concurrency` at once, so one long
//! cycle holds up no other integration). Any number of replicas run this loop: a claim is
//! exclusive (`SKIP LOCKED`), the lease makes sure one replica works on an integration at a
//! time, and scheduling costs what is due, not what exists. On shutdown the cycles in flight
//! are stopped, their runs closed and their leases given back at once, and their
//! integrations are due again for the other replicas.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::due::Claimed;
use crate::run::{CycleError, Deps};

pub async fn run(deps: Deps, tick: Duration, concurrency: usize, shutdown: CancellationToken) {
    let mut cycles = Cycles {
        permits: Arc::new(Semaphore::new(concurrency)),
        running: Arc::default(),
        tasks: JoinSet::new(),
    };
    let mut feed = Feed::default();
    let mut feed_at = Instant::now();
    loop {
        if Instant::now() >= feed_at {
            feed_at = Instant::now() + tick;
            if let Err(error) = feed.follow(&deps).await {
                tracing::warn!(%error, "reading the integrations' changes failed; trying again next tick");
            }
        }
        let wait = match claim(&deps, &mut cycles, &shutdown).await {
            // Until the next integration is due (a claim an integration's due time later), the
            // next reading of the feed at the latest; a finished cycle wakes the loop too.
            Ok(next_due) => next_due
                .map_or(tick, |due| {
                    let until = (due - OffsetDateTime::now_utc()).as_seconds_f64();
                    Duration::from_secs_f64(until.max(0.0))
                })
                .clamp(
                    MIN_WAIT,
                    feed_at
                        .saturating_duration_since(Instant::now())
                        .max(MIN_WAIT),
                ),
            Err(error) => {
                tracing::warn!(%error, "claiming due integrations failed; trying again next tick");
                tick
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(_) = cycles.tasks.join_next(), if !cycles.tasks.is_empty() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // The cycles in flight saw the same shutdown: each closes its run, gives its lease back
    // and makes its integration due again (what it half did is replayed by the next run).
    while cycles.tasks.join_next().await.is_some() {}
}

/// The shortest pause between two claims: with integrations due every few milliseconds, a
/// replica claims them in small batches a few times a second rather than one by one.
const MIN_WAIT: Duration = Duration::from_millis(50);

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

    /// Starts a cycle of a claimed integration in the background; false when every permit
    /// is taken.
    fn start(&mut self, deps: &Deps, claimed: Claimed, shutdown: &CancellationToken) -> bool {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return false;
        };
        let id = claimed.integration;
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone());
        let (deps, running, shutdown) = (deps.clone(), self.running.clone(), shutdown.clone());
        let late = OffsetDateTime::now_utc() - claimed.due_at;
        self.tasks.spawn(async move {
            let late_ms = late.whole_milliseconds().max(0) as u64;
            match crate::run::scheduled(&deps, &id, &shutdown).await {
                Ok(run) => {
                    tracing::debug!(integration_id = %id, run_id = %run.id, late_ms, "scheduled cycle done")
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

/// Claims as many due integrations as there are free permits and starts their cycles; returns
/// when the next one is due.
async fn claim(
    deps: &Deps,
    cycles: &mut Cycles,
    shutdown: &CancellationToken,
) -> Result<Option<OffsetDateTime>, CycleError> {
    let free = cycles.permits.available_permits();
    if shutdown.is_cancelled() {
        return Ok(None);
    }
    if free > 0 {
        let claims = deps.due.claim(free, deps.claim_hold()).await?;
        let now = OffsetDateTime::now_utc();
        deps.metrics.claimed(
            claims.len(),
            claims.iter().map(|c| (now - c.due_at).as_seconds_f64()),
        );
        for claimed in claims {
            if cycles.is_running(&claimed.integration) {
                continue;
            }
            cycles.start(deps, claimed, shutdown);
        }
    }
    Ok(deps.due.earliest().await?)
}

/// How far back each reading of the change feed starts before the newest change it saw: a
/// change committed late with an earlier time (a slow transaction) is still read.
const FEED_OVERLAP: Duration = Duration::from_secs(10);

/// How often the whole feed is read again from the start, repairing anything missed.
const FEED_REREAD: Duration = Duration::from_secs(3_600);

/// This replica's reading of mapping-config's change feed.
#[derive(Default)]
struct Feed {
    reread_at: Option<std::time::Instant>,
}

impl Feed {
    /// Reads the integrations changed since the shared feed position (the whole list at start
    /// and hourly) into the due-queue.
    async fn follow(&mut self, deps: &Deps) -> Result<(), CycleError> {
        let whole = self.reread_at.is_none_or(|at| at.elapsed() >= FEED_REREAD);
        let since = match deps.due.feed_position().await? {
            Some(at) if !whole => at - FEED_OVERLAP,
            _ => OffsetDateTime::UNIX_EPOCH,
        };
        let mut token = String::new();
        let mut newest = None;
        loop {
            let page = deps
                .peers
                .mapping_config
                .clone()
                .list_integrations(pb::ListIntegrationsRequest {
                    page: Some(pb::PageRequest {
                        page_size: Some(FEED_PAGE),
                        page_token: token,
                    }),
                    changed_since: Some(tandem_proto::timestamp::from_offset(since)),
                    ..Default::default()
                })
                .await?
                .into_inner();
            deps.due.follow(&page.integrations).await?;
            newest = page
                .integrations
                .iter()
                .filter_map(|i| i.updated_at.as_ref())
                .filter_map(tandem_proto::timestamp::to_offset)
                .chain(newest)
                .max();
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        if let Some(at) = newest {
            deps.due.feed_read_to(at).await?;
        }
        if whole {
            self.reread_at = Some(std::time::Instant::now());
        }
        Ok(())
    }
}

/// Integrations per page of the change feed.
const FEED_PAGE: u32 = 500;
