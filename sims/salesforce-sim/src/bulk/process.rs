//! Processing of a closed ingest job, in the background: the data split into batches of
//! 10,000 records (each counted against the org's allocations), each batch written 200
//! records a transaction under the org's lock (one change-event commit each), a row-lock
//! fault retrying the chunk up to 10 times, an abort or a spent allocation leaving the rest
//! unprocessed.

use std::sync::Arc;
use std::time::Instant;

use super::csvdata;
use super::job::{IngestJob, JobState, RowResult};
use super::rows::{self, Columns};
use super::{MAX_RETRIES, RECORDS_PER_BATCH, RECORDS_PER_CHUNK};
use crate::Shared;
use crate::pubsub::events;

/// Starts processing job `id` of `org` (after its `UploadComplete`).
pub fn spawn_ingest(shared: Arc<Shared>, org: String, id: String) {
    tokio::spawn(async move {
        run(&shared, &org, &id).await;
    });
}

/// What processing needs from the job, taken once.
struct Plan {
    uploads: Vec<Vec<u8>>,
    op: super::job::Operation,
    object: String,
    external_id: Option<String>,
    user: String,
    origin: String,
    delimiter: super::job::Delimiter,
    line_ending: super::job::LineEnding,
}

fn job<'a>(org: &'a mut crate::store::Org, id: &str) -> Option<&'a mut IngestJob> {
    org.bulk.ingest.get_mut(id)
}

/// Ends the job `Failed` with `message`; `rest` becomes its unprocessed records.
fn fail(shared: &Shared, org: &str, id: &str, message: String, rest: Vec<Vec<String>>) {
    shared.with_org(org, |o, _| {
        if let Some(j) = job(o, id) {
            tracing::debug!(job = id, %message, "bulk job failed");
            j.common.error_message = Some(message);
            j.unprocessed.extend(rest);
            finish(j, JobState::Failed);
        }
    });
}

fn finish(j: &mut IngestJob, state: JobState) {
    if let Some(t) = j.common.started {
        j.common.processing_ms = t.elapsed().as_millis() as u64;
    }
    j.common.set_state(state);
}

async fn run(shared: &Shared, org: &str, id: &str) {
    tokio::task::yield_now().await;
    shared.faults.bulk_released().await;
    let plan = shared.with_org(org, |o, _| {
        let j = job(o, id).filter(|j| j.common.state == JobState::UploadComplete)?;
        j.common.set_state(JobState::InProgress);
        j.common.started = Some(Instant::now());
        Some(Plan {
            uploads: std::mem::take(&mut j.uploads),
            op: j.common.operation,
            object: j.common.object.clone(),
            external_id: j.external_id.clone(),
            user: j.common.created_by.clone(),
            origin: j.origin.clone(),
            delimiter: j.common.delimiter,
            line_ending: j.common.line_ending,
        })
    });
    let Some(mut plan) = plan else { return };
    let uploads = std::mem::take(&mut plan.uploads);
    let mut header: Option<Vec<String>> = None;
    let mut data: Vec<Vec<String>> = Vec::new();
    for upload in &uploads {
        match csvdata::parse(upload, plan.delimiter, plan.line_ending) {
            Err(e) => return fail(shared, org, id, e.0, Vec::new()),
            Ok(t) => {
                if header.as_ref().is_some_and(|h| *h != t.header) {
                    let message =
                        "InvalidBatch : All uploads of a job must have the same header".into();
                    return fail(shared, org, id, message, Vec::new());
                }
                header = Some(t.header);
                data.extend(t.rows);
            }
        }
    }
    drop(uploads);
    let header = header.unwrap_or_default();
    let Some(o) = shared.schema.object(&plan.object) else {
        return fail(
            shared,
            org,
            id,
            "InvalidJob : Unable to find object".into(),
            data,
        );
    };
    shared.with_org(org, |o, _| {
        if let Some(j) = job(o, id) {
            j.header = header.clone();
        }
    });
    if data.is_empty() {
        shared.with_org(org, |o, _| {
            job(o, id).map(|j| finish(j, JobState::JobComplete))
        });
        return;
    }
    let cols = match rows::columns(o, &header, plan.op, plan.external_id.as_deref()) {
        Ok(c) => c,
        Err(message) => return fail(shared, org, id, message, data),
    };
    let mut pending = data.into_iter();
    while pending.len() > 0 {
        let batch: Vec<Vec<String>> = pending.by_ref().take(RECORDS_PER_BATCH).collect();
        if let Err(message) = count_batch(shared, org, id, batch.len()) {
            let rest: Vec<Vec<String>> = batch.into_iter().chain(pending).collect();
            return match message {
                Some(m) => fail(shared, org, id, m, rest),
                None => abandon(shared, org, id, rest),
            };
        }
        let mut rows = batch.into_iter();
        while rows.len() > 0 {
            let chunk: Vec<Vec<String>> = rows.by_ref().take(RECORDS_PER_CHUNK).collect();
            if let Err(chunk) = write_chunk(shared, org, id, &plan, &cols, chunk).await {
                let rest = chunk.into_iter().chain(rows).chain(pending).collect();
                return abandon(shared, org, id, rest);
            }
            tokio::task::yield_now().await;
        }
    }
    shared.with_org(org, |o, _| {
        job(o, id).map(|j| finish(j, JobState::JobComplete))
    });
}

