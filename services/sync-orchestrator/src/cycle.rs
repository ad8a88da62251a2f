//! One sync cycle of one integration: poll both sides since the watermarks, coalesce into the
//! buffer, claim, plan each record (plan.rs), write in batches through the connectors, then
//! record links, shadows, intents and watermarks under the lease fence, and the outcome of
//! every record in run history.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_catalog::{Board, Object};
use tandem_core::merge::{Action, Side as CoreSide};
use tandem_core::{
    Condition, ConflictPolicy, ConvertContext, Direction, FieldMapping, MappingOptions, MondayKind,
    SalesforceKind, Shadow, UserMap,
};
use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::monday_connector_client::MondayConnectorClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::salesforce_connector_client::SalesforceConnectorClient;
use tandem_service::client::PeerChannel;

use crate::buffer::Buffer;
use crate::lease::{Lease, LeaseError, Leases};
use crate::plan::{self, Create, Rules, Scope};
use crate::records;
use crate::store::{Link, Side, Store};

/// How long one cycle may hold an integration.
const LEASE_TTL: Duration = Duration::from_secs(300);
/// Records claimed from the buffer per cycle.
const CLAIM_LIMIT: usize = 50_000;
/// Most writes one WriteRecords may carry (connector-salesforce's cap).
const SALESFORCE_WRITES_PER_CALL: usize = 10_000;
/// Writes per WriteItems call: within connector-monday's cap of 5,000, and a multiple of the
/// 499 mutations monday's per-request complexity cap allows, so splitting a cycle's writes
/// into calls costs no extra request.
const MONDAY_WRITES_PER_CALL: usize = 4_990;

/// The clients a cycle calls, all as the orchestrator's service identity.
#[derive(Clone)]
pub struct Peers {
    pub mapping_config: MappingConfigClient<PeerChannel>,
    pub salesforce: SalesforceConnectorClient<PeerChannel>,
    pub monday: MondayConnectorClient<PeerChannel>,
    pub history: RunHistoryClient<PeerChannel>,
}

#[derive(Clone)]
pub struct Deps {
    pub peers: Peers,
    pub store: Store,
    pub buffer: Buffer,
    pub leases: Leases,
    /// What each integration's cycles read about both sides, reused for a while.
    pub catalogs: Catalogs,
}

/// How long a cycle reuses the board, the object, the org's zone and the people directory it
/// read: a quiet cycle then costs one poll per side, and a board or describe change is seen
/// within this long (as Salesforce describes are cached by the connector).
const CATALOG_TTL: Duration = Duration::from_secs(300);

/// Per integration: what `Cycle::load` read from the remotes, with when and for which version
/// of the integration's settings.
#[derive(Clone, Default)]
pub struct Catalogs(Arc<Mutex<HashMap<String, Arc<Catalog>>>>);

struct Catalog {
    read_at: Instant,
    version: i64,
    object: pb::DescribeObjectResponse,
    board: pb::GetBoardResponse,
    time_zone: String,
    users: UserMap,
}

impl Catalogs {
    fn fresh(&self, integration: &str, version: i64) -> Option<Arc<Catalog>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(integration)
            .filter(|c| c.version == version && c.read_at.elapsed() < CATALOG_TTL)
            .cloned()
    }

    fn put(&self, integration: &str, catalog: Arc<Catalog>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| c.read_at.elapsed() < CATALOG_TTL);
        map.insert(integration.to_owned(), catalog);
    }

    /// Forgets an integration's catalog (its next cycle reads both sides again).
    pub fn forget(&self, integration: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(integration);
    }
}

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
    link_key: Option<(String, String)>,
) -> Result<pb::Run, CycleError> {
    let trigger = if dry_run {
        pb::Trigger::DryRun
    } else {
        pb::Trigger::Import
    };
    let work = Work::Import {
        source,
        dry_run,
        link_key,
    };
    run_locked(deps, integration_id, trigger, work).await
}

/// What a run does once it holds the lease.
enum Work {
    /// Poll since the watermarks, coalesce, merge, write.
    Cycle,
    Import {
        source: CoreSide,
        dry_run: bool,
        /// (monday column, Salesforce field) overriding the integration's link key.
        link_key: Option<(String, String)>,
    },
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
    // Keep the lease while the work lasts (a big import outlives one TTL); if it is lost
    // anyway, the epoch fence refuses this holder's commits.
    let keeper = {
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
    };
    // An import reads both sides afresh; so does the cycle after one that did not fully
    // succeed (a refused record may be the remote's schema having moved on).
    if matches!(work, Work::Import { .. }) {
        deps.catalogs.forget(integration_id);
    }
    let result = match Cycle::load(deps, &lease).await {
        Ok(cycle) => cycle.run(trigger, work).await,
        Err(e) => Err(e),
    };
    keeper.abort();
    if !matches!(&result, Ok(run) if run.status == pb::RunStatus::Succeeded as i32) {
        deps.catalogs.forget(integration_id);
    }
    // A cycle that failed counts as run too: the scheduler waits a whole interval before
    // trying again instead of hammering a remote that refuses.
    if matches!(
        trigger,
        pb::Trigger::Schedule | pb::Trigger::Manual | pb::Trigger::Webhook
    ) {
        let (run_id, status) = match &result {
            Ok(run) => (run.id.clone(), run.status as i16),
            Err(_) => (String::new(), pb::RunStatus::Failed as i16),
        };
        let recorded = async {
            let mut tx = deps.store.begin(&lease).await?;
            tx.record_run(&run_id, status).await?;
            tx.commit().await?;
            Ok::<(), CycleError>(())
        };
        if let Err(error) = recorded.await {
            tracing::warn!(%error, "could not note the run for the scheduler");
        }
    }
    if let Err(error) = deps.leases.release(&lease).await {
        tracing::warn!(%error, "lease release failed; it expires on its own");
    }
    result
}

struct Cycle<'a> {
    deps: &'a Deps,
    lease: &'a Lease,
    integration: pb::Integration,
    spec: pb::IntegrationSpec,
    rules: Rules,
    /// People ↔ User by email, looked up once per cycle when a mapping needs it.
    users: UserMap,
    /// The Salesforce org's default time zone (`TimeZoneSidKey`).
    time_zone: String,
}

fn settings_error(id: &str, reason: impl Into<String>) -> CycleError {
    CycleError::Settings {
        id: id.to_owned(),
        reason: reason.into(),
    }
}

