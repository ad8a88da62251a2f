//! Salesforce change events in, shared by the replicas: one subscription per org and object,
//! shared by every active integration on that object, streamed by exactly one replica (the
//! holder of its lease). Every replica follows mapping-config's integrations (the change feed,
//! re-read whole now and then to see deletions), works out which subscriptions are wanted,
//! takes the lease of each it can and streams it ([`subscription`]); a subscription no longer
//! wanted (its integrations paused or deleted) is stopped and its lease given back. A replica
//! that dies leaves its leases to expire: another replica then takes them over and resumes
//! from the stored replay position. Dropping [`run`]'s future stops every subscription it
//! started (they live in its `JoinSet`).

mod position;
mod subscription;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use position::{PositionError, Positions, StreamKey};

use crate::deps::Deps;
use crate::run::CycleError;

/// Why a batch could not be handed over.
#[derive(Debug, thiserror::Error)]
pub enum HandOverError {
    #[error(transparent)]
    Cycle(#[from] CycleError),
    #[error("mapping-config: {0}")]
    Remote(#[from] tonic::Status),
    #[error(transparent)]
    Position(#[from] PositionError),
}

/// How often a replica looks at what is wanted (and tries the leases it does not hold).
const TICK: Duration = Duration::from_secs(1);
/// How often the integrations are read whole (deleted ones are not in the change feed).
const REREAD: Duration = Duration::from_secs(60);
/// How far back each reading of the change feed starts before the newest change seen.
const FEED_OVERLAP: Duration = Duration::from_secs(10);

/// Runs this replica's share of the subscriptions until `shutdown` fires.
pub async fn run(deps: Deps, positions: Positions, ttl: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watched = Watched::default();
    let mut running: HashMap<StreamKey, (CancellationToken, tokio::task::Id)> = HashMap::new();
    let mut tasks: JoinSet<StreamKey> = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                // A subscription that lost its lease: forget it, try again next tick.
                if let Ok((id, key)) = done
                    && running.get(&key).is_some_and(|(_, t)| *t == id)
                {
                    running.remove(&key);
                }
                continue;
            }
            _ = ticks.tick() => {}
        }
        let wanted = match watched.wanted(&deps).await {
            Ok(w) => w,
            Err(error) => {
                tracing::warn!(%error, "integrations to stream not read; trying again next tick");
                continue;
            }
        };
        running.retain(|key, (stop, _)| {
            let keep = wanted.contains_key(key) && !stop.is_cancelled();
            if !keep {
                stop.cancel();
            }
            keep
        });
        for (key, connection_id) in wanted {
            if running.contains_key(&key) || shutdown.is_cancelled() {
                continue;
            }
            let lease = match positions.acquire(&key, ttl).await {
                Ok(Some(lease)) => lease,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, "change stream lease not taken");
                    continue;
                }
            };
            let stop = shutdown.child_token();
            let sub = subscription::Subscription {
                deps: deps.clone(),
                positions: positions.clone(),
                lease,
                ttl,
                connection_id,
            };
            let (token, k) = (stop.clone(), key.clone());
            let handle = tasks.spawn(async move {
                sub.run(token).await;
                k
            });
            running.insert(key, (stop, handle.id()));
        }
    }
    // Each subscription saw the shutdown: it gives its lease back and ends.
    while tasks.join_next().await.is_some() {}
}

/// What this replica knows of the active integrations: their connection and object, and the
/// org of each connection.
#[derive(Default)]
struct Watched {
    active: HashMap<String, (String, String)>,
    orgs: HashMap<String, String>,
    newest: Option<OffsetDateTime>,
    reread_at: Option<Instant>,
}

impl Watched {
    /// The subscriptions wanted now, each with the connection (the lowest id among the
    /// integrations on it) whose credentials open it.
    async fn wanted(&mut self, deps: &Deps) -> Result<BTreeMap<StreamKey, String>, tonic::Status> {
        self.follow(deps).await?;
        let mut wanted: BTreeMap<StreamKey, String> = BTreeMap::new();
        let active: Vec<(String, String)> = self.active.values().cloned().collect();
        for (connection, object) in &active {
            let Some(org_id) = self.org_of(deps, connection).await else {
                continue;
            };
            let key = StreamKey {
                org_id,
                object: object.clone(),
            };
            let entry = wanted.entry(key).or_insert_with(|| connection.clone());
            if connection < entry {
                *entry = connection.clone();
            }
        }
        Ok(wanted)
    }

    /// Reads what changed since the last reading (everything, at first and every REREAD).
    async fn follow(&mut self, deps: &Deps) -> Result<(), tonic::Status> {
        let whole = self.reread_at.is_none_or(|at| at.elapsed() >= REREAD);
        let request = match (whole, self.newest) {
            (false, Some(at)) => pb::ListIntegrationsRequest {
                changed_since: Some(tandem_proto::timestamp::from_offset(at - FEED_OVERLAP)),
                ..Default::default()
            },
            _ => pb::ListIntegrationsRequest {
                active_only: true,
                ..Default::default()
            },
        };
        let found = list_all(deps, request).await?;
        if whole {
            self.active.clear();
            self.reread_at = Some(Instant::now());
        }
        for i in found {
            let at = i
                .updated_at
                .as_ref()
                .and_then(tandem_proto::timestamp::to_offset);
            self.newest = self.newest.max(at);
            let spec = i.spec.unwrap_or_default();
            let usable =
                !spec.salesforce_connection_id.is_empty() && !spec.salesforce_object.is_empty();
            if i.state == pb::IntegrationState::Active as i32 && usable {
                self.active.insert(
                    i.id,
                    (spec.salesforce_connection_id, spec.salesforce_object),
                );
            } else {
                self.active.remove(&i.id);
            }
        }
        Ok(())
    }

    /// The org Id of a connection (asked of connector-salesforce once).
    async fn org_of(&mut self, deps: &Deps, connection: &str) -> Option<String> {
        if let Some(org) = self.orgs.get(connection) {
            return Some(org.clone());
        }
        let answer = deps
            .peers
            .salesforce
            .clone()
            .get_organization(pb::GetOrganizationRequest {
                connection_id: connection.to_owned(),
            })
            .await;
        match answer {
            Ok(org) => {
                let id = org.into_inner().id;
                self.orgs.insert(connection.to_owned(), id.clone());
                Some(id)
            }
            Err(status) => {
                tracing::debug!(connection_id = connection, code = ?status.code(), "org of connection unknown; not streamed yet");
                None
            }
        }
    }
}

/// Every page of a listing (the feed pages the same way).
pub(crate) async fn list_all(
    deps: &Deps,
    request: pb::ListIntegrationsRequest,
) -> Result<Vec<pb::Integration>, tonic::Status> {
    let mut found = Vec::new();
    let mut token = String::new();
    loop {
        let page = deps
            .peers
            .mapping_config
            .clone()
            .list_integrations(pb::ListIntegrationsRequest {
                page: Some(pb::PageRequest {
                    page_size: Some(500),
                    page_token: token,
                }),
                ..request.clone()
            })
            .await?
            .into_inner();
        found.extend(page.integrations);
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(found);
        }
    }
}
