//! The `tandem.v1.RunHistory` gRPC service: validation, permissions, and the mapping from
//! rows to messages.

use std::time::Duration;

use tandem_proto::v1::run_history_server::RunHistory;
use tandem_proto::v1::{
    AppendEventsRequest, AppendEventsResponse, EventAction, FieldChange, FinishRunRequest,
    GetRunRequest, ListEventsRequest, ListEventsResponse, ListRunsRequest, ListRunsResponse,
    PageResponse, PurgeExpiredRequest, PurgeExpiredResponse, RecordEvent, RemoteError, Run,
    RunCounters, RunStatus, Side, StartRunRequest, Trigger,
};
use tandem_service::Identity;
use tandem_service::names::SYNC_ORCHESTRATOR;
use tandem_service::server::ServiceOnly;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::internal;
use crate::explain::explain;
use crate::page;
use crate::store::{
    Counters, EventFilter, EventRow, NewEvent, RunFilter, RunRow, Store, StoredChange, StoredError,
};

/// The most events one AppendEvents call may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;
const RUNS_PAGE: (u32, u32) = (50, 500);
const EVENTS_PAGE: (u32, u32) = (100, 1_000);
/// Rows deleted per purge statement.
pub const PURGE_BATCH: i64 = 5_000;

#[derive(Clone)]
pub struct RunHistoryService {
    store: Store,
    retention: Duration,
}

impl RunHistoryService {
    pub fn new(store: Store, retention: Duration) -> Self {
        Self { store, retention }
    }
}

/// The write RPCs: only the orchestrator records runs (and may ask for a purge, which the
/// service also runs on its own); users and other services are refused before their message
/// is read.
pub const SERVICE_ONLY: ServiceOnly = ServiceOnly(&[
    ("StartRun", &[SYNC_ORCHESTRATOR]),
    ("AppendEvents", &[SYNC_ORCHESTRATOR]),
    ("FinishRun", &[SYNC_ORCHESTRATOR]),
    ("PurgeExpired", &[SYNC_ORCHESTRATOR]),
]);

fn parse_run_id(text: &str, field: &str) -> Result<Uuid, Status> {
    if text.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is required")));
    }
    text.parse()
        .map_err(|_| Status::invalid_argument(format!("{field} `{text}` is not a run id (a UUID)")))
}

fn to_time(ts: &prost_types::Timestamp, field: &str) -> Result<OffsetDateTime, Status> {
    tandem_proto::timestamp::to_offset(ts)
        .ok_or_else(|| Status::invalid_argument(format!("{field} is out of range")))
}

use tandem_proto::timestamp::from_offset as to_timestamp;

fn to_run(row: RunRow) -> Run {
    Run {
        id: row.id.to_string(),
        integration_id: row.integration_id,
        owner: row.owner,
        account: row.account,
        trigger: i32::from(row.trigger),
        status: i32::from(row.status),
        started_at: Some(to_timestamp(row.started_at)),
        finished_at: row.finished_at.map(to_timestamp),
        counters: Some(RunCounters {
            read: row.read_count as u64,
            created: row.created_count as u64,
            updated: row.updated_count as u64,
            skipped: row.skipped_count as u64,
            failed: row.failed_count as u64,
            conflicts: row.conflict_count as u64,
            salesforce_api_calls: row.salesforce_api_calls as u64,
            monday_api_calls: row.monday_api_calls as u64,
        }),
        error: row.error,
    }
}

/// The event as the caller may see it: field values only for the owner and services.
fn to_event(row: EventRow, show_values: bool) -> RecordEvent {
    RecordEvent {
        key: row.key,
        run_id: row.run_id.to_string(),
        source_side: i32::from(row.source_side),
        source_record_id: row.source_record_id,
        target_record_id: row.target_record_id,
        source_name: row.source_name,
        target_name: row.target_name,
        target_side: i32::from(row.target_side),
        action: i32::from(row.action),
        reason: row.reason,
        changes: row
            .changes
            .0
            .into_iter()
            .map(|c| {
                let visible = show_values && !c.redacted;
                let shown = |v: String| if visible { v } else { String::new() };
                FieldChange {
                    field: c.field,
                    source_field: c.source_field,
                    before: shown(c.before),
                    after: shown(c.after),
                    salesforce_value: shown(c.salesforce_value),
                    monday_value: shown(c.monday_value),
                    winner: c.winner,
                    redacted: !visible,
                }
            })
            .collect(),
        errors: row
            .errors
            .0
            .into_iter()
            .map(|e| RemoteError {
                code: e.code,
                message: e.message,
                fields: e.fields,
                explanation: e.explanation,
                source_kind: e.source_kind,
                target_kind: e.target_kind,
            })
            .collect(),
        at: Some(to_timestamp(row.at)),
    }
}