/// The integration's mappings as tandem-core mappings; in a one-way scope every mapping runs
/// the scope's way.
fn rules_of(
    id: &str,
    spec: &pb::IntegrationSpec,
    object: &Object,
    board: &Board,
) -> Result<Rules, CycleError> {
    let scope = match spec.scope() {
        pb::Scope::MondayToSalesforce => Scope::MondayToSalesforce,
        pb::Scope::SalesforceToMonday => Scope::SalesforceToMonday,
        _ => Scope::TwoWay,
    };
    let mut mappings = Vec::with_capacity(spec.mappings.len());
    for (i, m) in spec.mappings.iter().enumerate() {
        let field = object.fields.get(&m.salesforce_field).ok_or_else(|| {
            settings_error(
                id,
                format!(
                    "mappings[{i}].salesforce_field `{}` no longer exists",
                    m.salesforce_field
                ),
            )
        })?;
        let column = board.columns.get(&m.monday_column_id).ok_or_else(|| {
            settings_error(
                id,
                format!(
                    "mappings[{i}].monday_column_id `{}` no longer exists",
                    m.monday_column_id
                ),
            )
        })?;
        let direction = match scope {
            Scope::MondayToSalesforce => Direction::MondayToSalesforce,
            Scope::SalesforceToMonday => Direction::SalesforceToMonday,
            Scope::TwoWay => match m.direction() {
                pb::Direction::MondayToSalesforce => Direction::MondayToSalesforce,
                pb::Direction::SalesforceToMonday => Direction::SalesforceToMonday,
                _ => Direction::Both,
            },
        };
        let options = m.options.clone().unwrap_or_default();
        let options = MappingOptions {
            create_labels: options.create_missing_labels,
            truncate_text: options.truncate,
            ..MappingOptions::default()
        };
        let mapping = FieldMapping::validated(field.clone(), column.clone(), direction, options)
            .map_err(|e| settings_error(id, format!("mappings[{i}]: {e}")))?;
        mappings.push(mapping);
    }
    let condition = |c: &Option<pb::Conditions>, name: &str| -> Result<Condition, CycleError> {
        match c.as_ref().map(|c| c.json.trim()).filter(|j| !j.is_empty()) {
            None => Ok(Condition::Any),
            Some(json) => {
                serde_json::from_str(json).map_err(|e| settings_error(id, format!("{name}: {e}")))
            }
        }
    };
    Ok(Rules {
        mappings,
        scope,
        policy: match spec.conflict_policy() {
            pb::ConflictPolicy::SalesforceWins => ConflictPolicy::SalesforceWins,
            pb::ConflictPolicy::MondayWins => ConflictPolicy::MondayWins,
            _ => ConflictPolicy::NewestWins,
        },
        incoming: condition(&spec.incoming_conditions, "incoming_conditions")?,
        outgoing: condition(&spec.outgoing_conditions, "outgoing_conditions")?,
    })
}

/// Reads what a cycle needs to know about both sides: the object's describe, the board, the
/// org's time zone (the connectors cache the first and third), and the people directory.
async fn read_catalog(
    deps: &Deps,
    id: &str,
    spec: &pb::IntegrationSpec,
) -> Result<Catalog, CycleError> {
    let (mut salesforce, mut monday) = (deps.peers.salesforce.clone(), deps.peers.monday.clone());
    let mut org = salesforce.clone();
    let (object, board, org) = tokio::try_join!(
        salesforce.describe_object(pb::DescribeObjectRequest {
            connection_id: spec.salesforce_connection_id.clone(),
            object: spec.salesforce_object.clone(),
        }),
        monday.get_board(pb::GetBoardRequest {
            connection_id: spec.monday_connection_id.clone(),
            board_id: spec.board_id.clone(),
        }),
        // Dates and datetimes convert in the org's default zone.
        org.get_organization(pb::GetOrganizationRequest {
            connection_id: spec.salesforce_connection_id.clone(),
        }),
    )?;
    let (object, board) = (object.into_inner(), board.into_inner());
    let rules = rules_of(
        id,
        spec,
        &Object::from_proto(&object),
        &Board::from_proto(&board),
    )?;
    let users = user_directory(deps, spec, &rules).await?;
    Ok(Catalog {
        read_at: Instant::now(),
        version: 0,
        object,
        board,
        time_zone: org.into_inner().time_zone,
        users,
    })
}

/// The people of both sides matched by email, when a mapping involves a Salesforce user
/// field or a monday people column: monday's users, and the active Salesforce Users with
/// those emails (one query).
async fn user_directory(
    deps: &Deps,
    spec: &pb::IntegrationSpec,
    rules: &Rules,
) -> Result<UserMap, CycleError> {
    let mut users = UserMap::new();
    let needed = rules
        .mappings
        .iter()
        .any(|m| m.salesforce.kind == SalesforceKind::User || m.monday.kind == MondayKind::People);
    if !needed {
        return Ok(users);
    }
    let monday_users = deps
        .peers
        .monday
        .clone()
        .list_users(pb::ListUsersRequest {
            connection_id: spec.monday_connection_id.clone(),
        })
        .await?
        .into_inner()
        .users;
    let emails: Vec<String> = monday_users
        .iter()
        .map(|u| u.email.clone())
        .filter(|e| !e.is_empty())
        .collect();
    for user in &monday_users {
        if let Ok(id) = user.id.parse::<u64>() {
            users.add_monday_user(id, &user.email);
        }
    }
    if !emails.is_empty() {
        let salesforce_users = deps
            .peers
            .salesforce
            .clone()
            .find_users(pb::FindUsersRequest {
                connection_id: spec.salesforce_connection_id.clone(),
                emails,
            })
            .await?
            .into_inner()
            .users;
        for user in salesforce_users.iter().filter(|u| u.active) {
            users.add_salesforce_user(user.id.clone(), &user.email);
        }
    }
    Ok(users)
}

/// What a cycle learnt about one pair of records.
#[derive(Default)]
struct Pair {
    salesforce_id: Option<String>,
    monday_id: Option<String>,
    salesforce: Option<pb::Record>,
    monday: Option<pb::Record>,
    shadow: Option<Shadow>,
    /// Both records exist but were never linked: an import pairs them by the link key.
    relink: bool,
    /// The open create intent whose record this pair adopted; closed with the pair's link.
    adopted_intent: Option<String>,
}

/// What planning decided: writes (with the pair they belong to and the shadow to store
/// once they succeed), pairs to unlink, creates to record as intents, and pairs to link
/// that need no write (re-linked by an import).
struct Planned {
    sf_writes: Vec<(pb::RecordWrite, usize, Shadow)>,
    mo_writes: Vec<(pb::ItemWrite, usize, Shadow)>,
    unlink: Vec<(String, String)>,
    intents: Vec<(String, Side, String)>,
    relinks: Vec<(usize, Shadow)>,
}

impl Pair {
    /// A record with no partner yet.
    fn unlinked(side: CoreSide, record: pb::Record) -> Self {
        match side {
            CoreSide::Salesforce => Pair {
                salesforce_id: Some(record.id.clone()),
                salesforce: Some(record),
                ..Pair::default()
            },
            CoreSide::Monday => Pair {
                monday_id: Some(record.id.clone()),
                monday: Some(record),
                ..Pair::default()
            },
        }
    }

    /// This pair's record id on `side`, if it has one there.
    fn id_on(&self, side: CoreSide) -> Option<&str> {
        match side {
            CoreSide::Salesforce => self.salesforce_id.as_deref(),
            CoreSide::Monday => self.monday_id.as_deref(),
        }
    }
}

/// Counters and events of the run being recorded.
#[derive(Default)]
struct Outcome {
    counters: pb::RunCounters,
    events: Vec<pb::RecordEvent>,
}

