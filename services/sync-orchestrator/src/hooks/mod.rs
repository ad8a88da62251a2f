//! monday webhooks Tandem registers itself, mirroring how [`crate::stream`] follows the
//! integrations: every replica reads mapping-config's change feed (re-read whole now and then
//! to see deletions), works out which boards want webhooks (those of active integrations that
//! take changes from monday), and reconciles `sync.monday_webhooks` with it — registering the
//! missing event types through connector-monday's CreateWebhook (monday challenges the URL,
//! which connector-monday's ingress answers), deleting those of boards no longer wanted
//! (every integration on the board paused or deleted). A per-board advisory lock makes one
//! replica at a time change a board. What is stored is checked against monday's own listing
//! when a replica starts (and every few hours): a webhook deleted behind Tandem's back is
//! registered again.

mod store;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tonic::Code;

pub use store::{Registered, Registrations};

use crate::deps::Deps;

/// The event types registered per board: everything that changes an item's values, creates
/// one, or takes it away or back (the ingress turns each into a hint to re-read the item).
pub const EVENTS: &[&str] = &[
    "change_column_value",
    "change_name",
    "create_item",
    "item_archived",
    "item_deleted",
    "item_restored",
];

/// How often a replica looks at what is wanted.
const TICK: Duration = Duration::from_secs(1);
/// How often the integrations are read whole (deleted ones are not in the change feed).
const REREAD: Duration = Duration::from_secs(60);
/// How far back each reading of the change feed starts before the newest change seen.
const FEED_OVERLAP: Duration = Duration::from_secs(10);
/// How often a board's registrations are checked against monday's listing (one API call).
const VERIFY: Duration = Duration::from_secs(6 * 3_600);
/// How long a board whose reconciliation failed waits before the next try.
const BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
enum HookError {
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    #[error("connector-monday: {0}")]
    Remote(#[from] tonic::Status),
}

/// Runs this replica's reconciliation until `shutdown` fires; `url` is where monday posts.
pub async fn run(
    deps: Deps,
    registrations: Registrations,
    url: String,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reconciler = Reconciler {
        deps,
        registrations,
        url,
        watched: Watched::default(),
        verified: HashMap::new(),
        failed: HashMap::new(),
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        if let Err(error) = reconciler.tick().await {
            tracing::warn!(%error, "monday webhooks not reconciled; trying again next tick");
        }
    }
}

struct Reconciler {
    deps: Deps,
    registrations: Registrations,
    url: String,
    watched: Watched,
    /// When each board's registrations were last checked against monday.
    verified: HashMap<String, Instant>,
    /// Boards whose last reconciliation failed, and when to try again.
    failed: HashMap<String, Instant>,
}

impl Reconciler {
    async fn tick(&mut self) -> Result<(), HookError> {
        let wanted = self.watched.wanted(&self.deps).await?;
        let stored = self.registrations.boards().await?;
        self.failed.retain(|_, at| at.elapsed() < BACKOFF);
        for (board, connection) in &wanted {
            if self.failed.contains_key(board) {
                continue;
            }
            if let Err(error) = self.ensure(board, connection).await {
                tracing::warn!(board_id = %board, %error, "monday webhooks not registered");
                self.failed.insert(board.clone(), Instant::now());
            }
        }
        for board in stored.iter().filter(|b| !wanted.contains_key(*b)) {
            if self.failed.contains_key(board) {
                continue;
            }
            if let Err(error) = self.remove(board).await {
                tracing::warn!(board_id = %board, %error, "monday webhooks not deleted");
                self.failed.insert(board.clone(), Instant::now());
            }
        }
        Ok(())
    }

    /// Registers what the board lacks (after checking monday's listing if due).
    async fn ensure(&mut self, board: &str, connection: &str) -> Result<(), HookError> {
        let verify = self
            .verified
            .get(board)
            .is_none_or(|at| at.elapsed() >= VERIFY);
        let mut have = self.registrations.of_board(board).await?;
        let complete = have.len() == EVENTS.len() && have.iter().all(|h| h.url == self.url);
        if complete && !verify {
            return Ok(());
        }
        let Some(lock) = self.registrations.lock(board).await? else {
            return Ok(());
        };
        let done = self
            .ensure_locked(board, connection, verify, &mut have)
            .await;
        lock.release().await;
        done
    }

