//! BulkWrite: the writes of one call as Bulk API 2.0 ingest jobs — one per operation and per
//! `upload_max_bytes` of CSV — and one result per write in request order.
//!
//! Salesforce does not keep the order of the rows in its result files, and successes and
//! failures come in separate files; but each result row repeats the row as uploaded. A write
//! is therefore found again by its row: identical rows are interchangeable, so they take the
//! results of their kind first come, first served. Rows refused with `UNABLE_TO_LOCK_ROW`
//! after Salesforce's own retries go again in a new job (up to the retry attempts).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use tandem_proto::v1::{
    BulkOperation, BulkWriteRequest, BulkWriteResponse, RecordWrite, RemoteError, WriteResult,
};

use super::csvdata::{self, cell, render, row_bytes};
use super::job::{self, Finished, Spec};
use crate::api::{Api, Session};
use crate::error::Error;
use crate::schema::object_name;
use crate::write::{Op, Prepared, call_client, prepare};

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

fn not_processed(message: &str) -> WriteResult {
    WriteResult {
        success: false,
        errors: vec![RemoteError {
            code: "NOT_PROCESSED".to_owned(),
            message: message.to_owned(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Which result file a row came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    Unprocessed,
}

fn result_for(op: Op, outcome: Outcome, head: &[String], why: &str) -> WriteResult {
    match outcome {
        Outcome::Success => WriteResult {
            id: head[0].clone(),
            success: true,
            created: match op {
                Op::Create => true,
                Op::Upsert => head[1] == "true",
                Op::Update => false,
            },
            ..Default::default()
        },
        Outcome::Failure => {
            let error = csvdata::remote_error(&head[1]);
            let gone = op == Op::Update
                && matches!(
                    error.code.as_str(),
                    "ENTITY_IS_DELETED" | "INVALID_CROSS_REFERENCE_KEY"
                );
            WriteResult {
                id: head[0].clone(),
                success: false,
                created: false,
                errors: vec![error],
                gone,
            }
        }
        Outcome::Unprocessed => not_processed(why),
    }
}

/// Puts each result row of `done` on the write whose row it repeats; for updates and
/// upserts a row Salesforce echoed differently is still found by its first column (the Id
/// or the external id). Writes left without a result were not processed — unless some
/// processed row could not be placed at all: then their outcome is unknown (`UNKNOWN_OUTCOME`,
/// not to be sent again blindly).
fn map_results(
    op: Op,
    done: &Finished,
    indexes: &[usize],
    rows: &[Vec<String>],
    results: &mut [Option<WriteResult>],
) -> Result<(), Error> {
    let mut found: Vec<(Outcome, Vec<String>, Vec<String>)> = Vec::new();
    for (outcome, text, leading) in [
        (Outcome::Success, &done.successful, 2),
        (Outcome::Failure, &done.failed, 2),
        (Outcome::Unprocessed, &done.unprocessed, 0),
    ] {
        for (head, row) in csvdata::parse_results(text, leading)? {
            found.push((outcome, head, row));
        }
    }
    let why = if done.job.error_message.is_empty() {
        format!(
            "bulk job {} ended {} before processing it",
            done.job.id, done.job.state
        )
    } else {
        done.job.error_message.clone()
    };
    let mut by_row: HashMap<&[String], VecDeque<usize>> = HashMap::new();
    for (&i, row) in indexes.iter().zip(rows) {
        by_row.entry(row.as_slice()).or_default().push_back(i);
    }
    let mut unplaced = Vec::new();
    for (n, (outcome, head, row)) in found.iter().enumerate() {
        match by_row.get_mut(row.as_slice()).and_then(VecDeque::pop_front) {
            Some(i) => results[i] = Some(result_for(op, *outcome, head, &why)),
            None => unplaced.push(n),
        }
    }
    if op != Op::Create {
        let mut by_key: HashMap<&str, VecDeque<usize>> = HashMap::new();
        for (&i, row) in indexes.iter().zip(rows) {
            if results[i].is_none() {
                by_key.entry(row[0].as_str()).or_default().push_back(i);
            }
        }
        unplaced.retain(|&n| {
            let (outcome, head, row) = &found[n];
            let key = row.first().map(String::as_str).unwrap_or_default();
            match by_key.get_mut(key).and_then(VecDeque::pop_front) {
                Some(i) => {
                    results[i] = Some(result_for(op, *outcome, head, &why));
                    false
                }
                None => true,
            }
        });
    }
    let processed_unplaced = unplaced
        .iter()
        .filter(|&&n| found[n].0 != Outcome::Unprocessed)
        .count();
    if !unplaced.is_empty() {
        tracing::warn!(job_id = %done.job.id, rows = unplaced.len(), "bulk result rows match no row sent");
    }
    for &i in indexes {
        if results[i].is_none() {
            results[i] = Some(if processed_unplaced > 0 {
                WriteResult {
                    success: false,
                    errors: vec![RemoteError {
                        code: "UNKNOWN_OUTCOME".to_owned(),
                        message: format!(
                            "bulk job {} processed records whose results could not be matched to their writes; check this record before sending it again",
                            done.job.id
                        ),
                        ..Default::default()
                    }],
                    ..Default::default()
                }
            } else {
                not_processed(&why)
            });
        }
    }
    Ok(())
}

fn locked(r: &Option<WriteResult>) -> bool {
    r.as_ref()
        .is_some_and(|r| !r.success && r.errors.iter().any(|e| e.code == "UNABLE_TO_LOCK_ROW"))
}

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, object = %r.object, writes = r.writes.len()))]
    pub async fn bulk_write(&self, r: BulkWriteRequest) -> Result<BulkWriteResponse, Error> {
        let object = object_name(&r.object, "object")?;
        if r.writes.len() > MAX_BULK_WRITES {
            return Err(Error::invalid(
                "writes",
                format!(
                    "carries {} writes; at most {MAX_BULK_WRITES}",
                    r.writes.len()
                ),
            ));
        }
        let operation = BulkOperation::try_from(r.operation).map_err(|_| {
            Error::invalid("operation", format!("{} is not an operation", r.operation))
        })?;
        if r.writes.is_empty() {
            crate::credentials::connection_id(&r.connection_id)?;
            return Ok(BulkWriteResponse::default());
        }
        let client = call_client(&r.integration_id)?;
        let mut session = self.session(&r.connection_id).await?;
        session.call_options = Some(format!("client={client}"));
        let described = self.describe_in(&mut session, &object).await?;
        let object = described.summary.name.clone();
        let key_field = described.idempotency_field.as_deref();
        let prepared = r
            .writes
            .iter()
            .enumerate()
            .map(|(i, w)| prepare_for(i, w, key_field, operation, &object))
            .collect::<Result<Vec<_>, _>>()?;
        let mut groups: BTreeMap<Op, Vec<usize>> = BTreeMap::new();
        for (i, p) in prepared.iter().enumerate() {
            groups.entry(p.op).or_default().push(i);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_proto::v1::BulkJob;

    fn finished(successful: &str, failed: &str, unprocessed: &str) -> Finished {
        Finished {
            job: BulkJob {
                id: "750x".into(),
                state: "JobComplete".into(),
                ..Default::default()
            },
            successful: successful.into(),
            failed: failed.into(),
            unprocessed: unprocessed.into(),
        }
    }

    fn rows(r: &[&[&str]]) -> Vec<Vec<String>> {
        r.iter()
            .map(|row| row.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn results_find_their_writes_whatever_their_order_and_file() {
        let sent = rows(&[&["k1", "A"], &["k2", "B"], &["k3", "C"]]);
        let done = finished(
            "\"sf__Id\",\"sf__Created\",Key__c,Name\n\"a03\",\"true\",\"k3\",\"C\"\n\"a01\",\"false\",\"k1\",\"A\"\n",
            "\"sf__Id\",\"sf__Error\",Key__c,Name\n\"\",\"DUPLICATE_VALUE:dup:--\",\"k2\",\"B\"\n",
            "Key__c,Name\n",
        );
        let mut results = vec![None; 3];
        map_results(Op::Upsert, &done, &[0, 1, 2], &sent, &mut results).unwrap();
        let r: Vec<WriteResult> = results.into_iter().map(Option::unwrap).collect();
        assert_eq!((r[0].id.as_str(), r[0].created), ("a01", false));
        assert_eq!(r[1].errors[0].code, "DUPLICATE_VALUE");
        assert_eq!((r[2].id.as_str(), r[2].created), ("a03", true));
    }

    #[test]
    fn an_upsert_echoed_differently_is_found_by_its_key() {
        let sent = rows(&[&["k1", "12.50"]]);
        let done = finished(
            "\"sf__Id\",\"sf__Created\",Key__c,Budget__c\n\"a01\",\"true\",\"k1\",\"12.5\"\n",
            "\"sf__Id\",\"sf__Error\",Key__c,Budget__c\n",
            "Key__c,Budget__c\n",
        );
        let mut results = vec![None];
        map_results(Op::Upsert, &done, &[0], &sent, &mut results).unwrap();
        assert_eq!(results[0].as_ref().unwrap().id, "a01");
    }

    #[test]
    fn an_insert_whose_result_cannot_be_placed_is_not_reported_as_unprocessed() {
        let sent = rows(&[&["12.50"], &["7"]]);
        let done = finished(
            "\"sf__Id\",\"sf__Created\",Budget__c\n\"a01\",\"true\",\"12.5\"\n\"a02\",\"true\",\"7\"\n",
            "\"sf__Id\",\"sf__Error\",Budget__c\n",
            "Budget__c\n",
        );
        let mut results = vec![None; 2];
        map_results(Op::Create, &done, &[0, 1], &sent, &mut results).unwrap();
        assert_eq!(results[1].as_ref().unwrap().id, "a02");
        let unknown = results[0].as_ref().unwrap();
        assert!(!unknown.success);
        assert_eq!(
            unknown.errors[0].code, "UNKNOWN_OUTCOME",
            "sending it again could duplicate it"
        );
    }

    #[test]
    fn writes_the_job_did_not_reach_are_not_processed() {
        let sent = rows(&[&["A"], &["B"]]);
        let mut done = finished(
            "\"sf__Id\",\"sf__Created\",Name\n\"001\",\"true\",\"A\"\n",
            "\"sf__Id\",\"sf__Error\",Name\n",
            "Name\n\"B\"\n",
        );
        done.job.state = "Failed".into();
        done.job.error_message = "InvalidBatch : Exceeded the daily allocation".into();
        let mut results = vec![None; 2];
        map_results(Op::Create, &done, &[0, 1], &sent, &mut results).unwrap();
        assert!(results[0].as_ref().unwrap().success);
        let b = results[1].as_ref().unwrap();
        assert_eq!(b.errors[0].code, "NOT_PROCESSED");
        assert_eq!(
            b.errors[0].message,
            "InvalidBatch : Exceeded the daily allocation"
        );
    }
}