impl Outcome {
    /// What a dry run would have written: a create (no `target_id`) or an update, with values.
    fn dry_run(
        &mut self,
        source: CoreSide,
        source_id: &str,
        target_id: &str,
        where_: &str,
        values: &std::collections::HashMap<String, String>,
    ) {
        let (action, verb) = if target_id.is_empty() {
            (pb::EventAction::Created, "create")
        } else {
            (pb::EventAction::Updated, "update")
        };
        let e = self.event(
            source,
            source_id,
            target_id,
            action,
            format!("dry run: would {verb} {where_}"),
        );
        e.changes = values
            .iter()
            .map(|(k, v)| pb::FieldChange {
                field: k.clone(),
                after: v.clone(),
                ..Default::default()
            })
            .collect();
    }

    fn event(
        &mut self,
        source: CoreSide,
        source_id: &str,
        target_id: &str,
        action: pb::EventAction,
        reason: String,
    ) -> &mut pb::RecordEvent {
        let side = match source {
            CoreSide::Salesforce => pb::Side::Salesforce,
            CoreSide::Monday => pb::Side::Monday,
        };
        let key = format!("{}-{}-{}", self.events.len(), side.as_str_name(), source_id);
        self.events.push(pb::RecordEvent {
            key,
            source_side: side as i32,
            source_record_id: source_id.to_owned(),
            target_record_id: target_id.to_owned(),
            action: action as i32,
            reason,
            ..Default::default()
        });
        match action {
            pb::EventAction::Created => self.counters.created += 1,
            pb::EventAction::Updated => self.counters.updated += 1,
            pb::EventAction::Skipped => self.counters.skipped += 1,
            pb::EventAction::Failed => self.counters.failed += 1,
            pb::EventAction::Conflict => self.counters.conflicts += 1,
            _ => {}
        }
        self.events
            .last_mut()
            .unwrap_or_else(|| unreachable!("just pushed"))
    }
}

fn ms_of(ts: &Option<prost_types::Timestamp>) -> i64 {
    ts.as_ref()
        .map(|t| t.seconds * 1_000 + i64::from(t.nanos) / 1_000_000)
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp() * 1_000)
}

fn to_offset(ts: &prost_types::Timestamp) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos),
    )
    .ok()
}

fn from_offset(t: time::OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: t.nanosecond() as i32,
    }
}

