//! The results of an ingest job put back on the writes that made them.
//!
//! Salesforce does not keep the order of the rows in its result files, and successes and
//! failures come in separate files; but each result row repeats the row as uploaded. A write
//! is therefore found again by its row: identical rows are interchangeable, so they take the
//! results of their kind first come, first served.

use std::collections::{HashMap, VecDeque};

use tandem_proto::v1::{RemoteError, WriteResult};

use super::csvdata;
use super::job::Finished;
use crate::error::Error;
use crate::write::Op;

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
pub(super) fn map_results(
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