    async fn ensure_locked(
        &mut self,
        board: &str,
        connection: &str,
        verify: bool,
        have: &mut Vec<Registered>,
    ) -> Result<(), HookError> {
        // Another replica may have changed them before we held the lock.
        *have = self.registrations.of_board(board).await?;
        let monday = self.deps.peers.monday.clone();
        if verify && !have.is_empty() {
            let listed = monday
                .clone()
                .list_webhooks(pb::ListWebhooksRequest {
                    connection_id: connection.to_owned(),
                    board_id: board.to_owned(),
                })
                .await?
                .into_inner()
                .webhooks;
            for gone in have
                .iter()
                .filter(|h| !listed.iter().any(|l| l.id == h.webhook_id))
            {
                tracing::info!(board_id = board, event = %gone.event, webhook_id = %gone.webhook_id, "monday webhook missing at monday; registering it again");
                self.registrations.remove(board, &gone.event).await?;
            }
            have.retain(|h| listed.iter().any(|l| l.id == h.webhook_id));
        }
        if verify {
            self.verified.insert(board.to_owned(), Instant::now());
        }
        // A webhook posting to another URL (the public URL changed) goes first.
        for stale in have.iter().filter(|h| h.url != self.url) {
            delete_at_monday(&self.deps, stale).await?;
            self.registrations.remove(board, &stale.event).await?;
        }
        have.retain(|h| h.url == self.url);
        for event in EVENTS
            .iter()
            .filter(|e| !have.iter().any(|h| h.event == **e))
        {
            let hook = monday
                .clone()
                .create_webhook(pb::CreateWebhookRequest {
                    connection_id: connection.to_owned(),
                    board_id: board.to_owned(),
                    url: self.url.clone(),
                    event: (*event).to_owned(),
                })
                .await?
                .into_inner();
            let registered = Registered {
                event: (*event).to_owned(),
                webhook_id: hook.id,
                connection_id: connection.to_owned(),
                url: self.url.clone(),
            };
            self.registrations.insert(board, &registered).await?;
            tracing::info!(board_id = board, event, webhook_id = %registered.webhook_id, "monday webhook registered");
        }
        Ok(())
    }

    /// Deletes a board's webhooks at monday, then forgets them.
    async fn remove(&mut self, board: &str) -> Result<(), HookError> {
        let Some(lock) = self.registrations.lock(board).await? else {
            return Ok(());
        };
        let done = async {
            for hook in self.registrations.of_board(board).await? {
                delete_at_monday(&self.deps, &hook).await?;
                self.registrations.remove(board, &hook.event).await?;
                tracing::info!(board_id = board, event = %hook.event, webhook_id = %hook.webhook_id, "monday webhook deleted");
            }
            Ok(())
        }
        .await;
        lock.release().await;
        self.verified.remove(board);
        done
    }
}

/// Deletes one webhook at monday; one monday no longer has counts as deleted.
async fn delete_at_monday(deps: &Deps, hook: &Registered) -> Result<(), HookError> {
    let deleted = deps
        .peers
        .monday
        .clone()
        .delete_webhook(pb::DeleteWebhookRequest {
            connection_id: hook.connection_id.clone(),
            webhook_id: hook.webhook_id.clone(),
        })
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(status) if status.code() == Code::NotFound => Ok(()),
        Err(status) => Err(status.into()),
    }
}

/// Whether an integration takes changes from monday (two-way or monday → Salesforce).
fn reads_monday(spec: &pb::IntegrationSpec) -> bool {
    spec.scope != pb::Scope::SalesforceToMonday as i32
}

/// What this replica knows of the active integrations that take monday changes: their
/// monday connection and board.
#[derive(Default)]
struct Watched {
    active: HashMap<String, (String, String)>,
    newest: Option<OffsetDateTime>,
    reread_at: Option<Instant>,
}

impl Watched {
    /// The boards wanted now, each with the connection (the lowest id among the integrations
    /// on it) that registers its webhooks.
    async fn wanted(&mut self, deps: &Deps) -> Result<BTreeMap<String, String>, tonic::Status> {
        self.follow(deps).await?;
        let mut wanted: BTreeMap<String, String> = BTreeMap::new();
        for (connection, board) in self.active.values() {
            let entry = wanted
                .entry(board.clone())
                .or_insert_with(|| connection.clone());
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
        let found = crate::stream::list_all(deps, request).await?;
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
            let usable = !spec.monday_connection_id.is_empty()
                && !spec.board_id.is_empty()
                && reads_monday(&spec);
            if i.state == pb::IntegrationState::Active as i32 && usable {
                self.active
                    .insert(i.id, (spec.monday_connection_id, spec.board_id));
            } else {
                self.active.remove(&i.id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_integrations_that_take_monday_changes_want_webhooks() {
        let spec = |scope: pb::Scope| pb::IntegrationSpec {
            scope: scope as i32,
            ..Default::default()
        };
        assert!(reads_monday(&spec(pb::Scope::TwoWay)));
        assert!(reads_monday(&spec(pb::Scope::MondayToSalesforce)));
        assert!(!reads_monday(&spec(pb::Scope::SalesforceToMonday)));
    }
}