impl<'a> Cycle<'a> {
    async fn load(deps: &'a Deps, lease: &'a Lease) -> Result<Cycle<'a>, CycleError> {
        let id = lease.integration.as_str();
        let integration = deps
            .peers
            .mapping_config
            .clone()
            .get_integration(pb::GetIntegrationRequest { id: id.to_owned() })
            .await?
            .into_inner();
        if integration.state() != pb::IntegrationState::Active {
            return Err(CycleError::Paused(
                id.to_owned(),
                integration.state_reason.clone(),
            ));
        }
        let spec = integration
            .spec
            .clone()
            .ok_or_else(|| settings_error(id, "it has no settings"))?;
        let catalog = match deps.catalogs.fresh(id, integration.version) {
            Some(catalog) => catalog,
            None => {
                let mut catalog = read_catalog(deps, id, &spec).await?;
                catalog.version = integration.version;
                let catalog = Arc::new(catalog);
                deps.catalogs.put(id, catalog.clone());
                catalog
            }
        };
        let rules = rules_of(
            id,
            &spec,
            &Object::from_proto(&catalog.object),
            &Board::from_proto(&catalog.board),
        )?;
        let users = catalog.users.clone();
        let time_zone = catalog.time_zone.clone();
        Ok(Cycle {
            deps,
            lease,
            integration,
            spec,
            rules,
            users,
            time_zone,
        })
    }

    fn id(&self) -> &str {
        &self.lease.integration
    }

    async fn run(self, trigger: pb::Trigger, work: Work) -> Result<pb::Run, CycleError> {
        let mut history = self.deps.peers.history.clone();
        let run = history
            .start_run(pb::StartRunRequest {
                integration_id: self.id().to_owned(),
                owner: self.integration.owner.clone(),
                trigger: trigger as i32,
                account: self.integration.account.clone(),
            })
            .await?
            .into_inner();
        let mut outcome = Outcome::default();
        let result = match work {
            Work::Cycle => self.cycle(&mut outcome).await,
            Work::Import {
                source,
                dry_run,
                link_key,
            } => self.import(&mut outcome, source, dry_run, link_key).await,
        };
        let (status, error) = match &result {
            Ok(()) if outcome.counters.failed > 0 => {
                (pb::RunStatus::PartiallyFailed, String::new())
            }
            Ok(()) => (pb::RunStatus::Succeeded, String::new()),
            Err(e) => (pb::RunStatus::Failed, e.to_string()),
        };
        for chunk in outcome.events.chunks(5_000) {
            history
                .append_events(pb::AppendEventsRequest {
                    run_id: run.id.clone(),
                    events: chunk.to_vec(),
                })
                .await?;
        }
        let finished = history
            .finish_run(pb::FinishRunRequest {
                run_id: run.id.clone(),
                status: status as i32,
                counters: Some(outcome.counters),
                error,
            })
            .await?
            .into_inner();
        result.map(|()| finished)
    }

    async fn cycle(&self, outcome: &mut Outcome) -> Result<(), CycleError> {
        let id = self.id().to_owned();
        let spec = &self.spec;
        let link_key = self.link_key(None);
        let (sf_fields, mo_columns) = self.fields_to_read(link_key.as_ref());

        // 1. Poll both sides since their watermarks.
        let sf_mark = self.deps.store.watermark(&id, Side::Salesforce).await?;
        let mo_mark = self.deps.store.watermark(&id, Side::Monday).await?;
        let seen: Vec<pb::SeenRecord> = sf_mark
            .as_ref()
            .and_then(|w| serde_json::from_value::<Vec<(String, i64)>>(w.seen.0.clone()).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|(id, ms)| pb::SeenRecord {
                id,
                modified_at: Some(prost_types::Timestamp {
                    seconds: ms.div_euclid(1_000),
                    nanos: (ms.rem_euclid(1_000) * 1_000_000) as i32,
                }),
            })
            .collect();
        let (mut salesforce, mut monday) = (
            self.deps.peers.salesforce.clone(),
            self.deps.peers.monday.clone(),
        );
        let (sf_poll, mo_poll) = tokio::try_join!(
            salesforce.poll_changes(pb::SalesforcePollRequest {
                connection_id: spec.salesforce_connection_id.clone(),
                object: spec.salesforce_object.clone(),
                fields: sf_fields.clone(),
                watermark: sf_mark.as_ref().and_then(|w| w.watermark).map(from_offset),
                seen,
                max_records: 0,
            }),
            monday.poll_changes(pb::MondayPollRequest {
                connection_id: spec.monday_connection_id.clone(),
                board_id: spec.board_id.clone(),
                columns: mo_columns.clone(),
                watermark: mo_mark.as_ref().and_then(|w| w.watermark).map(from_offset),
                max_items: 0,
            }),
        )?;
        let (sf_poll, mo_poll) = (sf_poll.into_inner(), mo_poll.into_inner());
        outcome.counters.read += (sf_poll.records.len() + mo_poll.items.len()) as u64;
        outcome.counters.salesforce_api_calls += u64::from(sf_poll.api_calls);
        outcome.counters.monday_api_calls += u64::from(mo_poll.api_calls);

        // 2. Coalesce them with what webhooks brought, and claim everything pending.
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1_000;
        let window = crate::grpc::window_of(&self.integration);
        for (prefix, records) in [("sf", &sf_poll.records), ("mo", &mo_poll.items)] {
            for r in records {
                let at = ms_of(&r.modified_at);
                let fields: Vec<(String, String, i64)> = r
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone(), at))
                    .collect();
                self.deps
                    .buffer
                    .submit(&id, &format!("{prefix}:{}", r.id), &fields, now, window)
                    .await?;
            }
        }
        let claimed = self
            .deps
            .buffer
            .claim(&id, i64::MAX / 2, CLAIM_LIMIT)
            .await?;

        // 3. Pair every touched record with its link and the latest values of both sides.
        let mut pairs: Vec<Pair> = Vec::new();
        let mut by_sf: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_mo: BTreeMap<String, usize> = BTreeMap::new();
        let polled_sf: BTreeMap<&str, &pb::Record> =
            sf_poll.records.iter().map(|r| (r.id.as_str(), r)).collect();
        let polled_mo: BTreeMap<&str, &pb::Record> =
            mo_poll.items.iter().map(|r| (r.id.as_str(), r)).collect();
        // The links of every claimed record, in one query per side.
        let claimed_ids = |prefix: &str| -> Vec<String> {
            claimed
                .iter()
                .filter_map(|p| p.record.strip_prefix(prefix).map(str::to_owned))
                .collect()
        };
        let (claimed_sf, claimed_mo) = (claimed_ids("sf:"), claimed_ids("mo:"));
        let sf_links: BTreeMap<String, Link> = self
            .deps
            .store
            .links_of(&id, Side::Salesforce, &claimed_sf)
            .await?
            .into_iter()
            .map(|l| (l.salesforce_id.clone(), l))
            .collect();
        let mo_links: BTreeMap<String, Link> = self
            .deps
            .store
            .links_of(&id, Side::Monday, &claimed_mo)
            .await?
            .into_iter()
            .map(|l| (l.monday_item_id.clone(), l))
            .collect();
        for pending in &claimed {
            let (side, record_id) = pending.record.split_once(':').unwrap_or(("", ""));
            let link = match side {
                "sf" if !by_sf.contains_key(record_id) => sf_links.get(record_id).cloned(),
                "mo" if !by_mo.contains_key(record_id) => mo_links.get(record_id).cloned(),
                _ => continue,
            };
            let mut pair = Pair::default();
            match (&link, side) {
                (Some(l), _) => {
                    pair.salesforce_id = Some(l.salesforce_id.clone());
                    pair.monday_id = Some(l.monday_item_id.clone());
                    pair.shadow = serde_json::from_value(l.shadow.0.clone()).ok();
                }
                (None, "sf") => pair.salesforce_id = Some(record_id.to_owned()),
                (None, _) => pair.monday_id = Some(record_id.to_owned()),
            }
            if link.as_ref().is_some_and(|l| l.unlinked_at.is_some()) {
                continue;
            }
            let index = pairs.len();
            if let Some(s) = &pair.salesforce_id {
                by_sf.insert(s.clone(), index);
            }
            if let Some(m) = &pair.monday_id {
                by_mo.insert(m.clone(), index);
            }
            pairs.push(pair);
        }
        // Latest values: polled records as they are. A linked partner that was not polled has
        // not changed since its side's watermark (both sides were just polled), so it stands
        // as "unchanged since the shadow" without being read — unless the claim was cut at
        // its limit, when a change of the partner may still wait in the buffer. The rest
        // (webhook hints, replayed records, partners never agreed on) are read.
        let whole_claim = claimed.len() < CLAIM_LIMIT;
        let claimed_sf: BTreeSet<&str> = claimed_sf.iter().map(String::as_str).collect();
        let claimed_mo: BTreeSet<&str> = claimed_mo.iter().map(String::as_str).collect();
        let unchanged = |id: &str| pb::Record {
            id: id.to_owned(),
            ..Default::default()
        };
        let mut need_sf = Vec::new();
        let mut need_mo = Vec::new();
        for pair in &mut pairs {
            let agreed = whole_claim && pair.shadow.is_some();
            if let Some(s) = &pair.salesforce_id {
                match polled_sf.get(s.as_str()) {
                    Some(r) => pair.salesforce = Some((*r).clone()),
                    None if agreed && !claimed_sf.contains(s.as_str()) => {
                        pair.salesforce = Some(unchanged(s));
                    }
                    None => need_sf.push(s.clone()),
                }
            }
            if let Some(m) = &pair.monday_id {
                match polled_mo.get(m.as_str()) {
                    Some(r) => pair.monday = Some((*r).clone()),
                    None if agreed && !claimed_mo.contains(m.as_str()) => {
                        pair.monday = Some(unchanged(m));
                    }
                    None => need_mo.push(m.clone()),
                }
            }
        }
        if !need_sf.is_empty() {
            let got = self
                .deps
                .peers
                .salesforce
                .clone()
                .get_records(pb::GetRecordsRequest {
                    connection_id: spec.salesforce_connection_id.clone(),
                    object: spec.salesforce_object.clone(),
                    ids: need_sf,
                    fields: sf_fields.clone(),
                })
                .await?
                .into_inner();
            outcome.counters.salesforce_api_calls += u64::from(got.api_calls);
            for r in got.records {
                if let Some(&i) = by_sf.get(&r.id) {
                    pairs[i].salesforce = Some(r);
                }
            }
        }
        if !need_mo.is_empty() {
            let got = self
                .deps
                .peers
                .monday
                .clone()
                .get_items(pb::GetItemsRequest {
                    connection_id: spec.monday_connection_id.clone(),
                    board_id: spec.board_id.clone(),
                    ids: need_mo,
                    columns: mo_columns.clone(),
                })
                .await?
                .into_inner();
            outcome.counters.monday_api_calls += u64::from(got.api_calls);
            for r in got.items {
                if let Some(&i) = by_mo.get(&r.id) {
                    pairs[i].monday = Some(r);
                }
            }
        }

        // Records never linked that share the link key are paired, not duplicated.
        relink_by_key(&mut pairs, link_key.as_ref());
        let polled = [
            (CoreSide::Salesforce, sf_poll.records.as_slice()),
            (CoreSide::Monday, mo_poll.items.as_slice()),
        ];
        self.adopt_lost_creates(&mut pairs, &polled, outcome)
            .await?;

        // 4-7. Plan, write, record; the watermarks advance in the same fenced transaction.
        let planned = self.plan_pairs(&pairs, outcome, None)?;
        let mut tx = self.apply(&pairs, planned, outcome, false).await?;
        if let Some(mark) = sf_poll.watermark.as_ref().and_then(to_offset) {
            let seen: Vec<(String, i64)> = sf_poll
                .records
                .iter()
                .map(|r| (r.id.clone(), ms_of(&r.modified_at)))
                .collect();
            tx.set_watermark(
                Side::Salesforce,
                mark,
                &serde_json::to_value(seen).unwrap_or_default(),
            )
            .await?;
        }
        if let Some(mark) = mo_poll.watermark.as_ref().and_then(to_offset) {
            tx.set_watermark(Side::Monday, mark, &serde_json::json!([]))
                .await?;
        }
        tx.commit().await?;
        let records: Vec<String> = claimed.into_iter().map(|p| p.record).collect();
        self.deps.buffer.complete(&id, &records).await?;
        Ok(())
    }

    /// The Salesforce fields and monday columns to read: the mapped ones and the link key's.
    fn fields_to_read(&self, link_key: Option<&(String, String)>) -> (Vec<String>, Vec<String>) {
        let mut fields: Vec<String> = self
            .rules
            .mappings
            .iter()
            .map(|m| m.salesforce.name.clone())
            .collect();
        let mut columns: Vec<String> = self
            .rules
            .mappings
            .iter()
            .map(|m| m.monday.id.clone())
            .filter(|c| c != "name")
            .collect();
        if let Some((column, field)) = link_key {
            if field != "Id" && !fields.contains(field) {
                fields.push(field.clone());
            }
            if column != "name" && !columns.contains(column) {
                columns.push(column.clone());
            }
        }
        (fields, columns)
    }

    /// The link key: the request's, else the integration's; `None` when neither has one.
    fn link_key(&self, requested: Option<(String, String)>) -> Option<(String, String)> {
        requested
            .filter(|(c, f)| !c.is_empty() && !f.is_empty())
            .or_else(|| {
                let (c, f) = (
                    &self.spec.link_monday_column_id,
                    &self.spec.link_salesforce_field,
                );
                (!c.is_empty() && !f.is_empty()).then(|| (c.clone(), f.clone()))
            })
    }

    async fn import(
        &self,
        outcome: &mut Outcome,
        source: CoreSide,
        dry_run: bool,
        requested_key: Option<(String, String)>,
    ) -> Result<(), CycleError> {
        let id = self.id().to_owned();
        let spec = &self.spec;
        let link_key = self.link_key(requested_key);
        let (sf_fields, mo_columns) = self.fields_to_read(link_key.as_ref());
        // Every record of the source; of the target only when a link key can pair them.
        let read_salesforce = source == CoreSide::Salesforce || link_key.is_some();
        let read_monday = source == CoreSide::Monday || link_key.is_some();
        let mut salesforce_records = Vec::new();
        if read_salesforce {
            let all = self
                .deps
                .peers
                .salesforce
                .clone()
                .poll_changes(pb::SalesforcePollRequest {
                    connection_id: spec.salesforce_connection_id.clone(),
                    object: spec.salesforce_object.clone(),
                    fields: sf_fields,
                    ..Default::default()
                })
                .await?
                .into_inner();
            outcome.counters.salesforce_api_calls += u64::from(all.api_calls);
            salesforce_records = all.records;
        }
        let mut monday_records = Vec::new();
        if read_monday {
            let all = self
                .deps
                .peers
                .monday
                .clone()
                .poll_changes(pb::MondayPollRequest {
                    connection_id: spec.monday_connection_id.clone(),
                    board_id: spec.board_id.clone(),
                    columns: mo_columns,
                    ..Default::default()
                })
                .await?
                .into_inner();
            outcome.counters.monday_api_calls += u64::from(all.api_calls);
            monday_records = all.items;
        }
        let source_count = match source {
            CoreSide::Salesforce => salesforce_records.len(),
            CoreSide::Monday => monday_records.len(),
        };
        outcome.counters.read += source_count as u64;

        let mut pairs = Vec::new();
        for (side, records) in [
            (CoreSide::Salesforce, salesforce_records),
            (CoreSide::Monday, monday_records),
        ] {
            let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
            let linked = self.deps.store.linked_ids(&id, side.into(), &ids).await?;
            for record in records.into_iter().filter(|r| !r.deleted) {
                if linked.contains(&record.id) {
                    if side == source {
                        outcome.event(
                            side,
                            &record.id,
                            "",
                            pb::EventAction::Skipped,
                            "already linked".to_owned(),
                        );
                    }
                    continue;
                }
                pairs.push(Pair::unlinked(side, record));
            }
        }
        relink_by_key(&mut pairs, link_key.as_ref());
        // An import reads every record: the lost creates are among the pairs already.
        self.adopt_lost_creates(&mut pairs, &[], outcome).await?;
        // One direction: target records nobody paired stay where they are.
        pairs.retain(|p| p.relink || p.id_on(source).is_some());
        let source_wins = match source {
            CoreSide::Salesforce => ConflictPolicy::SalesforceWins,
            CoreSide::Monday => ConflictPolicy::MondayWins,
        };
        let planned = self.plan_pairs(&pairs, outcome, Some(source_wins))?;
        let tx = self.apply(&pairs, planned, outcome, dry_run).await?;
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(())
    }

    /// Creates an earlier cycle made but never linked (its lease was taken over, or the
    /// process died between the remote's answer and the commit) are found among this cycle's
    /// unlinked records and paired with their source, so they are linked, not made twice: by
    /// the id noted when the remote answered, else — for Salesforce creates, which cannot be
    /// looked up by key on an object without an external-id field — by an unlinked record
    /// whose every written field equals what the create wrote.
    /// `polled` are this cycle's polled records: a lost create may be among them and not
    /// among the pairs (when the cycle replays a claimed buffer first).
    async fn adopt_lost_creates(
        &self,
        pairs: &mut Vec<Pair>,
        polled: &[(CoreSide, &[pb::Record])],
        outcome: &mut Outcome,
    ) -> Result<(), CycleError> {
        let intents = self.deps.store.open_intents(self.id()).await?;
        if intents.is_empty() {
            return Ok(());
        }
        // Polled records in no pair and not linked join as candidates; those not adopted
        // leave again (their own turn comes with the buffer's next claim).
        let first_extra = pairs.len();
        for (side, records) in polled {
            let in_pairs: BTreeSet<&str> = pairs.iter().filter_map(|p| p.id_on(*side)).collect();
            let fresh: Vec<&pb::Record> = records
                .iter()
                .filter(|r| !r.deleted && !in_pairs.contains(r.id.as_str()))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let ids: Vec<String> = fresh.iter().map(|r| r.id.clone()).collect();
            let linked = self
                .deps
                .store
                .linked_ids(self.id(), (*side).into(), &ids)
                .await?;
            pairs.extend(
                fresh
                    .into_iter()
                    .filter(|r| !linked.contains(&r.id))
                    .map(|r| Pair::unlinked(*side, r.clone())),
            );
        }
        let ctx = ConvertContext::for_org(&self.time_zone, &self.users)
            .map_err(|e| settings_error(self.id(), e.to_string()))?;
        let mut taken: BTreeSet<usize> = BTreeSet::new();
        for intent in &intents {
            let target = if intent.target_side == Side::Salesforce as i16 {
                CoreSide::Salesforce
            } else {
                CoreSide::Monday
            };
            let only = |p: &Pair, side: CoreSide| {
                p.shadow.is_none()
                    && p.adopted_intent.is_none()
                    && match side {
                        CoreSide::Salesforce => p.monday_id.is_none() && p.salesforce.is_some(),
                        CoreSide::Monday => p.salesforce_id.is_none() && p.monday.is_some(),
                    }
            };
            let source_side = match target {
                CoreSide::Salesforce => CoreSide::Monday,
                CoreSide::Monday => CoreSide::Salesforce,
            };
            let Some(source) = pairs.iter().position(|p| {
                only(p, source_side)
                    && p.id_on(source_side) == Some(intent.source_record_id.as_str())
            }) else {
                continue;
            };
            let candidates = |i: usize, p: &Pair| !taken.contains(&i) && only(p, target);
            let found = match (&intent.target_record_id, target) {
                (Some(made), _) => pairs
                    .iter()
                    .enumerate()
                    .position(|(i, p)| candidates(i, p) && p.id_on(target) == Some(made.as_str())),
                (None, CoreSide::Salesforce) => {
                    let Some(item) = &pairs[source].monday else {
                        continue;
                    };
                    let read = records::read_monday(&self.rules.mappings, item, &self.users);
                    let Create::Create { payload, .. } =
                        plan::plan_unlinked(&self.rules, CoreSide::Monday, read.state, &ctx)
                    else {
                        continue;
                    };
                    pairs.iter().enumerate().position(|(i, p)| {
                        candidates(i, p)
                            && p.salesforce
                                .as_ref()
                                .is_some_and(|r| records::carries(r, &payload))
                    })
                }
                (None, CoreSide::Monday) => None,
            };
            let Some(found) = found else { continue };
            taken.insert(found);
            let adopted = std::mem::take(&mut pairs[found]);
            let pair = &mut pairs[source];
            match target {
                CoreSide::Salesforce => {
                    pair.salesforce_id = adopted.salesforce_id;
                    pair.salesforce = adopted.salesforce;
                }
                CoreSide::Monday => {
                    pair.monday_id = adopted.monday_id;
                    pair.monday = adopted.monday;
                }
            }
            pair.relink = true;
            pair.adopted_intent = Some(intent.idempotency_key.clone());
            let (sf, mo) = (
                pair.salesforce_id.clone().unwrap_or_default(),
                pair.monday_id.clone().unwrap_or_default(),
            );
            outcome.event(
                source_side,
                &intent.source_record_id,
                match target {
                    CoreSide::Salesforce => &sf,
                    CoreSide::Monday => &mo,
                },
                pb::EventAction::Skipped,
                "created by an earlier attempt whose link was lost; linked, not created again"
                    .to_owned(),
            );
        }
        let mut index = 0;
        pairs.retain(|p| {
            let keep =
                !taken.contains(&index) && (index < first_extra || p.adopted_intent.is_some());
            index += 1;
            keep
        });
        Ok(())
    }

    /// Step 4: the writes every pair needs (no await in here: the conversion context stays on
    /// this thread). `force` overrides the conflict policy (an import's source side wins).
    fn plan_pairs(
        &self,
        pairs: &[Pair],
        outcome: &mut Outcome,
        force: Option<ConflictPolicy>,
    ) -> Result<Planned, CycleError> {
        let id = self.id().to_owned();
        let mut rules = self.rules.clone();
        if let Some(policy) = force {
            rules.policy = policy;
        }
        let rules = &rules;
        {
            let users = &self.users;
            let ctx = ConvertContext::for_org(&self.time_zone, users)
                .map_err(|e| settings_error(self.id(), e.to_string()))?;
            let mut sf_writes: Vec<(pb::RecordWrite, usize, Shadow)> = Vec::new();
            let mut mo_writes: Vec<(pb::ItemWrite, usize, Shadow)> = Vec::new();
            let mut unlink: Vec<(String, String)> = Vec::new();
            let mut intents: Vec<(String, Side, String)> = Vec::new();
            let mut relinks: Vec<(usize, Shadow)> = Vec::new();
            for (index, pair) in pairs.iter().enumerate() {
                let sf_deleted = pair.salesforce_id.is_some()
                    && pair.salesforce.as_ref().is_none_or(|r| r.deleted);
                let mo_deleted =
                    pair.monday_id.is_some() && pair.monday.as_ref().is_none_or(|r| r.deleted);
                match (&pair.salesforce_id, &pair.monday_id, &pair.shadow) {
                    (Some(s), Some(m), _) if sf_deleted || mo_deleted => {
                        let (side, source, target) = if sf_deleted {
                            (CoreSide::Salesforce, s, m)
                        } else {
                            (CoreSide::Monday, m, s)
                        };
                        let reason = "the record was deleted or archived; deletions are not propagated, the pair is unlinked".to_owned();
                        outcome.event(
                            side,
                            source,
                            target,
                            pb::EventAction::Unlinked,
                            reason.clone(),
                        );
                        unlink.push((s.clone(), reason));
                    }
                    (Some(s), Some(m), shadow) => {
                        let (Some(sf), Some(mo)) = (&pair.salesforce, &pair.monday) else {
                            continue;
                        };
                        let sf_read = records::read_salesforce(&rules.mappings, sf);
                        let mo_read = records::read_monday(&rules.mappings, mo, users);
                        let shadow = shadow.clone().unwrap_or_default();
                        let plan =
                            plan::plan_linked(rules, &shadow, sf_read.state, mo_read.state, &ctx);
                        if plan.is_noop() {
                            if pair.relink {
                                relinks.push((index, plan.next_shadow));
                            }
                            continue;
                        }
                        let failures: Vec<(String, String)> = plan
                            .failures()
                            .map(|(d, e)| {
                                (
                                    d.salesforce_field.clone(),
                                    format!("{}: {e}", d.salesforce_field),
                                )
                            })
                            .collect();
                        if !failures.is_empty() {
                            let reason = failures
                                .iter()
                                .map(|(_, m)| m.as_str())
                                .collect::<Vec<_>>()
                                .join("; ");
                            let e = outcome.event(
                                CoreSide::Salesforce,
                                s,
                                m,
                                pb::EventAction::Failed,
                                reason,
                            );
                            e.errors = failures
                                .into_iter()
                                .map(|(field, message)| pb::RemoteError {
                                    code: "CONVERSION".to_owned(),
                                    message,
                                    fields: vec![field],
                                    ..Default::default()
                                })
                                .collect();
                            continue;
                        }
                        for d in plan.fields.iter().filter(|d| d.conflict.is_some()) {
                            let winner = match d.conflict {
                                Some(CoreSide::Salesforce) => "Salesforce",
                                _ => "monday",
                            };
                            outcome.event(
                                CoreSide::Salesforce,
                                s,
                                m,
                                pb::EventAction::Conflict,
                                format!(
                                    "{} ↔ {} changed on both sides; {winner} won ({:?} policy)",
                                    d.salesforce_field, d.monday_column, rules.policy
                                ),
                            );
                        }
                        let sf_payload = plan.salesforce_payload();
                        let mo_payload = plan.monday_column_values();
                        let shadow = plan.next_shadow.clone();
                        if !sf_payload.is_empty() {
                            sf_writes.push((
                                pb::RecordWrite {
                                    id: s.clone(),
                                    fields: records::as_json_text(&sf_payload),
                                    idempotency_key: String::new(),
                                },
                                index,
                                shadow.clone(),
                            ));
                        }
                        if !mo_payload.is_empty() {
                            mo_writes.push((
                                pb::ItemWrite {
                                    id: m.clone(),
                                    columns: records::as_json_text(&mo_payload),
                                    idempotency_key: String::new(),
                                },
                                index,
                                shadow.clone(),
                            ));
                        }
                        let changes = plan
                            .fields
                            .iter()
                            .filter(|d| !matches!(d.action, Action::NoOp))
                            .count();
                        tracing::debug!(salesforce_id = %s, monday_id = %m, changes, "pair planned");
                    }
                    (sf_id, mo_id, _) => {
                        let (source, source_id, record) = match (sf_id, mo_id) {
                            (Some(s), None) => (CoreSide::Salesforce, s, &pair.salesforce),
                            (None, Some(m)) => (CoreSide::Monday, m, &pair.monday),
                            _ => continue,
                        };
                        let Some(record) = record.as_ref().filter(|r| !r.deleted) else {
                            continue;
                        };
                        let read = match source {
                            CoreSide::Salesforce => {
                                records::read_salesforce(&rules.mappings, record)
                            }
                            CoreSide::Monday => {
                                records::read_monday(&rules.mappings, record, users)
                            }
                        };
                        let key = plan::idempotency_key(&id, source, source_id);
                        match plan::plan_unlinked(rules, source, read.state, &ctx) {
                            Create::Skip { reason } => {
                                outcome.event(
                                    source,
                                    source_id,
                                    "",
                                    pb::EventAction::Skipped,
                                    reason,
                                );
                            }
                            Create::Fail { errors } => {
                                let e = outcome.event(
                                    source,
                                    source_id,
                                    "",
                                    pb::EventAction::Failed,
                                    "values could not be converted".to_owned(),
                                );
                                e.errors = errors
                                    .into_iter()
                                    .map(|(field, message)| pb::RemoteError {
                                        code: "CONVERSION".to_owned(),
                                        message,
                                        fields: vec![field],
                                        ..Default::default()
                                    })
                                    .collect();
                            }
                            Create::Create {
                                target: CoreSide::Monday,
                                payload,
                                shadow,
                            } => {
                                intents.push((key.clone(), Side::Monday, source_id.clone()));
                                mo_writes.push((
                                    pb::ItemWrite {
                                        id: String::new(),
                                        columns: records::as_json_text(&payload),
                                        idempotency_key: key,
                                    },
                                    index,
                                    shadow,
                                ));
                            }
                            Create::Create {
                                target: CoreSide::Salesforce,
                                payload,
                                shadow,
                            } => {
                                intents.push((key.clone(), Side::Salesforce, source_id.clone()));
                                sf_writes.push((
                                    pb::RecordWrite {
                                        id: String::new(),
                                        fields: records::as_json_text(&payload),
                                        idempotency_key: key,
                                    },
                                    index,
                                    shadow,
                                ));
                            }
                        }
                    }
                }
            }
            Ok(Planned {
                sf_writes,
                mo_writes,
                unlink,
                intents,
                relinks,
            })
        }
    }

    /// Steps 5-7: intents, batched writes, then links, shadows and unlinks in a fenced
    /// transaction returned open. With `dry_run` nothing is written anywhere: the events say
    /// what would have happened.
    async fn apply(
        &self,
        pairs: &[Pair],
        planned: Planned,
        outcome: &mut Outcome,
        dry_run: bool,
    ) -> Result<crate::store::Fenced<'static>, CycleError> {
        let spec = &self.spec;
        let Planned {
            sf_writes,
            mo_writes,
            unlink,
            intents,
            relinks,
        } = planned;
        if dry_run {
            for (write, index, _) in &sf_writes {
                let source = pairs[*index].monday_id.as_deref().unwrap_or_default();
                outcome.dry_run(
                    CoreSide::Monday,
                    source,
                    &write.id,
                    "in Salesforce",
                    &write.fields,
                );
            }
            for (write, index, _) in &mo_writes {
                let source = pairs[*index].salesforce_id.as_deref().unwrap_or_default();
                outcome.dry_run(
                    CoreSide::Salesforce,
                    source,
                    &write.id,
                    "on monday",
                    &write.columns,
                );
            }
            for (index, _) in &relinks {
                let pair = &pairs[*index];
                outcome.event(
                    CoreSide::Salesforce,
                    pair.salesforce_id.as_deref().unwrap_or_default(),
                    pair.monday_id.as_deref().unwrap_or_default(),
                    pb::EventAction::Skipped,
                    "dry run: would re-link the existing pair".to_owned(),
                );
            }
            return Ok(self.deps.store.begin(self.lease).await?);
        }
        // 5. Creates are intents first, so a crash between write and link never duplicates.
        if !intents.is_empty() {
            let mut tx = self.deps.store.begin(self.lease).await?;
            for (key, target, source) in &intents {
                tx.record_intent(key, *target, source).await?;
            }
            tx.commit().await?;
        }

        // 6. Write, batched by the connectors (each call within the connector's cap; the
        // connector batches further per its remote's limits).
        let mut sf_results = Vec::with_capacity(sf_writes.len());
        for chunk in sf_writes.chunks(SALESFORCE_WRITES_PER_CALL) {
            let response = self
                .deps
                .peers
                .salesforce
                .clone()
                .write_records(pb::WriteRecordsRequest {
                    connection_id: spec.salesforce_connection_id.clone(),
                    object: spec.salesforce_object.clone(),
                    writes: chunk.iter().map(|(w, _, _)| w.clone()).collect(),
                })
                .await?
                .into_inner();
            outcome.counters.salesforce_api_calls += u64::from(response.api_calls);
            sf_results.extend(response.results);
        }
        // Only mappings that opted in let labels through that the board lacks.
        let create_labels = self.rules.mappings.iter().any(|m| m.options.create_labels);
        let mut mo_results = Vec::with_capacity(mo_writes.len());
        for chunk in mo_writes.chunks(MONDAY_WRITES_PER_CALL) {
            let response = self
                .deps
                .peers
                .monday
                .clone()
                .write_items(pb::WriteItemsRequest {
                    connection_id: spec.monday_connection_id.clone(),
                    board_id: spec.board_id.clone(),
                    group_id: spec.group_id.clone(),
                    writes: chunk.iter().map(|(w, _, _)| w.clone()).collect(),
                    create_labels_if_missing: create_labels,
                })
                .await?
                .into_inner();
            outcome.counters.monday_api_calls += u64::from(response.api_calls);
            mo_results.extend(response.results);
        }

        // What the creates made, noted at once (unfenced): should the fenced commit below be
        // refused or never happen, the next cycle links these records instead of duplicating.
        let created: Vec<(String, String)> = sf_writes
            .iter()
            .zip(&sf_results)
            .map(|((w, _, _), r)| (w.idempotency_key.as_str(), r.success, &r.id))
            .chain(
                mo_writes
                    .iter()
                    .zip(&mo_results)
                    .map(|((w, _, _), r)| (w.idempotency_key.as_str(), r.success, &r.id)),
            )
            .filter(|(key, success, id)| *success && !key.is_empty() && !id.is_empty())
            .map(|(key, _, id)| (key.to_owned(), id.clone()))
            .collect();
        self.deps.store.note_created(self.id(), &created).await?;

        // 7. Record links and shadows of what succeeded — under the lease fence, in one
        // transaction the caller commits (with its watermarks).
        // A pair whose write failed on either side keeps its old shadow, so what did move is
        // seen again and what did not is retried; a create is linked whatever else happened.
        let mut failed: BTreeSet<usize> = BTreeSet::new();
        let sf_outcomes = sf_writes
            .iter()
            .zip(&sf_results)
            .map(|((w, i, _), r)| (CoreSide::Monday, *i, w.id.as_str(), r.success, &r.errors));
        let mo_outcomes = mo_writes.iter().zip(&mo_results).map(|((w, i, _), r)| {
            (
                CoreSide::Salesforce,
                *i,
                w.id.as_str(),
                r.success,
                &r.errors,
            )
        });
        for (source_side, index, target_id, _, errors) in
            sf_outcomes.chain(mo_outcomes).filter(|o| !o.3)
        {
            failed.insert(index);
            let pair = &pairs[index];
            let (source, remote) = match source_side {
                CoreSide::Monday => (pair.monday_id.as_deref(), "Salesforce"),
                CoreSide::Salesforce => (pair.salesforce_id.as_deref(), "monday"),
            };
            let e = outcome.event(
                source_side,
                source.unwrap_or_default(),
                target_id,
                pb::EventAction::Failed,
                format!("{remote} refused the write"),
            );
            e.errors = errors.clone();
        }
        let mut tx = self.deps.store.begin(self.lease).await?;
        let sf_done = sf_writes.iter().zip(&sf_results).map(|((w, i, sh), r)| {
            (
                CoreSide::Monday,
                w.id.as_str(),
                w.idempotency_key.as_str(),
                *i,
                sh,
                r.success,
                r.id.as_str(),
            )
        });
        let mo_done = mo_writes.iter().zip(&mo_results).map(|((w, i, sh), r)| {
            (
                CoreSide::Salesforce,
                w.id.as_str(),
                w.idempotency_key.as_str(),
                *i,
                sh,
                r.success,
                r.id.as_str(),
            )
        });
        for (source_side, target_id, key, index, shadow, success, result_id) in
            sf_done.chain(mo_done)
        {
            if !success {
                continue;
            }
            let pair = &pairs[index];
            let target_id = if target_id.is_empty() {
                result_id
            } else {
                target_id
            };
            let (sf_id, mo_id, source_id) = match source_side {
                CoreSide::Monday => (
                    target_id.to_owned(),
                    pair.monday_id.clone().unwrap_or_default(),
                    pair.monday_id.clone().unwrap_or_default(),
                ),
                CoreSide::Salesforce => (
                    pair.salesforce_id.clone().unwrap_or_default(),
                    target_id.to_owned(),
                    pair.salesforce_id.clone().unwrap_or_default(),
                ),
            };
            let shadow = serde_json::to_value(shadow).unwrap_or_default();
            if !key.is_empty() {
                tx.upsert_link(&sf_id, &mo_id, &shadow).await?;
                tx.close_intent(key).await?;
                outcome.event(
                    source_side,
                    &source_id,
                    target_id,
                    pb::EventAction::Created,
                    String::new(),
                );
            } else {
                if !failed.contains(&index) {
                    tx.upsert_link(&sf_id, &mo_id, &shadow).await?;
                    if let Some(key) = &pair.adopted_intent {
                        tx.close_intent(key).await?;
                    }
                }
                outcome.event(
                    source_side,
                    &source_id,
                    target_id,
                    pb::EventAction::Updated,
                    String::new(),
                );
            }
        }
        for (sf_id, reason) in &unlink {
            tx.unlink(sf_id, reason).await?;
        }
        for (index, shadow) in &relinks {
            let pair = &pairs[*index];
            if let (Some(s), Some(m)) = (&pair.salesforce_id, &pair.monday_id) {
                tx.upsert_link(s, m, &serde_json::to_value(shadow).unwrap_or_default())
                    .await?;
                if let Some(key) = &pair.adopted_intent {
                    tx.close_intent(key).await?;
                }
            }
        }
        Ok(tx)
    }
}

