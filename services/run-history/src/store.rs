//! The `history` schema: runs, events, keyset queries and the batched purge.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: Uuid,
    pub integration_id: String,
    pub account: String,
    pub owner: String,
    pub trigger: i16,
    pub status: i16,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub read_count: i64,
    pub created_count: i64,
    pub updated_count: i64,
    pub skipped_count: i64,
    pub failed_count: i64,
    pub conflict_count: i64,
    pub salesforce_api_calls: i64,
    pub monday_api_calls: i64,
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub read: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub conflicts: i64,
    pub salesforce_api_calls: i64,
    pub monday_api_calls: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredChange {
    pub field: String,
    pub before: String,
    pub after: String,
    pub redacted: bool,
    // Added later: rows written before read them as empty.
    #[serde(default)]
    pub source_field: String,
    #[serde(default)]
    pub salesforce_value: String,
    #[serde(default)]
    pub monday_value: String,
    /// The winning side of a conflict (the proto's `Side` number), 0 when none.
    #[serde(default)]
    pub winner: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredError {
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
    pub explanation: String,
    // Added later: rows written before read them as empty.
    #[serde(default)]
    pub source_kind: String,
    #[serde(default)]
    pub target_kind: String,
}

/// A validated event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub key: String,
    pub source_side: i16,
    pub source_record_id: String,
    pub target_record_id: String,
    pub source_name: String,
    pub target_name: String,
    pub target_side: i16,
    pub action: i16,
    pub reason: String,
    pub changes: Vec<StoredChange>,
    pub errors: Vec<StoredError>,
    pub at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub run_id: Uuid,
    pub seq: i64,
    pub key: String,
    pub source_side: i16,
    pub source_record_id: String,
    pub target_record_id: String,
    pub source_name: String,
    pub target_name: String,
    pub target_side: i16,
    pub action: i16,
    pub reason: String,
    pub changes: Json<Vec<StoredChange>>,
    pub errors: Json<Vec<StoredError>>,
    pub at: OffsetDateTime,
}

pub struct RunFilter<'a> {
    pub integration_id: &'a str,
    /// `None` for services, who see every account.
    pub account: Option<&'a str>,
    pub status: i16,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub after: Option<(OffsetDateTime, Uuid)>,
    pub limit: i64,
}

pub struct EventFilter<'a> {
    pub run_id: Uuid,
    pub action: i16,
    pub record_id: &'a str,
    pub source_side: i16,
    pub after_seq: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub runs: u64,
    pub events: u64,
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

