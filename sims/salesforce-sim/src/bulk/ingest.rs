//! The ingest job resources: create, upload CSV (`PUT …/batches`), close or abort
//! (`PATCH`), job info, job list, delete, and the three result files.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::Value;
use std::sync::Arc;

use super::csvdata::{self, Writer};
use super::job::{Common, Delimiter, IngestJob, JobState, LineEnding, Operation};
use super::{
    csv_response, invalid_job, invalid_state, job_not_found, list_page, not_allowed,
    requested_state,
};
use crate::Shared;
use crate::errors::ApiError;
use crate::http::{Req, json_response};
use crate::rest::Ctx;
use crate::store::stamp;

pub fn handle(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    req: &Req,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let m = &req.method;
    // Resource names are matched without regard to case (`unprocessedRecords` works too).
    let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let rest: Vec<&str> = rest
        .iter()
        .zip(&lower)
        .enumerate()
        .map(|(i, (orig, low))| if i == 0 { *orig } else { low.as_str() })
        .collect();
    match (m, rest.as_slice()) {
        (&Method::POST, []) => create(shared, ctx, req),
        (&Method::GET, []) => {
            let entries = shared.with_org(&ctx.org, |org, _| {
                org.bulk
                    .ingest
                    .values()
                    .map(IngestJob::list_entry)
                    .collect::<Vec<Value>>()
            });
            Ok(list_page(req, ctx, "ingest", entries))
        }
        (&Method::GET, [id]) => with_job(shared, ctx, id, |job| {
            Ok(json_response(StatusCode::OK, &job.info()))
        }),
        (&Method::PATCH, [id]) => patch(shared, ctx, req, id),
        (&Method::DELETE, [id]) => delete(shared, ctx, id),
        (&Method::PUT, [id, "batches"]) => upload(shared, ctx, req, id),
        (&Method::GET, [id, "successfulresults"]) => with_job(shared, ctx, id, |job| {
            let mut w = Writer::new(job.common.delimiter, job.common.line_ending);
            w.row(["sf__Id", "sf__Created"], header(job));
            for r in job.results.iter().filter(|r| r.error.is_none()) {
                let created = if r.created { "true" } else { "false" };
                w.row(
                    [r.id.as_str(), created]
                        .into_iter()
                        .chain(r.row.iter().map(String::as_str)),
                    [],
                );
            }
            Ok(csv_response(StatusCode::OK, w.finish()))
        }),
        (&Method::GET, [id, "failedresults"]) => with_job(shared, ctx, id, |job| {
            let mut w = Writer::new(job.common.delimiter, job.common.line_ending);
            w.row(["sf__Id", "sf__Error"], header(job));
            for r in &job.results {
                if let Some(e) = &r.error {
                    w.row(
                        [r.id.as_str(), e.as_str()]
                            .into_iter()
                            .chain(r.row.iter().map(String::as_str)),
                        [],
                    );
                }
            }
            Ok(csv_response(StatusCode::OK, w.finish()))
        }),
        (&Method::GET, [id, "unprocessedrecords"]) => with_job(shared, ctx, id, |job| {
            let mut w = Writer::new(job.common.delimiter, job.common.line_ending);
            w.row([], header(job));
            for row in &job.unprocessed {
                w.row(row.iter().map(String::as_str), []);
            }
            Ok(csv_response(StatusCode::OK, w.finish()))
        }),
        (_, [] | [_] | [_, _]) => Err(not_allowed(m)),
        _ => Err(ApiError::not_found()),
    }
}

fn header(job: &IngestJob) -> impl Iterator<Item = &str> {
    job.header.iter().map(String::as_str)
}

