//! Query jobs: SOQL through the simulator's own engine, results as CSV pages read with
//! `locator` and `maxRecords`, the next locator in `Sforce-Locator` (`null` at the end) and
//! the page's size in `Sforce-NumberOfRecords`.

use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

use super::csvdata::Writer;
use super::job::{Common, Delimiter, JobState, LineEnding, Operation, QueryJob};
use super::{csv_response, invalid_job, invalid_state, job_not_found, list_page, not_allowed};
use crate::errors::ApiError;
use crate::http::{Req, json_response};
use crate::rest::Ctx;
use crate::store::stamp;
use crate::{Shared, query, soql};

pub fn handle(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    req: &Req,
    rest: &[&str],
) -> Result<Response, ApiError> {
    let m = &req.method;
    match (m, rest) {
        (&Method::POST, []) => create(shared, ctx, req),
        (&Method::GET, []) => {
            let entries = shared.with_org(&ctx.org, |org, _| {
                org.bulk
                    .query
                    .values()
                    .map(QueryJob::list_entry)
                    .collect::<Vec<Value>>()
            });
            Ok(list_page(req, ctx, "query", entries))
        }
        (&Method::GET, [id]) => shared.with_org(&ctx.org, |org, _| {
            let job = org.bulk.query.get(*id).ok_or_else(job_not_found)?;
            Ok(json_response(StatusCode::OK, &job.info()))
        }),
        (&Method::PATCH, [id]) => {
            let wanted = super::requested_state(req)?;
            shared.with_org(&ctx.org, |org, _| {
                let job = org.bulk.query.get_mut(*id).ok_or_else(job_not_found)?;
                let from = job.common.state;
                if wanted != "Aborted" || from.terminal() {
                    return Err(invalid_state(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "Found invalid state transition from {} to {wanted}",
                            from.as_str()
                        ),
                    ));
                }
                job.common.set_state(JobState::Aborted);
                job.rows.clear();
                Ok(json_response(StatusCode::OK, &job.summary()))
            })
        }
        (&Method::DELETE, [id]) => shared.with_org(&ctx.org, |org, _| {
            let job = org.bulk.query.get(*id).ok_or_else(job_not_found)?;
            if !job.common.state.terminal() {
                return Err(invalid_state(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Job {id} is {}: only a job that is JobComplete, Aborted or Failed can be deleted",
                        job.common.state.as_str()
                    ),
                ));
            }
            org.bulk.query.remove(*id);
            Ok(crate::http::empty(StatusCode::NO_CONTENT))
        }),
        (&Method::GET, [id, "results"]) => results(shared, ctx, req, id),
        (_, [] | [_] | [_, _]) => Err(not_allowed(m)),
        _ => Err(ApiError::not_found()),
    }
}

fn create(shared: &Arc<Shared>, ctx: &Ctx, req: &Req) -> Result<Response, ApiError> {
    let body = req.json_body()?;
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    let operation = match text("operation") {
        Some("query") => Operation::Query,
        Some("queryAll") => Operation::QueryAll,
        Some(other) => {
            return Err(invalid_job(format!(
                "InvalidJob : Invalid operation for a query job: {other}"
            )));
        }
        None => return Err(invalid_job("InvalidJob : Operation is required")),
    };
    let soql_text = text("query").ok_or_else(|| invalid_job("InvalidJob : Query is required"))?;
    let delimiter = match text("columnDelimiter") {
        None => Delimiter::Comma,
        Some(d) => Delimiter::parse(d)
            .ok_or_else(|| invalid_job(format!("InvalidJob : Invalid column delimiter: {d}")))?,
    };
    let line_ending = match text("lineEnding") {
        None => LineEnding::Lf,
        Some(l) => LineEnding::parse(l)
            .ok_or_else(|| invalid_job(format!("InvalidJob : Invalid line ending: {l}")))?,
    };
    let parsed = soql::parse(soql_text).map_err(|e| {
        let err = query::query_error(soql_text, e.col, "MALFORMED_QUERY", &e.message);
        ApiError::bad_request("API_ERROR", err.message)
    })?;
    if parsed.count {
        return Err(invalid_job(
            "InvalidJob : Failed to process query: Aggregate queries are not supported",
        ));
    }
    let object = shared
        .schema
        .object(&parsed.from)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| parsed.from.clone());
    let columns: Vec<Vec<String>> = parsed
        .fields
        .iter()
        .map(|p| {
            let parts = if p.parts.len() > 1 && p.parts[0].eq_ignore_ascii_case(&object) {
                &p.parts[1..]
            } else {
                &p.parts[..]
            };
            parts.to_vec()
        })
        .collect();
    let all = operation == Operation::QueryAll;
    let summary = shared.with_org(&ctx.org, |org, schema| {
        let now = shared.bus.now();
        let u = &mut org.bulk.usage;
        if u.query_jobs.used(now) >= u.query_jobs_max {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                crate::errors::SfError::new(
                    "LIMIT_EXCEEDED",
                    format!(
                        "Max number of query jobs per 24 hours ({}) exceeded (DailyBulkV2QueryJobs)",
                        u.query_jobs_max
                    ),
                ),
            ));
        }
        // The query runs now, against the data as it is; its rows are handed out once
        // the job has been processed.
        let out = query::run(schema, org, soql_text, all, &ctx.version).map_err(|e| {
            ApiError::bad_request("INVALIDJOB", format!("Failed to process query: {}: {}", e.code, e.message))
        })?;
        org.bulk.usage.query_jobs.add(now, 1);
        let now = stamp();
        let job = QueryJob {
            common: Common {
                id: org.next_id("750"),
                operation,
                object: object.clone(),
                created_by: ctx.user_id.clone(),
                created_date: now.clone(),
                modstamp: now,
                state: JobState::UploadComplete,
                delimiter,
                line_ending,
                api_version: ctx.version.clone(),
                error_message: None,
                retries: 0,
                started: None,
                processing_ms: 0,
            },
            soql: soql_text.to_string(),
            header: columns.iter().map(|c| c.join(".")).collect(),
            rows: Vec::new(),
        };
        let summary = job.summary();
        let id = job.common.id.clone();
        org.bulk.query.insert(id.clone(), job);
        Ok((summary, id, out.rows))
    })?;
    let (summary, id, found) = summary;
    let (shared2, org) = (shared.clone(), ctx.org.clone());
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        shared2.faults.bulk_released().await;
        let started = Instant::now();
        let live = shared2.with_org(&org, |o, _| match o.bulk.query.get_mut(&id) {
            Some(j) if j.common.state == JobState::UploadComplete => {
                j.common.set_state(JobState::InProgress);
                true
            }
            _ => false,
        });
        if !live {
            return;
        }
        let rows: Vec<Vec<String>> = found.iter().map(|r| flatten(r, &columns)).collect();
        shared2.with_org(&org, |o, _| {
            if let Some(j) = o.bulk.query.get_mut(&id)
                && j.common.state == JobState::InProgress
            {
                j.rows = rows;
                j.common.processing_ms = started.elapsed().as_millis() as u64;
                j.common.set_state(JobState::JobComplete);
            }
        });
    });
    Ok(json_response(StatusCode::OK, &summary))
}

