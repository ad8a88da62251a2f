//! BulkWrite: the writes of one call as Bulk API 2.0 ingest jobs — one per operation and per
//! `upload_max_bytes` of CSV — and one result per write in request order.
//!
//! Results are put back on their writes by `results.rs`. Rows refused with
//! `UNABLE_TO_LOCK_ROW` after Salesforce's own retries go again in a new job (up to the
//! retry attempts).

use std::collections::BTreeSet;

use tandem_proto::v1::{
    BulkOperation, BulkWriteRequest, BulkWriteResponse, RecordWrite, WriteResult,
};

use super::csvdata::{cell, render, row_bytes};
use super::job::{self, Spec};
use super::results::map_results;
use crate::api::{Api, Session};
use crate::error::Error;
use crate::write::{Op, Prepared, WriteTarget, by_op, prepare};

/// The most writes one BulkWrite may carry.
pub const MAX_BULK_WRITES: usize = 1_000_000;

/// One write checked for the requested operation.
fn prepare_for(
    i: usize,
    w: &RecordWrite,
    key_field: Option<&str>,
    operation: BulkOperation,
    object: &str,
) -> Result<Prepared, Error> {
    let has_id = !w.id.trim().is_empty();
    match operation {
        BulkOperation::Unspecified => prepare(i, w, key_field),
        BulkOperation::Insert if has_id => Err(Error::invalid(
            format!("writes[{i}].id"),
            "an insert creates a record: leave the id empty",
        )),
        BulkOperation::Insert => prepare(i, w, None),
        BulkOperation::Update if !has_id => Err(Error::invalid(
            format!("writes[{i}].id"),
            "an update needs the record id",
        )),
        BulkOperation::Update => prepare(i, w, key_field),
        BulkOperation::Upsert => {
            if key_field.is_none() {
                return Err(Error::invalid(
                    "operation",
                    format!("{object} has no external-id field to upsert on"),
                ));
            }
            if has_id || w.idempotency_key.trim().is_empty() {
                return Err(Error::invalid(
                    format!("writes[{i}].idempotency_key"),
                    "an upsert is keyed by its idempotency key, without an id",
                ));
            }
            prepare(i, w, key_field)
        }
    }
}

/// The CSV of one operation's writes: header and rows, each row a write's cells.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn table(op: Op, prepared: &[Prepared], indexes: &[usize]) -> Result<Table, Error> {
    let first = |p: &Prepared| -> Option<String> {
        match op {
            Op::Update => Some("Id".to_owned()),
            Op::Upsert => p.fields.first().map(|(name, _)| name.clone()),
            Op::Create => None,
        }
    };
    let lead = indexes.first().and_then(|&i| first(&prepared[i]));
    let skip = usize::from(lead.is_some());
    let rest: BTreeSet<&str> = indexes
        .iter()
        .flat_map(|&i| {
            prepared[i]
                .fields
                .iter()
                .skip(skip)
                .map(|(n, _)| n.as_str())
        })
        .collect();
    let header: Vec<String> = lead
        .into_iter()
        .chain(rest.iter().map(|s| (*s).to_owned()))
        .collect();
    let mut rows = Vec::with_capacity(indexes.len());
    for &i in indexes {
        let fields = &prepared[i].fields;
        let mut row = vec![String::new(); header.len()];
        for (n, (name, value)) in fields.iter().enumerate() {
            let column = if n < skip {
                0
            } else {
                header.iter().position(|h| h == name).unwrap_or(0)
            };
            row[column] = cell(value, &format!("writes[{i}].fields.{name}"))?;
        }
        rows.push(row);
    }
    Ok(Table { header, rows })
}

fn operation_name(op: Op) -> &'static str {
    match op {
        Op::Create => "insert",
        Op::Update => "update",
        Op::Upsert => "upsert",
    }
}