fn with_job(
    shared: &Shared,
    ctx: &Ctx,
    id: &str,
    f: impl FnOnce(&IngestJob) -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    shared.with_org(&ctx.org, |org, _| match org.bulk.ingest.get(id) {
        Some(job) => f(job),
        None => Err(job_not_found()),
    })
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn create(shared: &Shared, ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let body = req.json_body()?;
    let operation = match text(&body, "operation") {
        None => return Err(invalid_job("InvalidJob : Operation is required")),
        Some(op) => Operation::parse(op)
            .filter(|o| !matches!(o, Operation::Query | Operation::QueryAll))
            .ok_or_else(|| invalid_job(format!("InvalidJob : Invalid operation: {op}")))?,
    };
    let object_name =
        text(&body, "object").ok_or_else(|| invalid_job("InvalidJob : Object is required"))?;
    let o = shared
        .schema
        .object(object_name)
        .ok_or_else(|| invalid_job(format!("InvalidJob : Unable to find object: {object_name}")))?;
    if let Some(ct) = text(&body, "contentType")
        && ct != "CSV"
    {
        return Err(invalid_job(format!(
            "InvalidJob : Invalid content type: {ct}. Only CSV is supported"
        )));
    }
    let delimiter = match text(&body, "columnDelimiter") {
        None => Delimiter::Comma,
        Some(d) => Delimiter::parse(d)
            .ok_or_else(|| invalid_job(format!("InvalidJob : Invalid column delimiter: {d}")))?,
    };
    let line_ending = match text(&body, "lineEnding") {
        None => LineEnding::Lf,
        Some(l) => LineEnding::parse(l)
            .ok_or_else(|| invalid_job(format!("InvalidJob : Invalid line ending: {l}")))?,
    };
    let external_id = match (operation, text(&body, "externalIdFieldName")) {
        (Operation::Upsert, None) => {
            return Err(invalid_job(
                "InvalidJob : External ID field is required for upsert",
            ));
        }
        (Operation::Upsert, Some(name)) => {
            let f = o
                .field(name)
                .filter(|f| f.external_id || f.id_lookup || f.name == "Id")
                .ok_or_else(|| {
                    invalid_job(format!(
                        "InvalidJob : Field name provided, {name} does not match an External ID, Salesforce Id, or indexed field for {}",
                        o.name
                    ))
                })?;
            Some(f.name.clone())
        }
        _ => None,
    };
    let job = shared.with_org(&ctx.org, |org, _| {
        let now = stamp();
        let job = IngestJob {
            common: Common {
                id: org.next_id("750"),
                operation,
                object: o.name.clone(),
                created_by: ctx.user_id.clone(),
                created_date: now.clone(),
                modstamp: now,
                state: JobState::Open,
                delimiter,
                line_ending,
                api_version: ctx.version.clone(),
                error_message: None,
                retries: 0,
                started: None,
                processing_ms: 0,
            },
            external_id,
            origin: crate::pubsub::events::api_origin(
                "bulkapi",
                &ctx.version,
                req.header("sforce-call-options"),
            ),
            uploads: Vec::new(),
            upload_bytes: 0,
            header: Vec::new(),
            results: Vec::new(),
            unprocessed: Vec::new(),
        };
        let summary = job.summary();
        org.bulk.ingest.insert(job.common.id.clone(), job);
        summary
    });
    Ok(json_response(StatusCode::OK, &job))
}

/// Refuses an upload over the allocation per request (150 MB), as Salesforce does.
pub fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        crate::errors::SfError::new(
            "EXCEEDED_MAX_SIZE_REQUEST",
            format!("Your request was too large: job data may be at most {max} bytes per upload"),
        ),
    )
}

fn upload(shared: &Shared, ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let max = shared.config.bulk.max_upload_bytes;
    if req.body.len() > max {
        return Err(too_large(max));
    }
    if req.body.is_empty() {
        return Err(ApiError::bad_request(
            "INVALIDBATCH",
            "InvalidBatch : The request body is empty: upload CSV data",
        ));
    }
    shared.with_org(&ctx.org, |org, _| {
        let job = org.bulk.ingest.get_mut(id).ok_or_else(job_not_found)?;
        if job.common.state != JobState::Open {
            return Err(invalid_state(
                StatusCode::CONFLICT,
                format!(
                    "Job {id} is not in the Open state (it is {}): data can only be uploaded to an open job",
                    job.common.state.as_str()
                ),
            ));
        }
        job.upload_bytes += req.body.len();
        job.uploads.push(req.body.to_vec());
        job.common.modstamp = stamp();
        Ok(crate::http::empty(StatusCode::CREATED))
    })
}

fn patch(shared: &Arc<Shared>, ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let wanted = requested_state(req)?;
    let (summary, start) = shared.with_org(&ctx.org, |org, _| {
        let job = org.bulk.ingest.get_mut(id).ok_or_else(job_not_found)?;
        let from = job.common.state;
        let to = match (wanted.as_str(), from) {
            ("UploadComplete", JobState::Open) => JobState::UploadComplete,
            ("Aborted", JobState::Open | JobState::UploadComplete | JobState::InProgress) => {
                JobState::Aborted
            }
            _ => {
                return Err(invalid_state(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Found invalid state transition from {} to {wanted}",
                        from.as_str()
                    ),
                ));
            }
        };
        job.common.set_state(to);
        if to == JobState::Aborted {
            // Data never processed is the job's unprocessed records.
            for upload in std::mem::take(&mut job.uploads) {
                if let Ok(t) = csvdata::parse(&upload, job.common.delimiter, job.common.line_ending)
                {
                    job.header = t.header;
                    job.unprocessed.extend(t.rows);
                }
            }
        }
        Ok((job.summary(), to == JobState::UploadComplete))
    })?;
    if start {
        super::process::spawn_ingest(shared.clone(), ctx.org.clone(), id.to_string());
    }
    Ok(json_response(StatusCode::OK, &summary))
}

fn delete(shared: &Shared, ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    shared.with_org(&ctx.org, |org, _| {
        let job = org.bulk.ingest.get(id).ok_or_else(job_not_found)?;
        let state = job.common.state;
        if !(state.terminal() || state == JobState::UploadComplete) {
            return Err(invalid_state(
                StatusCode::BAD_REQUEST,
                format!(
                    "Job {id} is {}: only a job that is UploadComplete, JobComplete, Aborted or Failed can be deleted",
                    state.as_str()
                ),
            ));
        }
        org.bulk.ingest.remove(id);
        Ok(crate::http::empty(StatusCode::NO_CONTENT))
    })
}
