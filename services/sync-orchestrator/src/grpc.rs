//! The `tandem.v1.SyncOrchestrator` gRPC service.

use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::sync_orchestrator_server::SyncOrchestrator;
use tandem_proto::v1::{
    GetIntegrationRequest, GetIntegrationStatusRequest, ImportRequest, ImportResponse, Integration,
    IntegrationState, IntegrationStatus, PauseIntegrationRequest, ResumeIntegrationRequest,
    SetIntegrationStateRequest, Side, SubmitChangesRequest, SubmitChangesResponse, SyncNowRequest,
    SyncNowResponse, Trigger,
};
use tandem_service::Identity;
use tandem_service::client::PeerChannel;
use tandem_service::names::CONNECTOR_MONDAY;
use tandem_service::server::ServiceOnly;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use crate::coalesce::{Buffer, DELETED, RecordKey};
use crate::run::{CycleError, Deps};
use crate::store::Store;

/// The most changes one SubmitChanges call may carry.
pub const MAX_SUBMITTED_CHANGES: usize = 10_000;
/// The RPCs only Tandem services call: connector-monday's webhook ingress submits changes
/// (Salesforce change events are read by the orchestrator itself, see `stream`); users and
/// other services are refused before their message is read.
pub const SERVICE_ONLY: ServiceOnly = ServiceOnly(&[("SubmitChanges", &[CONNECTOR_MONDAY])]);

/// Handlers of the SyncOrchestrator RPCs; those not yet written answer UNIMPLEMENTED.
#[derive(Clone)]
pub struct SyncOrchestratorService {
    store: Store,
    buffer: Buffer,
    mapping_config: MappingConfigClient<PeerChannel>,
    deps: Deps,
}

impl SyncOrchestratorService {
    pub fn new(deps: Deps) -> Self {
        Self {
            store: deps.store.clone(),
            buffer: deps.buffer.clone(),
            mapping_config: deps.peers.mapping_config.clone(),
            deps,
        }
    }

    /// The integration, if `identity` may act on it: services always, users of its account.
    async fn integration_for(&self, identity: &Identity, id: &str) -> Result<Integration, Status> {
        if id.is_empty() {
            return Err(Status::invalid_argument("integration_id is required"));
        }
        let integration = self
            .mapping_config
            .clone()
            .get_integration(GetIntegrationRequest { id: id.to_owned() })
            .await?
            .into_inner();
        match identity {
            Identity::Service { .. } => Ok(integration),
            Identity::User { account, .. } if *account == integration.account => Ok(integration),
            Identity::User { .. } => Err(Status::not_found(format!("integration {id} not found"))),
        }
    }

    /// The integration's state (mapping-config's), last and next run, pending changes, links.
    async fn status(&self, integration: Integration) -> Result<IntegrationStatus, Status> {
        let id = integration.id.clone();
        let state = match integration.state() {
            IntegrationState::Active => "active",
            IntegrationState::Paused => "paused",
            IntegrationState::Unspecified => "unknown",
        };
        let pending = self
            .buffer
            .pending_count(&id)
            .await
            .map_err(|e| internal("the coalescing buffer", e))?;
        let links = self
            .store
            .link_count(&id)
            .await
            .map_err(|e| internal("sync state", e))?;
        let failing = self
            .store
            .failing_count(&id)
            .await
            .map_err(|e| internal("sync state", e))?;
        let last = self
            .store
            .last_run(&id)
            .await
            .map_err(|e| internal("sync state", e))?;
        let usage = self
            .store
            .usage(&id)
            .await
            .map_err(|e| internal("sync state", e))?;
        let import = self
            .store
            .import_progress(&id)
            .await
            .map_err(|e| internal("sync state", e))?;
        let timestamp = tandem_proto::timestamp::from_offset;
        let active = integration.state() == IntegrationState::Active;
        // The due-queue's time once the scheduler follows the integration; until then (just
        // created or resumed), now.
        let next = match active {
            true => Some(
                self.deps
                    .due
                    .next_due(&id)
                    .await
                    .map_err(|e| internal("sync state", e))?
                    .unwrap_or_else(time::OffsetDateTime::now_utc),
            ),
            false => None,
        };
        Ok(IntegrationStatus {
            state: state.to_owned(),
            state_reason: integration.state_reason,
            pending_changes: pending,
            linked_records: links as u64,
            failing_records: failing as u64,
            last_run_id: last
                .as_ref()
                .map(|(_, run, _)| run.clone())
                .unwrap_or_default(),
            last_run_at: last.as_ref().map(|(at, _, _)| timestamp(*at)),
            next_run_at: next.map(timestamp),
            salesforce_usage: usage.map(|u| tandem_proto::v1::ApiUsage {
                used: u.salesforce_used,
                limit: u.salesforce_limit,
            }),
            monday_usage: usage.map(|u| tandem_proto::v1::ApiUsage {
                used: u.monday_used,
                limit: u.monday_limit,
            }),
            import: import.map(|p| tandem_proto::v1::ImportProgress {
                source: crate::store::Side::from_code(p.source)
                    .map_or(tandem_proto::v1::Side::Unspecified, Into::into)
                    as i32,
                records_done: p.records as u64,
                records_total: p.total as u64,
                started_at: Some(timestamp(p.started_at)),
                updated_at: Some(timestamp(p.updated_at)),
            }),
            integration_id: id,
        })
    }