fn locked(r: &Option<WriteResult>) -> bool {
    r.as_ref()
        .is_some_and(|r| !r.success && r.errors.iter().any(|e| e.code == "UNABLE_TO_LOCK_ROW"))
}

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, object = %r.object, writes = r.writes.len()))]
    pub async fn bulk_write(&self, r: BulkWriteRequest) -> Result<BulkWriteResponse, Error> {
        let operation = BulkOperation::try_from(r.operation).map_err(|_| {
            Error::invalid("operation", format!("{} is not an operation", r.operation))
        })?;
        let Some(target) = self
            .write_target(
                &r.connection_id,
                &r.integration_id,
                &r.object,
                r.writes.len(),
                MAX_BULK_WRITES,
            )
            .await?
        else {
            return Ok(BulkWriteResponse::default());
        };
        let WriteTarget {
            mut session,
            object,
            key_field,
        } = target;
        let key_field = key_field.as_deref();
        let prepared = r
            .writes
            .iter()
            .enumerate()
            .map(|(i, w)| prepare_for(i, w, key_field, operation, &object))
            .collect::<Result<Vec<_>, _>>()?;
        let groups = by_op(&prepared);
        let mut results: Vec<Option<WriteResult>> = vec![None; prepared.len()];
        let mut jobs = Vec::new();
        for (op, indexes) in groups {
            let external_id = (op == Op::Upsert).then_some(key_field).flatten();
            let spec = Spec {
                object: &object,
                operation: operation_name(op),
                external_id,
            };
            let mut pending = indexes;
            let mut attempt = 1;
            while !pending.is_empty() {
                self.run_jobs(
                    &mut session,
                    &spec,
                    op,
                    &prepared,
                    &pending,
                    &mut results,
                    &mut jobs,
                )
                .await?;
                pending.retain(|&i| locked(&results[i]));
                if attempt >= self.transport.retry().attempts {
                    break;
                }
                if !pending.is_empty() {
                    tracing::warn!(
                        records = pending.len(),
                        attempt,
                        "rows locked; sending them in a new job"
                    );
                }
                attempt += 1;
            }
        }
        let results: Vec<WriteResult> = results
            .into_iter()
            .map(|r| r.ok_or_else(|| Error::Protocol("a bulk write got no result".to_owned())))
            .collect::<Result<_, _>>()?;
        let failed = results.iter().filter(|r| !r.success).count();
        tracing::info!(
            connection_id = %session.connection_id,
            object = %object,
            writes = results.len(),
            failed,
            jobs = jobs.len(),
            api_calls = session.calls,
            "wrote salesforce records through bulk api"
        );
        Ok(BulkWriteResponse {
            results,
            api_usage: session.api_usage(),
            api_calls: session.calls,
            jobs,
        })
    }

    /// Writes `indexes` in as many jobs as the upload size needs.
    #[allow(clippy::too_many_arguments)]
    async fn run_jobs(
        &self,
        session: &mut Session<'_>,
        spec: &Spec<'_>,
        op: Op,
        prepared: &[Prepared],
        indexes: &[usize],
        results: &mut [Option<WriteResult>],
        jobs: &mut Vec<tandem_proto::v1::BulkJob>,
    ) -> Result<(), Error> {
        let Table { header, rows } = table(op, prepared, indexes)?;
        let limit = self.bulk.upload_max_bytes as usize;
        let header_bytes = row_bytes(&header);
        let mut start = 0;
        while start < rows.len() {
            let mut end = start;
            let mut bytes = header_bytes;
            while end < rows.len() && (end == start || bytes + row_bytes(&rows[end]) <= limit) {
                bytes += row_bytes(&rows[end]);
                end += 1;
            }
            let csv = render(&header, &rows[start..end])?;
            let done = job::run(session, &self.bulk, spec, csv).await?;
            map_results(op, &done, &indexes[start..end], &rows[start..end], results)?;
            jobs.push(done.job);
            start = end;
        }
        Ok(())
    }
}