/// The job was aborted or deleted meanwhile: what is left stays unprocessed.
fn abandon(shared: &Shared, org: &str, id: &str, rest: Vec<Vec<String>>) {
    shared.with_org(org, |o, _| {
        if let Some(j) = job(o, id) {
            j.unprocessed.extend(rest);
            if let Some(t) = j.common.started {
                j.common.processing_ms = t.elapsed().as_millis() as u64;
            }
        }
    });
}

/// Counts one batch of `n` records; `Err(Some(message))` when an allocation is spent,
/// `Err(None)` when the job is no longer in progress.
fn count_batch(shared: &Shared, org: &str, id: &str, n: usize) -> Result<(), Option<String>> {
    shared.with_org(org, |o, _| {
        let live = job(o, id).is_some_and(|j| j.common.state == JobState::InProgress);
        if !live {
            return Err(None);
        }
        let now = shared.bus.now();
        let u = &mut o.bulk.usage;
        if u.batches.used(now) >= u.batches_max {
            return Err(Some(format!(
                "InvalidBatch : Exceeded the daily allocation of {} batches (DailyBulkApiBatches); the remaining records were not processed",
                u.batches_max
            )));
        }
        if u.records.used(now) + n as u64 > u.records_max {
            return Err(Some(format!(
                "InvalidBatch : Exceeded the limit of {} records uploaded per rolling 24 hours; the remaining records were not processed",
                u.records_max
            )));
        }
        u.batches.add(now, 1);
        u.records.add(now, n as u64);
        Ok(())
    })
}

/// Writes one chunk as one transaction, retrying it while its rows are locked.
/// `Err(chunk)` when the job stopped being in progress.
async fn write_chunk(
    shared: &Shared,
    org: &str,
    id: &str,
    plan: &Plan,
    cols: &Columns,
    chunk: Vec<Vec<String>>,
) -> Result<(), Vec<Vec<String>>> {
    let mut attempts = 0;
    while shared.faults.take_lock() {
        attempts += 1;
        let live = shared.with_org(org, |o, _| match job(o, id) {
            Some(j) if j.common.state == JobState::InProgress => {
                j.common.retries += 1;
                true
            }
            _ => false,
        });
        if !live {
            return Err(chunk);
        }
        if attempts >= MAX_RETRIES {
            let results: Vec<RowResult> =
                chunk.into_iter().map(|r| rows::locked(r, cols)).collect();
            shared.with_org(org, |o, _| job(o, id).map(|j| j.results.extend(results)));
            return Ok(());
        }
        tokio::task::yield_now().await;
    }
    let added = shared.with_org(org, |o, schema| {
        let live = job(o, id).is_some_and(|j| j.common.state == JobState::InProgress);
        if !live {
            return Err(chunk);
        }
        let Some(object) = schema.object(&plan.object) else {
            return Err(chunk);
        };
        let pending = std::mem::take(&mut o.cdc.journal);
        o.cdc.begin();
        let results: Vec<RowResult> = chunk
            .into_iter()
            .map(|row| {
                let ext = plan.external_id.as_deref();
                rows::write(schema, o, object, cols, plan.op, ext, row, &plan.user)
            })
            .collect();
        let now = shared.bus.now();
        let commit = events::Commit {
            origin: &plan.origin,
            now,
            overflow_after: shared.config.pubsub.overflow_after,
        };
        let added = events::commit(o, schema, &shared.bus.schemas, &commit);
        o.cdc.expire(now, shared.config.pubsub.retention);
        o.cdc.journal = pending;
        if let Some(j) = job(o, id) {
            j.results.extend(results);
        }
        Ok(added)
    })?;
    if added > 0 {
        shared.bus.wake();
    }
    Ok(())
}
