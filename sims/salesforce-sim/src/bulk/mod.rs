//! Bulk API 2.0 under `/services/data/vXX.X/jobs/`: ingest jobs (insert, update, upsert,
//! delete, hardDelete of CSV data) and query jobs (SOQL to CSV), processed asynchronously
//! after the request that closes them, through the same validation, derived fields, change
//! events and row-lock faults as REST writes, within the org's Bulk allocations.
//!
//! Every HTTP request here is one API call, as in Salesforce. Each 10,000 records of an
//! ingest job count as one batch against `DailyBulkApiBatches` (shared with Bulk API 1.0),
//! and every record against the 150,000,000 records a day; query jobs count against
//! `DailyBulkV2QueryJobs`: all three over a rolling 24 hours of the bus clock.

mod allocation;
mod csvdata;
mod ingest;
mod job;
mod process;
mod query_job;
mod rows;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Shared;
use crate::errors::{ApiError, SfError};
use crate::http::{Req, json_response};
use crate::rest::Ctx;

pub use allocation::BulkUsage;
pub(crate) use ingest::too_large;
pub use job::{IngestJob, QueryJob};

/// Records Salesforce puts in one internal batch.
pub const RECORDS_PER_BATCH: usize = 10_000;
/// Records processed in one transaction (one trigger invocation, one change event commit).
pub const RECORDS_PER_CHUNK: usize = 200;
/// Times a batch is retried before its records fail (row locks).
pub const MAX_RETRIES: u32 = 10;

/// The org-wide Bulk allocations a new org starts with.
#[derive(Debug, Clone)]
pub struct BulkConfig {
    /// `DailyBulkApiBatches.Max`.
    pub batches_per_day: u64,
    /// Records uploaded per rolling 24 hours.
    pub records_per_day: u64,
    /// `DailyBulkV2QueryJobs.Max`.
    pub query_jobs_per_day: u64,
    /// Bytes of CSV one upload may carry (150 MB).
    pub max_upload_bytes: usize,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            batches_per_day: 15_000,
            records_per_day: 150_000_000,
            query_jobs_per_day: 10_000,
            max_upload_bytes: 150 * 1024 * 1024,
        }
    }
}

/// An org's Bulk API 2.0 jobs.
#[derive(Debug, Default)]
pub struct Jobs {
    pub ingest: BTreeMap<String, IngestJob>,
    pub query: BTreeMap<String, QueryJob>,
    pub usage: allocation::Allocations,
}

impl Jobs {
    pub fn init(&mut self, c: &BulkConfig) {
        self.usage.batches_max = c.batches_per_day;
        self.usage.records_max = c.records_per_day;
        self.usage.query_jobs_max = c.query_jobs_per_day;
    }
}

pub(crate) fn csv_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, Body::from(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=UTF-8"),
    );
    r
}

pub(crate) fn job_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        SfError::new("NOT_FOUND", "The requested resource does not exist"),
    )
}

pub(crate) fn invalid_job(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALIDJOB", message)
}

pub(crate) fn invalid_state(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError::new(status, SfError::new("INVALIDJOBSTATE", message))
}

/// The body of `PATCH jobs/…/{id}`: `{"state": "UploadComplete"|"Aborted"}`.
pub(crate) fn requested_state(req: &Req) -> Result<String, ApiError> {
    let body = req.json_body()?;
    body.get("state")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::json_parser("Missing required field: state"))
}

/// `GET jobs/ingest` and `jobs/query`: `{"done", "records", "nextRecordsUrl"}`, 1,000 a page.
pub(crate) fn list_page(req: &Req, ctx: &Ctx, kind: &str, entries: Vec<Value>) -> Response {
    const PAGE: usize = 1000;
    let from: usize = req
        .query_param("queryLocator")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let total = entries.len();
    let end = from.saturating_add(PAGE).min(total);
    let page: Vec<Value> = entries.into_iter().take(end).skip(from).collect();
    let next = (end < total).then(|| {
        format!(
            "/services/data/v{}/jobs/{kind}?queryLocator={end}",
            ctx.version
        )
    });
    json_response(
        StatusCode::OK,
        &json!({"done": next.is_none(), "records": page, "nextRecordsUrl": next}),
    )
}

/// Routes `jobs/…` (the segments after `jobs`).
pub(crate) fn handle(shared: &Arc<Shared>, ctx: &Ctx, req: &Req, segs: &[&str]) -> Response {
    let result = match segs {
        ["ingest", rest @ ..] => ingest::handle(shared, ctx, req, rest),
        ["query", rest @ ..] => query_job::handle(shared, ctx, req, rest),
        _ => Err(ApiError::not_found()),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Refuses a method a resource does not take.
pub(crate) fn not_allowed(m: &Method) -> ApiError {
    ApiError::method_not_allowed(m.as_str())
}
