//! One Bulk API 2.0 ingest job on a session: create, upload the CSV, close, poll until
//! Salesforce is done (aborting it past the timeout), read the three result files. Every
//! call goes through the session: budget checked, token refreshed once on 401.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value as Json, json};
use tandem_proto::v1::BulkJob;

use crate::api::{Session, remote_error};
use crate::config::BulkOptions;
use crate::error::Error;
use crate::transport::{Body, CSV};

/// What an ingest job is asked to do.
pub struct Spec<'a> {
    pub object: &'a str,
    /// `insert`, `update` or `upsert`.
    pub operation: &'static str,
    pub external_id: Option<&'a str>,
}

/// A job Salesforce has finished with, and its result files.
pub struct Finished {
    pub job: BulkJob,
    pub successful: String,
    pub failed: String,
    pub unprocessed: String,
}

fn text(v: &Json, key: &str) -> String {
    v.get(key)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn terminal(state: &str) -> bool {
    matches!(state, "JobComplete" | "Failed" | "Aborted")
}

/// The job info as the contract's `BulkJob`.
pub fn job_of(info: &Json) -> BulkJob {
    let n = |k: &str| info.get(k).and_then(Json::as_u64).unwrap_or(0);
    BulkJob {
        id: text(info, "id"),
        operation: text(info, "operation"),
        state: text(info, "state"),
        records_processed: n("numberRecordsProcessed"),
        records_failed: n("numberRecordsFailed"),
        error_message: text(info, "errorMessage"),
    }
}

/// Sends `csv` through one ingest job and waits for its results.
pub async fn run(
    s: &mut Session<'_>,
    options: &BulkOptions,
    spec: &Spec<'_>,
    csv: String,
) -> Result<Finished, Error> {
    let mut body = json!({
        "object": spec.object,
        "operation": spec.operation,
        "contentType": "CSV",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    });
    if let Some(field) = spec.external_id {
        body["externalIdFieldName"] = json!(field);
    }
    // Not idempotent: a second job would be left open.
    let reply = s
        .send(
            Method::POST,
            "jobs/ingest",
            Body::Text(body.to_string()),
            false,
        )
        .await?;
    if !reply.ok() {
        return Err(remote_error(&reply));
    }
    let id = text(&reply.json()?, "id");
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::Protocol(format!(
            "bulk job created without a usable id: {}",
            reply.body.chars().take(200).collect::<String>()
        )));
    }
    let job = format!("jobs/ingest/{id}");
    tracing::info!(job_id = %id, operation = spec.operation, bytes = csv.len(), "bulk job created");
    // Not idempotent either: the same data twice would write every record twice.
    let reply = s
        .send(
            Method::PUT,
            &format!("{job}/batches"),
            Body::Csv(csv),
            false,
        )
        .await?;
    if !reply.ok() {
        let error = remote_error(&reply);
        set_state(s, &job, "Aborted").await.ok();
        return Err(error);
    }
    set_state(s, &job, "UploadComplete").await?;
    let info = wait(s, options, &job).await?;
    let mut files = Vec::with_capacity(3);
    for file in [
        "successfulResults/",
        "failedResults/",
        "unprocessedrecords/",
    ] {
        let reply = s
            .send_accepting(Method::GET, &format!("{job}/{file}"), Body::None, true, CSV)
            .await?;
        if !reply.ok() {
            return Err(remote_error(&reply));
        }
        files.push(reply.body);
    }
    let unprocessed = files.pop().unwrap_or_default();
    let failed = files.pop().unwrap_or_default();
    let successful = files.pop().unwrap_or_default();
    Ok(Finished {
        job: job_of(&info),
        successful,
        failed,
        unprocessed,
    })
}

async fn set_state(s: &mut Session<'_>, job: &str, state: &str) -> Result<Json, Error> {
    let body = json!({ "state": state }).to_string();
    let reply = s.send(Method::PATCH, job, Body::Text(body), true).await?;
    if !reply.ok() {
        return Err(remote_error(&reply));
    }
    reply.json()
}

/// Polls the job until it is JobComplete, Failed or Aborted; past the timeout it is aborted
/// (what it had not processed then comes back unprocessed).
pub(super) async fn wait(
    s: &mut Session<'_>,
    options: &BulkOptions,
    job: &str,
) -> Result<Json, Error> {
    let deadline = Instant::now() + Duration::from_secs(options.job_timeout_seconds);
    let max = Duration::from_millis(options.poll_max_ms.max(1));
    let mut pause = Duration::from_millis(options.poll_initial_ms.max(1)).min(max);
    let mut aborted = false;
    loop {
        let info = s.get(job).await?;
        let state = text(&info, "state");
        if terminal(&state) {
            tracing::info!(job = %job, %state, processed = info["numberRecordsProcessed"].as_u64(), "bulk job done");
            return Ok(info);
        }
        if aborted && Instant::now() >= deadline + max * 30 {
            return Err(Error::Unavailable(format!(
                "{job} is still {state} long after it was aborted"
            )));
        }
        if !aborted && Instant::now() >= deadline {
            tracing::warn!(job = %job, %state, timeout_s = options.job_timeout_seconds, "bulk job too slow; aborting it");
            match set_state(s, job, "Aborted").await {
                Ok(_) => aborted = true,
                // Finished in the meantime: the next poll says so.
                Err(Error::Remote { status: 400, .. }) => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        // Pacing against Salesforce (each poll is an API call), not synchronisation.
        tokio::time::sleep(pause).await;
        pause = (pause + pause / 2).min(max);
    }
}