fn counters(c: Option<RunCounters>) -> Counters {
    let c = c.unwrap_or_default();
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Counters {
        read: n(c.read),
        created: n(c.created),
        updated: n(c.updated),
        skipped: n(c.skipped),
        failed: n(c.failed),
        conflicts: n(c.conflicts),
        salesforce_api_calls: n(c.salesforce_api_calls),
        monday_api_calls: n(c.monday_api_calls),
    }
}

/// Checks one event and turns it into a row; sensitive values are dropped here, so they are
/// never stored.
fn validate_event(i: usize, e: RecordEvent, run_id: &str) -> Result<NewEvent, Status> {
    let field = |name: &str| format!("events[{i}].{name}");
    if e.key.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{} is required",
            field("key")
        )));
    }
    if e.key.len() > 200 {
        return Err(Status::invalid_argument(format!(
            "{} is longer than 200 bytes",
            field("key")
        )));
    }
    if !e.run_id.is_empty() && e.run_id != run_id {
        return Err(Status::invalid_argument(format!(
            "{} `{}` differs from run_id `{run_id}`",
            field("run_id"),
            e.run_id
        )));
    }
    let action = EventAction::try_from(e.action)
        .ok()
        .filter(|a| *a != EventAction::Unspecified)
        .ok_or_else(|| {
            Status::invalid_argument(format!("{} must be set to a known action", field("action")))
        })?;
    let side = Side::try_from(e.source_side)
        .ok()
        .filter(|s| *s != Side::Unspecified)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "{} must be salesforce or monday",
                field("source_side")
            ))
        })?;
    // Unspecified means the other side of the source (events of older orchestrators).
    let target_side = match Side::try_from(e.target_side) {
        Ok(Side::Unspecified) => match side {
            Side::Salesforce => Side::Monday,
            _ => Side::Salesforce,
        },
        Ok(s) => s,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "{} must be salesforce or monday",
                field("target_side")
            )));
        }
    };
    let at =
        e.at.as_ref()
            .map(|t| to_time(t, &field("at")))
            .transpose()?;
    let changes = e
        .changes
        .into_iter()
        .enumerate()
        .map(|(j, c)| stored_change(c, &field(&format!("changes[{j}].winner"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewEvent {
        key: e.key,
        source_side: side as i16,
        source_record_id: e.source_record_id,
        target_record_id: e.target_record_id,
        source_name: e.source_name,
        target_name: e.target_name,
        target_side: target_side as i16,
        action: action as i16,
        reason: e.reason,
        changes,
        errors: e
            .errors
            .into_iter()
            .map(|r| StoredError {
                explanation: if r.explanation.is_empty() {
                    explain(&r.code, &r.fields, &r.source_kind, &r.target_kind).unwrap_or_default()
                } else {
                    r.explanation
                },
                code: r.code,
                message: r.message,
                fields: r.fields,
                source_kind: r.source_kind,
                target_kind: r.target_kind,
            })
            .collect(),
        at,
    })
}

/// A change as stored: a redacted one keeps no value at all.
fn stored_change(c: FieldChange, winner_field: &str) -> Result<StoredChange, Status> {
    if Side::try_from(c.winner).is_err() {
        return Err(Status::invalid_argument(format!(
            "{winner_field} must be salesforce, monday or unspecified"
        )));
    }
    let kept = |v: String| if c.redacted { String::new() } else { v };
    Ok(StoredChange {
        field: c.field,
        source_field: c.source_field,
        before: kept(c.before),
        after: kept(c.after),
        salesforce_value: kept(c.salesforce_value),
        monday_value: kept(c.monday_value),
        winner: c.winner,
        redacted: c.redacted,
    })
}

/// The run, if the caller may see it (same account, or a service). Otherwise NOT_FOUND, so
/// run ids of other accounts are not revealed.
async fn visible_run(store: &Store, identity: &Identity, id: Uuid) -> Result<RunRow, Status> {
    let run = store.get_run(id).await.map_err(internal)?;
    match (run, identity) {
        (Some(run), Identity::Service { .. }) => Ok(run),
        (Some(run), Identity::User { account, .. }) if &run.account == account => Ok(run),
        _ => Err(Status::not_found(format!("run {id} not found"))),
    }
}

#[tonic::async_trait]
impl RunHistory for RunHistoryService {
    #[tracing::instrument(skip_all, fields(integration_id))]
    async fn start_run(&self, request: Request<StartRunRequest>) -> Result<Response<Run>, Status> {
        SERVICE_ONLY.require(&request, "StartRun")?;
        let r = request.into_inner();
        tracing::Span::current().record("integration_id", r.integration_id.as_str());
        for (name, value) in [
            ("integration_id", &r.integration_id),
            ("owner", &r.owner),
            ("account", &r.account),
        ] {
            if value.is_empty() {
                return Err(Status::invalid_argument(format!("{name} is required")));
            }
        }
        let trigger = Trigger::try_from(r.trigger)
            .ok()
            .filter(|t| *t != Trigger::Unspecified)
            .ok_or_else(|| Status::invalid_argument("trigger must be set to a known trigger"))?;
        let row = self
            .store
            .start_run(
                &r.integration_id,
                &r.account,
                &r.owner,
                trigger as i16,
                RunStatus::Running as i16,
            )
            .await
            .map_err(internal)?;
        Ok(Response::new(to_run(row)))
    }

    #[tracing::instrument(skip_all, fields(run_id, events))]
    async fn append_events(
        &self,
        request: Request<AppendEventsRequest>,
    ) -> Result<Response<AppendEventsResponse>, Status> {
        SERVICE_ONLY.require(&request, "AppendEvents")?;
        let r = request.into_inner();
        let run_id = parse_run_id(&r.run_id, "run_id")?;
        tracing::Span::current().record("run_id", r.run_id.as_str());
        tracing::Span::current().record("events", r.events.len());
        if r.events.len() > MAX_EVENTS_PER_APPEND {
            return Err(Status::invalid_argument(format!(
                "events holds {} events; at most {MAX_EVENTS_PER_APPEND} per call",
                r.events.len()
            )));
        }
        let events = r
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| validate_event(i, e, &r.run_id))
            .collect::<Result<Vec<_>, _>>()?;
        let run = self.store.get_run(run_id).await.map_err(internal)?;
        match run {
            None => return Err(Status::not_found(format!("run {run_id} not found"))),
            Some(run) if run.status != RunStatus::Running as i16 => {
                return Err(Status::failed_precondition(format!(
                    "run {run_id} is finished; no events can be added"
                )));
            }
            Some(_) => {}
        }
        let inserted = if events.is_empty() {
            0
        } else {
            self.store
                .append_events(run_id, &events)
                .await
                .map_err(internal)?
        };
        Ok(Response::new(AppendEventsResponse { inserted }))
    }

    #[tracing::instrument(skip_all, fields(run_id))]
    async fn finish_run(
        &self,
        request: Request<FinishRunRequest>,
    ) -> Result<Response<Run>, Status> {
        SERVICE_ONLY.require(&request, "FinishRun")?;
        let r = request.into_inner();
        let run_id = parse_run_id(&r.run_id, "run_id")?;
        tracing::Span::current().record("run_id", r.run_id.as_str());
        let status = match RunStatus::try_from(r.status) {
            Ok(s @ (RunStatus::Succeeded | RunStatus::PartiallyFailed | RunStatus::Failed)) => s,
            _ => {
                return Err(Status::invalid_argument(
                    "status must be succeeded, partially failed or failed",
                ));
            }
        };
        let finished = self
            .store
            .finish_run(
                run_id,
                RunStatus::Running as i16,
                status as i16,
                &counters(r.counters),
                &r.error,
            )
            .await
            .map_err(internal)?;
        match finished {
            Some(row) => Ok(Response::new(to_run(row))),
            None => match self.store.get_run(run_id).await.map_err(internal)? {
                Some(_) => Err(Status::failed_precondition(format!(
                    "run {run_id} is already finished"
                ))),
                None => Err(Status::not_found(format!("run {run_id} not found"))),
            },
        }
    }

    async fn list_runs(
        &self,
        request: Request<ListRunsRequest>,
    ) -> Result<Response<ListRunsResponse>, Status> {
        let identity = Identity::of(&request)?.clone();
        let r = request.into_inner();
        let page = r.page.unwrap_or_default();
        let after = match page.page_token.as_str() {
            "" => None,
            token => Some(page::parse_run_token(token).ok_or_else(|| {
                Status::invalid_argument("page.page_token is not a token that ListRuns issued")
            })?),
        };
        let status = RunStatus::try_from(r.status).map_err(|_| {
            Status::invalid_argument(format!("status {} is not a run status", r.status))
        })?;
        let limit = page::size(page.page_size, RUNS_PAGE.0, RUNS_PAGE.1)
            .map_err(Status::invalid_argument)?;
        let account = match &identity {
            Identity::User { account, .. } => Some(account.as_str()),
            Identity::Service { .. } => None,
        };
        let since = r.since.as_ref().map(|t| to_time(t, "since")).transpose()?;
        let until = r.until.as_ref().map(|t| to_time(t, "until")).transpose()?;
        let rows = self
            .store
            .list_runs(&RunFilter {
                integration_id: &r.integration_id,
                account,
                status: status as i16,
                since,
                until,
                after,
                limit: limit + 1,
            })
            .await
            .map_err(internal)?;
        let (rows, next) = split_page(rows, limit, |last| {
            page::run_token(last.started_at, last.id)
        });
        Ok(Response::new(ListRunsResponse {
            runs: rows.into_iter().map(to_run).collect(),
            page: Some(PageResponse {
                next_page_token: next,
            }),
        }))
    }

    async fn get_run(&self, request: Request<GetRunRequest>) -> Result<Response<Run>, Status> {
        let identity = Identity::of(&request)?.clone();
        let run_id = parse_run_id(&request.get_ref().run_id, "run_id")?;
        Ok(Response::new(to_run(
            visible_run(&self.store, &identity, run_id).await?,
        )))
    }

    async fn list_events(
        &self,
        request: Request<ListEventsRequest>,
    ) -> Result<Response<ListEventsResponse>, Status> {
        let identity = Identity::of(&request)?.clone();
        let r = request.into_inner();
        let run_id = parse_run_id(&r.run_id, "run_id")?;
        let page = r.page.unwrap_or_default();
        let after_seq = match page.page_token.as_str() {
            "" => None,
            token => Some(page::parse_event_token(token).ok_or_else(|| {
                Status::invalid_argument("page.page_token is not a token that ListEvents issued")
            })?),
        };
        let action = EventAction::try_from(r.action).map_err(|_| {
            Status::invalid_argument(format!("action {} is not an event action", r.action))
        })?;
        let side = Side::try_from(r.source_side).map_err(|_| {
            Status::invalid_argument(format!("source_side {} is not a side", r.source_side))
        })?;
        let limit = page::size(page.page_size, EVENTS_PAGE.0, EVENTS_PAGE.1)
            .map_err(Status::invalid_argument)?;
        let run = visible_run(&self.store, &identity, run_id).await?;
        let show_values = match &identity {
            Identity::Service { .. } => true,
            Identity::User { email, .. } => tandem_service::same_email(email, &run.owner),
        };
        let rows = self
            .store
            .list_events(&EventFilter {
                run_id,
                action: action as i16,
                record_id: &r.record_id,
                source_side: side as i16,
                after_seq,
                limit: limit + 1,
            })
            .await
            .map_err(internal)?;
        let (rows, next) = split_page(rows, limit, |last| page::event_token(last.seq));
        Ok(Response::new(ListEventsResponse {
            events: rows
                .into_iter()
                .map(|row| to_event(row, show_values))
                .collect(),
            page: Some(PageResponse {
                next_page_token: next,
            }),
        }))
    }

    async fn purge_expired(
        &self,
        request: Request<PurgeExpiredRequest>,
    ) -> Result<Response<PurgeExpiredResponse>, Status> {
        SERVICE_ONLY.require(&request, "PurgeExpired")?;
        let cutoff = OffsetDateTime::now_utc() - self.retention;
        let purged = self
            .store
            .purge(cutoff, PURGE_BATCH)
            .await
            .map_err(internal)?;
        tracing::info!(
            runs = purged.runs,
            events = purged.events,
            "purged expired history on demand"
        );
        Ok(Response::new(PurgeExpiredResponse {
            runs_deleted: purged.runs,
            events_deleted: purged.events,
            cutoff: Some(to_timestamp(cutoff)),
        }))
    }
}

/// Rows fetched with one extra: the page, and the token after its last row when more remain.
fn split_page<T>(mut rows: Vec<T>, limit: i64, token: impl Fn(&T) -> String) -> (Vec<T>, String) {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        let next = rows.last().map(&token).unwrap_or_default();
        (rows, next)
    } else {
        (rows, String::new())
    }
}