const RUN_COLUMNS: &str = "id, integration_id, account, owner, trigger, status, started_at, finished_at, \
    read_count, created_count, updated_count, skipped_count, failed_count, conflict_count, \
    salesforce_api_calls, monday_api_calls, error";

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn start_run(
        &self,
        integration_id: &str,
        account: &str,
        owner: &str,
        trigger: i16,
        running: i16,
    ) -> Result<RunRow, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO runs (id, integration_id, account, owner, trigger, status)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {RUN_COLUMNS}"
        )))
        .bind(Uuid::new_v4())
        .bind(integration_id)
        .bind(account)
        .bind(owner)
        .bind(trigger)
        .bind(running)
        .fetch_one(&self.pool)
        .await
    }

    pub async fn get_run(&self, id: Uuid) -> Result<Option<RunRow>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Finishes a running run; `None` when it is not running (finished already or missing).
    pub async fn finish_run(
        &self,
        id: Uuid,
        running: i16,
        status: i16,
        counters: &Counters,
        error: &str,
    ) -> Result<Option<RunRow>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE runs SET status = $3, finished_at = now(), read_count = $4, created_count = $5,
                 updated_count = $6, skipped_count = $7, failed_count = $8, conflict_count = $9,
                 salesforce_api_calls = $10, monday_api_calls = $11, error = $12
             WHERE id = $1 AND status = $2 RETURNING {RUN_COLUMNS}"
        )))
        .bind(id)
        .bind(running)
        .bind(status)
        .bind(counters.read)
        .bind(counters.created)
        .bind(counters.updated)
        .bind(counters.skipped)
        .bind(counters.failed)
        .bind(counters.conflicts)
        .bind(counters.salesforce_api_calls)
        .bind(counters.monday_api_calls)
        .bind(error)
        .fetch_optional(&self.pool)
        .await
    }

    /// Appends events in one statement; rows whose key the run has already are skipped.
    /// Returns how many rows were new.
    pub async fn append_events(
        &self,
        run_id: Uuid,
        events: &[NewEvent],
    ) -> Result<u64, sqlx::Error> {
        let mut keys = Vec::with_capacity(events.len());
        let mut sides = Vec::with_capacity(events.len());
        let mut sources = Vec::with_capacity(events.len());
        let mut targets = Vec::with_capacity(events.len());
        let mut source_names = Vec::with_capacity(events.len());
        let mut target_names = Vec::with_capacity(events.len());
        let mut target_sides = Vec::with_capacity(events.len());
        let mut actions = Vec::with_capacity(events.len());
        let mut reasons = Vec::with_capacity(events.len());
        let mut changes = Vec::with_capacity(events.len());
        let mut errors = Vec::with_capacity(events.len());
        let mut ats = Vec::with_capacity(events.len());
        for e in events {
            keys.push(e.key.as_str());
            sides.push(e.source_side);
            sources.push(e.source_record_id.as_str());
            targets.push(e.target_record_id.as_str());
            source_names.push(e.source_name.as_str());
            target_names.push(e.target_name.as_str());
            target_sides.push(e.target_side);
            actions.push(e.action);
            reasons.push(e.reason.as_str());
            changes.push(serde_json::to_string(&e.changes).unwrap_or_else(|_| "[]".to_owned()));
            errors.push(serde_json::to_string(&e.errors).unwrap_or_else(|_| "[]".to_owned()));
            ats.push(e.at);
        }
        let result = sqlx::query(
            "INSERT INTO events (run_id, key, source_side, source_record_id, target_record_id, action,
                                 reason, changes, errors, at, source_name, target_name, target_side)
             SELECT $1, k, s, sr, tr, a, r, c::jsonb, e::jsonb, coalesce(t, now()), sn, tn, ts
             FROM unnest($2::text[], $3::int2[], $4::text[], $5::text[], $6::int2[], $7::text[],
                         $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[],
                         $13::int2[]) AS u(k, s, sr, tr, a, r, c, e, t, sn, tn, ts)
             ON CONFLICT (run_id, key) DO NOTHING",
        )
        .bind(run_id)
        .bind(&keys)
        .bind(&sides)
        .bind(&sources)
        .bind(&targets)
        .bind(&actions)
        .bind(&reasons)
        .bind(&changes)
        .bind(&errors)
        .bind(&ats)
        .bind(&source_names)
        .bind(&target_names)
        .bind(&target_sides)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Runs newest first, keyset-paged on (started_at, id).
    pub async fn list_runs(&self, f: &RunFilter<'_>) -> Result<Vec<RunRow>, sqlx::Error> {
        let mut q: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {RUN_COLUMNS} FROM runs WHERE true"));
        if !f.integration_id.is_empty() {
            q.push(" AND integration_id = ").push_bind(f.integration_id);
        }
        if let Some(account) = f.account {
            q.push(" AND account = ").push_bind(account);
        }
        if f.status != 0 {
            q.push(" AND status = ").push_bind(f.status);
        }
        if let Some(since) = f.since {
            q.push(" AND started_at >= ").push_bind(since);
        }
        if let Some(until) = f.until {
            q.push(" AND started_at < ").push_bind(until);
        }
        if let Some((at, id)) = f.after {
            q.push(" AND (started_at, id) < (")
                .push_bind(at)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        q.push(" ORDER BY started_at DESC, id DESC LIMIT ")
            .push_bind(f.limit);
        q.build_query_as().fetch_all(&self.pool).await
    }

    /// Events of one run newest first, keyset-paged on seq.
    pub async fn list_events(&self, f: &EventFilter<'_>) -> Result<Vec<EventRow>, sqlx::Error> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT run_id, seq, key, source_side, source_record_id, target_record_id, source_name, \
             target_name, target_side, action, reason, changes, errors, at FROM events WHERE run_id = ",
        );
        q.push_bind(f.run_id);
        if f.action != 0 {
            q.push(" AND action = ").push_bind(f.action);
        }
        if !f.record_id.is_empty() {
            q.push(" AND (source_record_id = ")
                .push_bind(f.record_id)
                .push(" OR target_record_id = ")
                .push_bind(f.record_id)
                .push(")");
        }
        if f.source_side != 0 {
            q.push(" AND source_side = ").push_bind(f.source_side);
        }
        if let Some(seq) = f.after_seq {
            q.push(" AND seq < ").push_bind(seq);
        }
        q.push(" ORDER BY seq DESC LIMIT ").push_bind(f.limit);
        q.build_query_as().fetch_all(&self.pool).await
    }

    /// Deletes runs started before `cutoff` and their events, `batch` rows per statement so
    /// no statement holds locks for long, whether or not the integration still exists.
    pub async fn purge(&self, cutoff: OffsetDateTime, batch: i64) -> Result<Purged, sqlx::Error> {
        let mut purged = Purged::default();
        loop {
            let runs: Vec<Uuid> =
                sqlx::query_scalar("SELECT id FROM runs WHERE started_at < $1 LIMIT 100")
                    .bind(cutoff)
                    .fetch_all(&self.pool)
                    .await?;
            if runs.is_empty() {
                break;
            }
            loop {
                let deleted = sqlx::query(
                    "DELETE FROM events WHERE ctid = ANY(ARRAY(
                         SELECT ctid FROM events WHERE run_id = ANY($1) LIMIT $2))",
                )
                .bind(&runs)
                .bind(batch)
                .execute(&self.pool)
                .await?
                .rows_affected();
                purged.events += deleted;
                if deleted < batch as u64 {
                    break;
                }
            }
            purged.runs += sqlx::query("DELETE FROM runs WHERE id = ANY($1)")
                .bind(&runs)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(purged)
    }
}