/// A rendered record's value at a field path, as Bulk CSV shows it.
fn flatten(record: &Value, columns: &[Vec<String>]) -> Vec<String> {
    columns
        .iter()
        .map(|path| {
            let mut v = record;
            for part in path {
                let next = v.as_object().and_then(|m| {
                    m.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(part))
                        .map(|(_, v)| v)
                });
                match next {
                    Some(n) => v = n,
                    None => return String::new(),
                }
            }
            cell(v)
        })
        .collect()
}

/// Bulk CSV values: empty for null, `true`/`false`, datetimes in UTC with `Z`.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => match s.strip_suffix("+0000") {
            Some(head) if head.len() == 23 && head.as_bytes()[10] == b'T' => format!("{head}Z"),
            _ => s.clone(),
        },
        other => other.to_string(),
    }
}

fn results(shared: &Shared, ctx: &Ctx, req: &Req, id: &str) -> Result<Response, ApiError> {
    let invalid_locator =
        || ApiError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
    let from = match req
        .query_param("locator")
        .filter(|l| !l.is_empty() && l != "null")
    {
        None => 0,
        Some(l) => STANDARD_NO_PAD
            .decode(l.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(invalid_locator)?,
    };
    let max = match req.query_param("maxRecords") {
        None => usize::MAX,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(ApiError::bad_request(
                    "INVALIDJOB",
                    format!("maxRecords must be a positive integer: {m}"),
                ));
            }
        },
    };
    shared.with_org(&ctx.org, |org, _| {
        let job = org.bulk.query.get(id).ok_or_else(job_not_found)?;
        if job.common.api_version != ctx.version {
            return Err(invalid_state(
                StatusCode::CONFLICT,
                format!(
                    "Job {id} was created with API version {}: read its results with the same version",
                    job.common.api_version
                ),
            ));
        }
        if job.common.state != JobState::JobComplete {
            return Err(invalid_state(
                StatusCode::CONFLICT,
                format!(
                    "Job {id} is {}: results are available once it is JobComplete",
                    job.common.state.as_str()
                ),
            ));
        }
        if from > job.rows.len() {
            return Err(invalid_locator());
        }
        let end = from.saturating_add(max).min(job.rows.len());
        let mut w = Writer::new(job.common.delimiter, job.common.line_ending);
        w.row(job.header.iter().map(String::as_str), []);
        for row in &job.rows[from..end] {
            w.row(row.iter().map(String::as_str), []);
        }
        let locator = if end < job.rows.len() {
            STANDARD_NO_PAD.encode(end.to_string())
        } else {
            "null".to_string()
        };
        let mut r = csv_response(StatusCode::OK, w.finish());
        let headers = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&locator) {
            headers.insert("sforce-locator", v);
        }
        headers.insert("sforce-numberofrecords", HeaderValue::from(end - from));
        Ok(r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_paths_and_formats_values_as_bulk_csv() {
        let rec = json!({
            "attributes": {"type": "Project__c"},
            "Name": "A", "Budget__c": 250.5, "Active__c": true, "Notes__c": null,
            "CreatedDate": "2026-01-02T03:04:05.000+0000",
            "Owner": {"attributes": {}, "Email": "a@b.c"}, "Account__r": null
        });
        let cols: Vec<Vec<String>> = [
            "Name",
            "Budget__c",
            "Active__c",
            "Notes__c",
            "CreatedDate",
            "Owner.Email",
            "Account__r.Name",
        ]
        .iter()
        .map(|c| c.split('.').map(str::to_string).collect())
        .collect();
        assert_eq!(
            flatten(&rec, &cols),
            vec![
                "A",
                "250.5",
                "true",
                "",
                "2026-01-02T03:04:05.000Z",
                "a@b.c",
                ""
            ]
        );
    }
}
