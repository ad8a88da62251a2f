//! Step 0, the frame of every run of one integration: take the lease (and keep it while the
//! run lasts), load the settings, open the run in run history, do the work (a cycle or an
//! import), close the run, note it for the scheduler, give the lease back.

use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub use crate::deps::Deps;
use crate::history::{self, Outcome};
use crate::import::Import;
use crate::lease::{Lease, LeaseError};
use crate::settings::{self, LinkKey, Needs};

#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("integration {0} is being synced by another replica right now")]
    Busy(String),
    #[error("integration {0} is paused: {1}")]
    Paused(String, String),
    #[error("integration {id} cannot be synced: {reason}")]
    Settings { id: String, reason: String },
    #[error(transparent)]
    Remote(#[from] tonic::Status),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("sync state: {0}")]
    Store(#[from] sqlx::Error),
    #[error("coalescing buffer: {0}")]
    Buffer(#[from] redis::RedisError),
    /// The replica is shutting down; another one runs the integration next.
    #[error("stopped: the replica running it is shutting down; another replica runs it next")]
    Stopped,
}

/// What a run does once it holds the lease.
enum Work {
    /// Poll since the watermarks, coalesce, merge, write.
    Cycle,
    Import(Import),
}

/// Runs one cycle of `integration_id` now; returns the finished run.
pub async fn sync(
    deps: &Deps,
    integration_id: &str,
    trigger: pb::Trigger,
) -> Result<pb::Run, CycleError> {
    let never = CancellationToken::new();
    run_locked(deps, integration_id, trigger, Work::Cycle, &never, None).await
}

/// The scheduler's cycle of a claimed integration; stopped (its run closed, its lease given
/// back, the integration due again) when `stop` fires.
pub async fn scheduled(
    deps: &Deps,
    integration_id: &str,
    stop: &CancellationToken,
) -> Result<pb::Run, CycleError> {
    run_locked(
        deps,
        integration_id,
        pb::Trigger::Schedule,
        Work::Cycle,
        stop,
        None,
    )
    .await
}

/// An import (backfill) of every record of `source` that matches the conditions, re-linking
/// pairs that share the link key instead of duplicating them; with `dry_run` nothing is
/// written and the run's events say what would have happened. `opened` is told the run's id
/// once the run is open. It stops only when the service does (`Deps::stopping`): callers run
/// it in a task of its own, so that a caller going away does not cut it short.
pub async fn import(
    deps: &Deps,
    integration_id: &str,
    source: CoreSide,
    dry_run: bool,
    link_key: Option<LinkKey>,
    opened: Opened,
) -> Result<pb::Run, CycleError> {
    let trigger = if dry_run {
        pb::Trigger::DryRun
    } else {
        pb::Trigger::Import
    };
    let work = Work::Import(Import {
        source,
        dry_run,
        link_key,
    });
    run_locked(deps, integration_id, trigger, work, &deps.stopping, opened).await
}

/// Told the run's id as soon as it is open (a detached import answers with it).
pub type Opened = Option<tokio::sync::oneshot::Sender<String>>;

async fn run_locked(
    deps: &Deps,
    integration_id: &str,
    trigger: pb::Trigger,
    work: Work,
    stop: &CancellationToken,
    opened: Opened,
) -> Result<pb::Run, CycleError> {
    use tracing::Instrument as _;
    let started = std::time::Instant::now();
    deps.metrics.run_started(trigger);
    // One span per run (a child of the caller's for SyncNow and Import, a root for the
    // scheduler's): its log lines, the "run finished" one included, carry its trace id.
    let span = tracing::info_span!("run", integration_id, trigger = trigger.as_str_name());
    let result = run_leased(deps, integration_id, trigger, work, stop, opened)
        .instrument(span.clone())
        .await;
    let status = crate::metrics::status_name(&result);
    let seconds = started.elapsed().as_secs_f64();
    deps.metrics.run_finished(trigger, status, seconds);
    span.in_scope(|| match &result {
        Ok(run) => {
            let c = run.counters.unwrap_or_default();
            tracing::info!(
                integration_id,
                run_id = %run.id,
                trigger = trigger.as_str_name(),
                status,
                duration_ms = (seconds * 1_000.0) as u64,
                read = c.read,
                created = c.created,
                updated = c.updated,
                failed = c.failed,
                conflicts = c.conflicts,
                "run finished"
            );
        }
        Err(error) => tracing::info!(
            integration_id,
            trigger = trigger.as_str_name(),
            status,
            duration_ms = (seconds * 1_000.0) as u64,
            %error,
            "run failed"
        ),
    });
    result
}

async fn run_leased(
    deps: &Deps,
    integration_id: &str,
    trigger: pb::Trigger,
    work: Work,
    stop: &CancellationToken,
    opened: Opened,
) -> Result<pb::Run, CycleError> {
    let lease = deps
        .leases
        .acquire(integration_id, deps.lease_ttl)
        .await?
        .ok_or_else(|| CycleError::Busy(integration_id.to_owned()))?;
    deps.metrics.lease_taken();
    if let Some(run_id) = &lease.abandoned_run {
        tracing::warn!(
            integration_id,
            run_id,
            "closing a run its stopped replica left open"
        );
        if let Err(error) = history::abandon(deps, run_id).await {
            tracing::warn!(%error, run_id, "could not close the abandoned run");
        }
    }
    // An import reads both sides afresh; so does the run after one that did not fully
    // succeed (a refused record may be the remote's schema having moved on).
    if matches!(work, Work::Import(_)) {
        deps.catalogs.forget(integration_id);
    }
    // The lease is renewed beside the work, in the same future: should the work be dropped
    // (the process killed, a SyncNow caller gone), the renewals stop with it and the lease
    // runs out instead of being held forever by a detached task.
    let (integration, result) = tokio::select! {
        done = run(deps, &lease, trigger, work, stop, opened) => done,
        never = keep(deps, &lease) => match never {},
    };
    if !matches!(&result, Ok(run) if run.status == pb::RunStatus::Succeeded as i32) {
        deps.catalogs.forget(integration_id);
    }
    // A run that failed counts as run too: the scheduler waits a whole interval before
    // trying again instead of hammering a remote that refuses.
    if matches!(
        trigger,
        pb::Trigger::Schedule | pb::Trigger::Manual | pb::Trigger::Webhook
    ) {
        note_for_scheduler(deps, &lease, integration.as_ref(), &result).await;
    }
    if let Err(error) = deps.leases.release(&lease).await {
        tracing::warn!(%error, "lease release failed; it expires on its own");
    }
    deps.metrics.lease_given_back();
    result
}

/// Keeps the lease while the work lasts (a big import outlives one TTL); if it is lost
/// anyway, the epoch fence refuses this holder's commits. Never returns.
async fn keep(deps: &Deps, lease: &Lease) -> std::convert::Infallible {
    let ttl = deps.lease_ttl;
    loop {
        tokio::time::sleep(ttl / 3).await;
        match deps.leases.renew(lease, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(integration_id = %lease.integration, "lease lost mid-cycle");
                return std::future::pending().await;
            }
            Err(error) => tracing::warn!(%error, "lease renewal failed; retrying"),
        }
    }
}

/// Does the work inside a run of run history. Everything after the integration is read —
/// the catalogs included — fails the run visibly (a remote that refuses the describe or the
/// people query leaves a failed run with its message, not nothing). Returns the integration
/// as read, for the scheduler.
async fn run(
    deps: &Deps,
    lease: &Lease,
    trigger: pb::Trigger,
    work: Work,
    stop: &CancellationToken,
    opened: Opened,
) -> (Option<pb::Integration>, Result<pb::Run, CycleError>) {
    let needs = match &work {
        Work::Import(Import { dry_run: true, .. }) => Needs::AnyState,
        _ => Needs::Active,
    };
    let integration = match settings::integration(deps, &lease.integration, needs).await {
        Ok(integration) => integration,
        Err(error) => return (None, Err(error)),
    };
    let result = async {
        let run = history::start(deps, &integration, trigger).await?;
        deps.leases.attach_run(lease, &run.id).await?;
        if let Some(opened) = opened {
            let _ = opened.send(run.id.clone());
        }
        let mut outcome = Outcome::default();
        let result = {
            let work = async {
                let mut settings = settings::load(deps, integration.clone()).await?;
                match work {
                    Work::Cycle => {
                        crate::cycle::cycle(deps, lease, &mut settings, &mut outcome).await
                    }
                    Work::Import(request) => {
                        let run = run.id.as_str();
                        crate::import::import(
                            deps,
                            lease,
                            &mut settings,
                            request,
                            run,
                            &mut outcome,
                        )
                        .await
                    }
                }
            };
            tokio::select! {
                result = work => result,
                () = stop.cancelled() => Err(CycleError::Stopped),
            }
        };
        deps.metrics.outcomes(&outcome.counters, &outcome.events);
        let finished = history::finish(deps, &run, outcome, &result).await?;
        result.map(|()| finished)
    }
    .await;
    (Some(integration), result)
}

/// Tells the scheduler the run is over: its last run (shown by status), its next due time
/// (one interval on, or earlier for changes waiting in its buffer; at once when the run was
/// stopped by a shutdown), or that it is no longer scheduled (paused, deleted).
async fn note_for_scheduler(
    deps: &Deps,
    lease: &Lease,
    integration: Option<&pb::Integration>,
    result: &Result<pb::Run, CycleError>,
) {
    let id = lease.integration.as_str();
    let gone = match result {
        Err(CycleError::Paused(..)) => true,
        // Only the integration's own read: a board or object the remote no longer knows is
        // a failed run to show, not a reason to stop scheduling.
        Err(CycleError::Remote(status)) => {
            integration.is_none() && status.code() == tonic::Code::NotFound
        }
        _ => false,
    };
    let scheduled = async {
        if gone {
            return Ok(deps.due.forget(id).await?);
        }
        let (run_id, status) = match result {
            Ok(run) => (run.id.clone(), run.status as i16),
            Err(_) => (String::new(), pb::RunStatus::Failed as i16),
        };
        let mut tx = deps.store.begin(lease).await?;
        tx.record_run(&run_id, status).await?;
        tx.commit().await?;
        if matches!(result, Err(CycleError::Stopped)) {
            return Ok(deps
                .due
                .wake(&[id.to_owned()], OffsetDateTime::now_utc())
                .await?);
        }
        if let Some(integration) = integration {
            let wake = deps.buffer.earliest_due(id).await?.and_then(|ms| {
                tandem_proto::timestamp::to_offset(&tandem_proto::timestamp::from_millis(ms))
            });
            deps.due.ran(integration, wake).await?;
        }
        Ok::<(), CycleError>(())
    };
    if let Err(error) = scheduled.await {
        tracing::warn!(%error, "could not note the run for the scheduler");
    }
}