    /// Pauses or resumes for its owner (or a service), through mapping-config.
    async fn set_state(
        &self,
        identity: &Identity,
        id: &str,
        state: IntegrationState,
        reason: String,
    ) -> Result<IntegrationStatus, Status> {
        let integration = self.integration_for(identity, id).await?;
        require_owner(identity, &integration, "pause or resume it")?;
        let on_behalf_of = match identity {
            Identity::User { email, .. } => email.clone(),
            Identity::Service { .. } => String::new(),
        };
        let changed = self
            .mapping_config
            .clone()
            .set_integration_state(SetIntegrationStateRequest {
                id: id.to_owned(),
                state: state as i32,
                reason,
                on_behalf_of,
            })
            .await?
            .into_inner();
        self.status(changed).await
    }
}

/// Refuses a user other than the integration's owner with PERMISSION_DENIED: what syncs,
/// writes or changes state runs on the owner's connections, so only they (or a service) may
/// start it. `what` completes "only its owner may …".
fn require_owner(identity: &Identity, integration: &Integration, what: &str) -> Result<(), Status> {
    match identity {
        Identity::User { email, .. } if !tandem_service::same_email(email, &integration.owner) => {
            Err(Status::permission_denied(format!(
                "integration {} belongs to {}; only its owner may {what}",
                integration.id, integration.owner
            )))
        }
        Identity::User { .. } | Identity::Service { .. } => Ok(()),
    }
}

/// Storage the request needed is down: logged once, UNAVAILABLE without internals.
fn internal(what: &str, error: impl std::fmt::Display) -> Status {
    tandem_service::status::unavailable(what, error)
}

use tandem_proto::timestamp::now_millis as now_ms;

impl From<CycleError> for Status {
    fn from(error: CycleError) -> Self {
        match error {
            CycleError::Busy(_) | CycleError::Lease(crate::lease::LeaseError::Fenced { .. }) => {
                Status::aborted(error.to_string())
            }
            CycleError::Paused(..) | CycleError::Settings { .. } => {
                Status::failed_precondition(error.to_string())
            }
            CycleError::Remote(status) => status,
            CycleError::Stopped | CycleError::Lease(crate::lease::LeaseError::Lost { .. }) => {
                Status::unavailable(error.to_string())
            }
            CycleError::Lease(_) | CycleError::Store(_) | CycleError::Buffer(_) => {
                internal("sync state", error)
            }
        }
    }
}

