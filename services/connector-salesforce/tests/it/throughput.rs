//! Read and write rates through the connector against the simulator, and API calls per
//! 1,000 changed records. A measurement, not a check: run with
//! `cargo nextest run -p connector-salesforce --run-ignored only throughput --no-capture`
//! (add `--release` for figures closer to production).

use std::time::Instant;

use crate::harness::harness;
use crate::poll::{poll_request, seed_projects};
use crate::write::{create, write};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run on demand"]
async fn reports_read_and_write_rates_and_calls_per_thousand_records() {
    let mut h = harness().await;
    const READ: usize = 20_000;
    const WRITE: usize = 4_000;
    // Writes first, into an empty object (the simulator finds external ids through an index,
    // so the table's size no longer matters much).
    let writes = (0..WRITE)
        .map(|i| {
            create(
                &format!("bench-{i}"),
                &[
                    ("Summary__c", &format!("\"bench {i}\"")),
                    ("Budget__c", "10.50"),
                    ("Status__c", "\"Planned\""),
                ],
            )
        })
        .collect();
    let started = Instant::now();
    let written = write(&mut h, "Project__c", writes).await;
    let write_secs = started.elapsed().as_secs_f64();
    assert!(written.results.iter().all(|r| r.success));
    let write_calls = written.api_calls;

    seed_projects(&h, READ - WRITE);
    let started = Instant::now();
    let polled = h
        .client
        .poll_changes(h.req(poll_request(&["Summary__c", "Budget__c", "Status__c"])))
        .await
        .unwrap()
        .into_inner();
    let read_secs = started.elapsed().as_secs_f64();
    assert_eq!(polled.records.len(), READ);
    let read_calls = polled.api_calls;

    println!(
        "PollChanges: {READ} records in {read_secs:.2} s = {:.0} records/s, {read_calls} API calls ({:.2} per 1,000 records read)",
        READ as f64 / read_secs,
        read_calls as f64 * 1000.0 / READ as f64
    );
    println!(
        "WriteRecords: {WRITE} creates in {write_secs:.2} s = {:.0} records/s, {write_calls} API calls ({:.2} per 1,000 records written)",
        WRITE as f64 / write_secs,
        write_calls as f64 * 1000.0 / WRITE as f64
    );
    println!(
        "one sync cycle of 1,000 changed records each way: ~{} API calls (1 poll page + 5 collection calls; describes cached)",
        1 + 1000usize.div_ceil(200)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run on demand"]
async fn reports_bulk_write_and_query_rates_and_calls_per_thousand_records() {
    use tandem_proto::v1::{BulkOperation, BulkQueryRequest, BulkWriteRequest};
    let mut h = crate::harness::harness_with(crate::bulk::options(), true).await;
    const N: usize = 20_000;
    // Keyed creates, as an import sends them: upserts on Tandem_Key__c.
    let writes = (0..N)
        .map(|i| {
            create(
                &format!("bulk-{i}"),
                &[
                    ("Summary__c", &format!("\"bench {i}\"")),
                    ("Budget__c", "10.50"),
                    ("Status__c", "\"Planned\""),
                ],
            )
        })
        .collect();
    let request = BulkWriteRequest {
        connection_id: crate::harness::CONN.into(),
        object: "Project__c".into(),
        writes,
        integration_id: String::new(),
        operation: BulkOperation::Upsert as i32,
    };
    let started = Instant::now();
    let written = h
        .client
        .bulk_write(h.req(request))
        .await
        .unwrap()
        .into_inner();
    let write_secs = started.elapsed().as_secs_f64();
    assert!(written.results.iter().all(|r| r.success));
    let mut first = BulkQueryRequest {
        connection_id: crate::harness::CONN.into(),
        object: "Project__c".into(),
        fields: vec!["Summary__c".into(), "Budget__c".into(), "Status__c".into()],
        page_size: 10_000,
        ..Default::default()
    };
    let started = Instant::now();
    let (mut read, mut read_calls) = (0, 0);
    loop {
        let page = h
            .client
            .bulk_query(h.req(first.clone()))
            .await
            .unwrap()
            .into_inner();
        read += page.records.len();
        read_calls += page.api_calls;
        if page.locator.is_empty() {
            break;
        }
        first.job_id = page.job_id;
        first.locator = page.locator;
    }
    let read_secs = started.elapsed().as_secs_f64();
    assert_eq!(read, N);
    println!(
        "BulkWrite: {N} keyed creates (upserts) in {write_secs:.2} s = {:.0} records/s, {} jobs, {} API calls ({:.2} per 1,000 records written)",
        N as f64 / write_secs,
        written.jobs.len(),
        written.api_calls,
        written.api_calls as f64 * 1000.0 / N as f64
    );
    println!(
        "BulkQuery: {N} records in {read_secs:.2} s = {:.0} records/s, {read_calls} API calls ({:.2} per 1,000 records read)",
        N as f64 / read_secs,
        read_calls as f64 * 1000.0 / N as f64
    );
}
