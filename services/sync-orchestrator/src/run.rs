//! Step 0, the frame of every run of one integration: take the lease (and keep it while the
//! run lasts), load the settings, open the run in run history, do the work (a cycle or an
//! import), close the run, note it for the scheduler, give the lease back.

use std::time::Duration;

use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;

pub use crate::deps::Deps;
use crate::history::{self, Outcome};
use crate::import::Import;
use crate::lease::{Lease, LeaseError};
use crate::settings::{self, LinkKey, Needs};

/// How long one run may hold an integration before renewing.
const LEASE_TTL: Duration = Duration::from_secs(300);

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
    run_locked(deps, integration_id, trigger, Work::Cycle).await
}

/// An import (backfill) of every record of `source` that matches the conditions, re-linking
/// pairs that share the link key instead of duplicating them; with `dry_run` nothing is
/// written and the run's events say what would have happened.
pub async fn import(
    deps: &Deps,
    integration_id: &str,
    source: CoreSide,
    dry_run: bool,
    link_key: Option<LinkKey>,
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
    run_locked(deps, integration_id, trigger, work).await
}

async fn run_locked(
    deps: &Deps,
    integration_id: &str,
    trigger: pb::Trigger,
    work: Work,
) -> Result<pb::Run, CycleError> {
    let lease = deps
        .leases
        .acquire(integration_id, LEASE_TTL)
        .await?
        .ok_or_else(|| CycleError::Busy(integration_id.to_owned()))?;
    let keeper = keep(deps, &lease);
    // An import reads both sides afresh; so does the run after one that did not fully
    // succeed (a refused record may be the remote's schema having moved on).
    if matches!(work, Work::Import(_)) {
        deps.catalogs.forget(integration_id);
    }
    let result = run(deps, &lease, trigger, work).await;
    keeper.abort();
    match &result {
        Ok(run) => {
            let c = run.counters.unwrap_or_default();
            tracing::info!(
                integration_id,
                run_id = %run.id,
                status = pb::RunStatus::try_from(run.status).map_or("?", |s| s.as_str_name()),
                read = c.read,
                created = c.created,
                updated = c.updated,
                failed = c.failed,
                conflicts = c.conflicts,
                "run finished"
            );
        }
        Err(error) => tracing::info!(integration_id, %error, "run failed"),
    }
    if !matches!(&result, Ok(run) if run.status == pb::RunStatus::Succeeded as i32) {
        deps.catalogs.forget(integration_id);
    }
    // A run that failed counts as run too: the scheduler waits a whole interval before
    // trying again instead of hammering a remote that refuses.
    if matches!(
        trigger,
        pb::Trigger::Schedule | pb::Trigger::Manual | pb::Trigger::Webhook
    ) {
        note_for_scheduler(deps, &lease, &result).await;
    }
    if let Err(error) = deps.leases.release(&lease).await {
        tracing::warn!(%error, "lease release failed; it expires on its own");
    }
    result
}

/// Keeps the lease while the work lasts (a big import outlives one TTL); if it is lost
/// anyway, the epoch fence refuses this holder's commits.
fn keep(deps: &Deps, lease: &Lease) -> tokio::task::JoinHandle<()> {
    let (leases, lease) = (deps.leases.clone(), lease.clone());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE_TTL / 3).await;
            match leases.renew(&lease, LEASE_TTL).await {
                Ok(true) => {}
                Ok(false) => {
                    return tracing::warn!(integration_id = %lease.integration, "lease lost mid-cycle");
                }
                Err(error) => tracing::warn!(%error, "lease renewal failed; retrying"),
            }
        }
    })
}

/// Does the work inside a run of run history. Everything after the integration is read —
/// the catalogs included — fails the run visibly (a remote that refuses the describe or the
/// people query leaves a failed run with its message, not nothing).
async fn run(
    deps: &Deps,
    lease: &Lease,
    trigger: pb::Trigger,
    work: Work,
) -> Result<pb::Run, CycleError> {
    let needs = match &work {
        Work::Import(Import { dry_run: true, .. }) => Needs::AnyState,
        _ => Needs::Active,
    };
    let integration = settings::integration(deps, &lease.integration, needs).await?;
    let run = history::start(deps, &integration, trigger).await?;
    let mut outcome = Outcome::default();
    let result = async {
        let mut settings = settings::load(deps, integration).await?;
        match work {
            Work::Cycle => crate::cycle::cycle(deps, lease, &mut settings, &mut outcome).await,
            Work::Import(request) => {
                crate::import::import(deps, lease, &mut settings, request, &mut outcome).await
            }
        }
    }
    .await;
    let finished = history::finish(deps, &run, outcome, &result).await?;
    result.map(|()| finished)
}

async fn note_for_scheduler(deps: &Deps, lease: &Lease, result: &Result<pb::Run, CycleError>) {
    let (run_id, status) = match result {
        Ok(run) => (run.id.clone(), run.status as i16),
        Err(_) => (String::new(), pb::RunStatus::Failed as i16),
    };
    let recorded = async {
        let mut tx = deps.store.begin(lease).await?;
        tx.record_run(&run_id, status).await?;
        tx.commit().await?;
        Ok::<(), CycleError>(())
    };
    if let Err(error) = recorded.await {
        tracing::warn!(%error, "could not note the run for the scheduler");
    }
}