#[tonic::async_trait]
impl SyncOrchestrator for SyncOrchestratorService {
    #[tracing::instrument(skip_all, fields(integration_id, dry_run))]
    async fn import(
        &self,
        request: Request<ImportRequest>,
    ) -> Result<Response<ImportResponse>, Status> {
        let identity = Identity::of(&request)?.clone();
        let r = request.into_inner();
        tracing::Span::current().record("integration_id", r.integration_id.as_str());
        tracing::Span::current().record("dry_run", r.dry_run);
        let source = match Side::try_from(r.source) {
            Ok(Side::Salesforce) => tandem_core::merge::Side::Salesforce,
            Ok(Side::Monday) => tandem_core::merge::Side::Monday,
            _ => {
                return Err(Status::invalid_argument(
                    "source must be salesforce or monday",
                ));
            }
        };
        let link_key = match (
            r.match_monday_column_id.is_empty(),
            r.match_salesforce_field.is_empty(),
        ) {
            (true, true) => None,
            (false, false) => Some((r.match_monday_column_id, r.match_salesforce_field)),
            (true, false) => {
                return Err(Status::invalid_argument(
                    "match_monday_column_id is required with match_salesforce_field",
                ));
            }
            (false, true) => {
                return Err(Status::invalid_argument(
                    "match_salesforce_field is required with match_monday_column_id",
                ));
            }
        };
        let integration = self.integration_for(&identity, &r.integration_id).await?;
        // A dry run writes nothing: any member of the account may preview one.
        if !r.dry_run {
            require_owner(
                &identity,
                &integration,
                "import into it (a dry run is open to the account)",
            )?;
        }
        // The import runs in a task of its own: neither the caller going away nor the server's
        // request limit cuts it short (a 100,000-item import into monday takes over an hour).
        let (opened, open) = tokio::sync::oneshot::channel();
        let deps = self.deps.clone();
        let id = r.integration_id.clone();
        let dry_run = r.dry_run;
        let task =
            tokio::spawn(
                async move {
                    crate::run::import(&deps, &id, source, dry_run, link_key, Some(opened)).await
                }
                .instrument(tracing::Span::current()),
            );
        if r.detach
            && let Ok(run_id) = open.await
        {
            return Ok(Response::new(ImportResponse { run_id }));
        }
        // Not detached, or refused before its run opened: the task's outcome is the answer.
        let run = task
            .await
            .map_err(|e| Status::internal(format!("the import stopped: {e}")))??;
        Ok(Response::new(ImportResponse { run_id: run.id }))
    }

    #[tracing::instrument(skip_all, fields(integration_id))]
    async fn sync_now(
        &self,
        request: Request<SyncNowRequest>,
    ) -> Result<Response<SyncNowResponse>, Status> {
        let identity = Identity::of(&request)?.clone();
        let id = request.into_inner().integration_id;
        tracing::Span::current().record("integration_id", id.as_str());
        let integration = self.integration_for(&identity, &id).await?;
        require_owner(&identity, &integration, "sync it")?;
        let run = crate::run::sync(&self.deps, &id, Trigger::Manual).await?;
        Ok(Response::new(SyncNowResponse { run_id: run.id }))
    }

    #[tracing::instrument(skip_all, fields(integration_id))]
    async fn get_integration_status(
        &self,
        request: Request<GetIntegrationStatusRequest>,
    ) -> Result<Response<IntegrationStatus>, Status> {
        let identity = Identity::of(&request)?.clone();
        let id = request.into_inner().integration_id;
        tracing::Span::current().record("integration_id", id.as_str());
        let integration = self.integration_for(&identity, &id).await?;
        Ok(Response::new(self.status(integration).await?))
    }

    #[tracing::instrument(skip_all, fields(integration_id))]
    async fn pause_integration(
        &self,
        request: Request<PauseIntegrationRequest>,
    ) -> Result<Response<IntegrationStatus>, Status> {
        let identity = Identity::of(&request)?.clone();
        let r = request.into_inner();
        tracing::Span::current().record("integration_id", r.integration_id.as_str());
        self.set_state(
            &identity,
            &r.integration_id,
            IntegrationState::Paused,
            r.reason,
        )
        .await
        .map(Response::new)
    }

    #[tracing::instrument(skip_all, fields(integration_id))]
    async fn resume_integration(
        &self,
        request: Request<ResumeIntegrationRequest>,
    ) -> Result<Response<IntegrationStatus>, Status> {
        let identity = Identity::of(&request)?.clone();
        let r = request.into_inner();
        tracing::Span::current().record("integration_id", r.integration_id.as_str());
        self.set_state(
            &identity,
            &r.integration_id,
            IntegrationState::Active,
            String::new(),
        )
        .await
        .map(Response::new)
    }