/// A link-key value, normalised: JSON strings trimmed and lower-cased (emails, names), monday
/// text/email/link objects by their text, Salesforce Ids by their case-sensitive 15-character
/// form.
fn key_of(raw: &str, salesforce_id: bool) -> Option<String> {
    let value: serde_json::Value =
        serde_json::from_str(raw).unwrap_or(serde_json::Value::String(raw.to_owned()));
    let text = match &value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Object(o) => ["text", "email", "url"]
            .iter()
            .find_map(|k| o.get(*k).and_then(|v| v.as_str()))?
            .to_owned(),
        _ => return None,
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(if salesforce_id {
        text.chars().take(15).collect()
    } else {
        text.to_lowercase()
    })
}

/// Pairs records never linked whose link-key values are equal: a Salesforce-only pair takes
/// the monday-only pair with its key, which is then dropped. Each record pairs at most once.
fn relink_by_key(pairs: &mut Vec<Pair>, link_key: Option<&(String, String)>) {
    let Some((column, field)) = link_key else {
        return;
    };
    let is_id = field == "Id";
    let mut monday_by_key: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    for (i, pair) in pairs.iter().enumerate() {
        if pair.salesforce_id.is_some() || pair.shadow.is_some() {
            continue;
        }
        let Some(record) = &pair.monday else { continue };
        let raw = record.fields.get(column.as_str());
        if let Some(key) = raw.and_then(|raw| key_of(raw, is_id)) {
            monday_by_key.entry(key).or_insert(i);
        }
    }
    let mut taken = BTreeSet::new();
    for i in 0..pairs.len() {
        if pairs[i].monday_id.is_some() || pairs[i].shadow.is_some() {
            continue;
        }
        let Some(record) = &pairs[i].salesforce else {
            continue;
        };
        let key = if is_id {
            key_of(
                &serde_json::Value::String(record.id.clone()).to_string(),
                true,
            )
        } else {
            record
                .fields
                .get(field.as_str())
                .and_then(|raw| key_of(raw, false))
        };
        let Some(j) = key.and_then(|k| monday_by_key.remove(&k)) else {
            continue;
        };
        let (monday_id, monday) = (pairs[j].monday_id.take(), pairs[j].monday.take());
        taken.insert(j);
        let pair = &mut pairs[i];
        pair.monday_id = monday_id;
        pair.monday = monday;
        pair.relink = true;
    }
    let mut index = 0;
    pairs.retain(|_| {
        let keep = !taken.contains(&index);
        index += 1;
        keep
    });
}