    #[tracing::instrument(
        skip_all,
        fields(board_id, salesforce_org_id, salesforce_object, changes)
    )]
    async fn submit_changes(
        &self,
        request: Request<SubmitChangesRequest>,
    ) -> Result<Response<SubmitChangesResponse>, Status> {
        SERVICE_ONLY.require(&request, "SubmitChanges")?;
        let mut r = request.into_inner();
        let submitted = std::mem::take(&mut r.changes);
        let span = tracing::Span::current();
        span.record("board_id", r.board_id.as_str());
        span.record("salesforce_org_id", r.salesforce_org_id.as_str());
        span.record("salesforce_object", r.salesforce_object.as_str());
        span.record("changes", submitted.len());
        let side = match Side::try_from(r.side) {
            Ok(Side::Monday) => crate::store::Side::Monday,
            Ok(Side::Salesforce) => crate::store::Side::Salesforce,
            _ => {
                return Err(Status::invalid_argument(
                    "side must be salesforce or monday",
                ));
            }
        };
        let route = route_of(&r, side)?;
        if submitted.len() > MAX_SUBMITTED_CHANGES {
            return Err(Status::invalid_argument(format!(
                "changes holds {} records; at most {MAX_SUBMITTED_CHANGES} per call",
                submitted.len()
            )));
        }
        let now = now_ms();
        let mut changes = Vec::with_capacity(submitted.len());
        for (i, change) in submitted.into_iter().enumerate() {
            if change.id.is_empty() {
                return Err(Status::invalid_argument(format!(
                    "changes[{i}].id is required"
                )));
            }
            let at = change
                .modified_at
                .map(|t| t.seconds * 1_000 + i64::from(t.nanos) / 1_000_000)
                .unwrap_or(now);
            let mut fields: Vec<(String, String, i64)> =
                change.fields.into_iter().map(|(k, v)| (k, v, at)).collect();
            if change.deleted {
                fields.push((DELETED.to_owned(), "true".to_owned(), at));
            }
            changes.push((RecordKey::new(side, change.id), fields));
        }
        self.deps.metrics.submitted(side.name(), changes.len());
        let mut integrations = match route {
            Route::Board(board) => crate::submit::on_board(&self.mapping_config, board).await?,
            Route::Object(org, object) => {
                crate::submit::on_object(&self.mapping_config, org, object).await?
            }
        };
        integrations.retain(|i| !r.skip_integration_ids.contains(&i.id));
        crate::submit::buffer(&self.deps, &integrations, &changes, now).await?;
        Ok(Response::new(SubmitChangesResponse {
            integrations: integrations.len() as u32,
        }))
    }
}

/// Where submitted changes go: the integrations on a monday board, or on a Salesforce object.
enum Route<'a> {
    Board(&'a str),
    Object(&'a str, &'a str),
}

/// The route a SubmitChanges request names: `board_id`, or (Salesforce changes only)
/// `salesforce_org_id` with `salesforce_object`.
fn route_of(r: &SubmitChangesRequest, side: crate::store::Side) -> Result<Route<'_>, Status> {
    let org = r.salesforce_org_id.trim();
    let object = r.salesforce_object.trim();
    if org.is_empty() && object.is_empty() {
        if r.board_id.is_empty() {
            return Err(Status::invalid_argument(
                "board_id is required (or, for Salesforce changes, salesforce_org_id and salesforce_object)",
            ));
        }
        return Ok(Route::Board(&r.board_id));
    }
    if side != crate::store::Side::Salesforce {
        return Err(Status::invalid_argument(
            "salesforce_org_id and salesforce_object route Salesforce changes only: side must be salesforce",
        ));
    }
    if !r.board_id.is_empty() {
        return Err(Status::invalid_argument(
            "board_id and salesforce_org_id are exclusive: name either the board or the org and object",
        ));
    }
    match (org.is_empty(), object.is_empty()) {
        (true, _) => Err(Status::invalid_argument(
            "salesforce_org_id is required with salesforce_object",
        )),
        (_, true) => Err(Status::invalid_argument(
            "salesforce_object is required with salesforce_org_id",
        )),
        _ => Ok(Route::Object(org, object)),
    }
}
