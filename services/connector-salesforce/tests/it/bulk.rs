//! BulkWrite, BulkQuery and GetBulkSettings over real gRPC against salesforce-sim's Bulk API
//! 2.0: results in request order with Salesforce's errors, jobs split by size, failed jobs,
//! row locks, token refresh, budget, query pages.

use std::sync::atomic::Ordering;

use connector_salesforce::{BulkOptions, Options};
use tandem_proto::v1::*;
use tonic::Code;

use crate::harness::{CONN, Harness, ORG, harness_with, test_options};
use crate::write::create;

pub fn options() -> Options {
    Options {
        bulk: BulkOptions {
            poll_initial_ms: 5,
            poll_max_ms: 50,
            ..BulkOptions::default()
        },
        ..test_options()
    }
}

fn update(id: &str, fields: &[(&str, &str)]) -> RecordWrite {
    RecordWrite {
        id: id.into(),
        ..create("", fields)
    }
}

fn request(writes: Vec<RecordWrite>) -> BulkWriteRequest {
    BulkWriteRequest {
        connection_id: CONN.into(),
        object: "Project__c".into(),
        writes,
        integration_id: "int-7".into(),
        operation: BulkOperation::Unspecified as i32,
    }
}

async fn bulk_write(h: &mut Harness, r: BulkWriteRequest) -> BulkWriteResponse {
    let r = h.req(r);
    h.client
        .bulk_write(r)
        .await
        .expect("bulk write")
        .into_inner()
}

#[tokio::test]
async fn results_come_back_per_write_in_request_order_with_salesforces_errors() {
    let mut h = harness_with(options(), true).await;
    let existing = h
        .sim
        .insert(
            ORG,
            "Project__c",
            serde_json::json!({"Name": "Old", "Summary__c": "s"}),
        )
        .unwrap();
    let gone = h
        .sim
        .insert(
            ORG,
            "Project__c",
            serde_json::json!({"Name": "Gone", "Summary__c": "s"}),
        )
        .unwrap();
    h.sim.delete(ORG, &gone).unwrap();
    let mut writes: Vec<RecordWrite> = (0..30)
        .map(|i| {
            create(
                &format!("k-{i}"),
                &[("Summary__c", &format!("\"p{i}\"")), ("Budget__c", "12.50")],
            )
        })
        .collect();
    // Invalid in Salesforce's eyes: the required Summary__c emptied, a bad picklist value.
    writes[7] = create("k-7", &[("Summary__c", "null")]);
    writes[12] = create(
        "k-12",
        &[("Summary__c", "\"x\""), ("Status__c", "\"Nope\"")],
    );
    writes.push(update(&existing, &[("Name", "\"Renamed, with comma\"")]));
    writes.push(update(&gone, &[("Name", "\"x\"")]));
    // Two identical creates are two records.
    writes.push(create("", &[("Summary__c", "\"twin\"")]));
    writes.push(create("", &[("Summary__c", "\"twin\"")]));
    let answer = bulk_write(&mut h, request(writes)).await;
    assert_eq!(answer.results.len(), 34);
    for (i, r) in answer.results.iter().take(30).enumerate() {
        if i == 7 || i == 12 {
            continue;
        }
        assert!(r.success && r.created, "{i}: {r:?}");
        let rec = h.sim.record(ORG, &r.id).expect("record");
        assert_eq!(
            rec["Tandem_Key__c"],
            format!("k-{i}"),
            "result {i} is write {i}'s record"
        );
        assert_eq!(rec["Budget__c"], 12.5);
    }
    let missing = &answer.results[7];
    assert!(!missing.success && missing.id.is_empty());
    assert_eq!(missing.errors[0].code, "REQUIRED_FIELD_MISSING");
    assert_eq!(
        missing.errors[0].message,
        "Required fields are missing: [Summary__c]"
    );
    assert_eq!(missing.errors[0].fields, vec!["Summary__c"]);
    assert_eq!(
        answer.results[12].errors[0].code,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    let renamed = &answer.results[30];
    assert!(renamed.success && !renamed.created && renamed.id == existing);
    assert_eq!(
        h.sim.record(ORG, &existing).unwrap()["Name"],
        "Renamed, with comma"
    );
    let ended = &answer.results[31];
    assert!(!ended.success && ended.gone, "{ended:?}");
    let (a, b) = (&answer.results[32], &answer.results[33]);
    assert!(
        a.success && b.success && a.id != b.id,
        "twins are two records"
    );
    assert_eq!(
        h.sim.count(ORG, "Project__c"),
        1 + 28 + 2,
        "the deleted one is not counted"
    );
    let ops: Vec<&str> = answer.jobs.iter().map(|j| j.operation.as_str()).collect();
    assert_eq!(
        ops,
        vec!["update", "upsert", "insert"],
        "one job per operation"
    );
    assert!(answer.jobs.iter().all(|j| j.state == "JobComplete"));
    assert_eq!(answer.jobs[1].records_failed, 2);
    assert!(
        answer.api_calls >= 3 * 7,
        "create, upload, close, poll, 3 result files per job"
    );
    assert!(answer.api_usage.is_some_and(|u| u.limit == 15_000));
    assert_eq!(h.calls("PUT", "/jobs/ingest/"), 3);
}

#[tokio::test]
async fn writes_go_in_several_jobs_when_the_csv_is_over_the_upload_size() {
    let mut o = options();
    o.bulk.upload_max_bytes = 1024;
    let mut h = harness_with(o, true).await;
    let writes: Vec<RecordWrite> = (0..120)
        .map(|i| {
            create(
                &format!("key-{i:03}"),
                &[("Summary__c", &format!("\"{}\"", "s".repeat(20)))],
            )
        })
        .collect();
    let answer = bulk_write(&mut h, request(writes)).await;
    assert!(answer.results.iter().all(|r| r.success && r.created));
    assert!(answer.jobs.len() > 3, "{} jobs", answer.jobs.len());
    assert_eq!(h.calls("PUT", "/jobs/ingest/"), answer.jobs.len());
    assert_eq!(h.sim.count(ORG, "Project__c"), 120);
    let rec = h.sim.record(ORG, &answer.results[119].id).unwrap();
    assert_eq!(rec["Tandem_Key__c"], "key-119");
}

#[tokio::test]
async fn a_failed_job_leaves_its_records_not_processed_with_salesforces_message() {
    let mut h = harness_with(options(), true).await;
    let writes = vec![
        create("a", &[("Summary__c", "\"s\""), ("Shoe_Size__c", "42")]),
        create("b", &[("Summary__c", "\"s\"")]),
    ];
    let answer = bulk_write(&mut h, request(writes)).await;
    assert_eq!(answer.jobs[0].state, "Failed");
    for r in &answer.results {
        assert!(!r.success);
        assert_eq!(r.errors[0].code, "NOT_PROCESSED");
        assert_eq!(
            r.errors[0].message,
            "InvalidBatch : Field name not found : Shoe_Size__c"
        );
    }
    assert_eq!(h.sim.count(ORG, "Project__c"), 0);
}

#[tokio::test]
async fn rows_still_locked_after_salesforces_retries_go_again_in_a_new_job() {
    let mut h = harness_with(options(), true).await;
    h.sim.lock_next(10);
    let writes = vec![
        create("l1", &[("Summary__c", "\"s\"")]),
        create("l2", &[("Summary__c", "\"s\"")]),
    ];
    let answer = bulk_write(&mut h, request(writes)).await;
    assert!(
        answer.results.iter().all(|r| r.success),
        "{:?}",
        answer.results
    );
    assert_eq!(answer.jobs.len(), 2, "the locked rows went again");
    assert_eq!(answer.jobs[0].records_failed, 2);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_job_goes_on() {
    let mut h = harness_with(options(), true).await;
    h.sim.expire_all_tokens();
    let answer = bulk_write(
        &mut h,
        request(vec![create("t", &[("Summary__c", "\"s\"")])]),
    )
    .await;
    assert!(answer.results[0].success);
    assert_eq!(h.standin.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_requests_and_a_spent_budget_are_refused_before_any_job() {
    let mut h = harness_with(options(), true).await;
    let mut r = request(vec![update("a0X000000000001AAA", &[("Name", "\"x\"")])]);
    r.operation = BulkOperation::Insert as i32;
    let e = h.client.bulk_write(h.req(r)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("writes[0].id"), "{}", e.message());
    let mut r = request(vec![create("", &[("Summary__c", "\"s\"")])]);
    r.operation = BulkOperation::Upsert as i32;
    let e = h.client.bulk_write(h.req(r)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = h
        .client
        .bulk_write(h.config_req(request(vec![create("k", &[])])))
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Code::PermissionDenied,
        "for the orchestrator only"
    );
    assert_eq!(h.calls("POST", "/jobs/ingest"), 0);
    h.sim.set_api_usage(ORG, 15_000);
    let e = h
        .client
        .bulk_write(h.req(request(vec![create("k", &[("Summary__c", "\"s\"")])])))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{}", e.message());
}

#[tokio::test]
async fn bulk_query_reads_every_record_a_page_at_a_time() {
    let mut h = harness_with(options(), true).await;
    let seed: Vec<_> = (0..25)
        .map(|i| serde_json::json!({"Name": format!("Q{i:02}"), "Summary__c": "s", "Budget__c": 10.25, "Is_Billable__c": i % 2 == 0}))
        .collect();
    h.sim.insert_many(ORG, "Project__c", seed).unwrap();
    let first = BulkQueryRequest {
        connection_id: CONN.into(),
        object: "Project__c".into(),
        fields: vec![
            "Name".into(),
            "Budget__c".into(),
            "Is_Billable__c".into(),
            "Due_Date__c".into(),
        ],
        page_size: 10,
        ..Default::default()
    };
    let mut page = h
        .client
        .bulk_query(h.req(first.clone()))
        .await
        .unwrap()
        .into_inner();
    let mut all = page.records.clone();
    let mut pages = 1;
    while !page.locator.is_empty() {
        let next = BulkQueryRequest {
            job_id: page.job_id.clone(),
            locator: page.locator.clone(),
            ..first.clone()
        };
        page = h.client.bulk_query(h.req(next)).await.unwrap().into_inner();
        all.extend(page.records.clone());
        pages += 1;
    }
    assert_eq!((pages, all.len()), (3, 25));
    let mut ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25);
    let r = &all[0];
    assert_eq!(r.fields["Budget__c"], "10.25");
    assert!(r.fields["Is_Billable__c"] == "true" || r.fields["Is_Billable__c"] == "false");
    assert_eq!(r.fields["Due_Date__c"], "null");
    assert!(r.fields["Name"].starts_with("\"Q"));
    assert!(r.modified_at.is_some() && !r.deleted);
    assert!(!r.fields.contains_key("Id"), "only the fields asked for");
    assert_eq!(h.calls("POST", "/jobs/query"), 1, "one job for every page");
}

#[tokio::test]
async fn the_orchestrator_reads_the_bulk_settings() {
    let mut o = options();
    o.bulk.write_threshold = 2_000;
    let mut h = harness_with(o, true).await;
    let s = h
        .client
        .get_bulk_settings(h.req(GetBulkSettingsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.write_threshold, 2_000);
    assert_eq!(s.query_threshold, 10_000);
    assert_eq!(s.upload_max_bytes, 100 * 1024 * 1024);
    assert_eq!(
        BulkOptions::default().write_threshold,
        10_000,
        "the default threshold"
    );
    let e = h
        .client
        .get_bulk_settings(h.config_req(GetBulkSettingsRequest {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_writes_are_named_by_their_integration_in_change_events() {
    use std::time::{Duration, Instant};
    let mut h = harness_with(options(), true).await;
    let before = h.sim.live_subscriptions();
    let mut stream = h
        .client
        .stream_changes(h.req(StreamChangesRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            replay_id: vec![],
        }))
        .await
        .expect("stream opens")
        .into_inner();
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.sim.live_subscriptions() <= before {
        assert!(Instant::now() < deadline, "the subscription never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answer = bulk_write(
        &mut h,
        request(vec![
            create("e1", &[("Summary__c", "\"s\"")]),
            create("e2", &[("Summary__c", "\"s\"")]),
        ]),
    )
    .await;
    let mut want: Vec<String> = answer.results.iter().map(|r| r.id.clone()).collect();
    want.sort();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let batch = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("events within 10 s")
            .expect("no error")
            .expect("stream open");
        for e in batch.events {
            assert_eq!(e.origin_client, "tandem-int-7", "{}", e.change_origin);
            assert!(e.change_origin.starts_with("com/salesforce/api/bulkapi/"));
            seen.extend(e.record_ids);
        }
    }
    seen.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn a_job_past_the_timeout_is_aborted_and_its_records_come_back_not_processed() {
    let mut o = options();
    o.bulk.job_timeout_seconds = 0;
    let mut h = harness_with(o, true).await;
    h.sim.hold_bulk_jobs(true);
    let writes = vec![
        create("slow-1", &[("Summary__c", "\"s\"")]),
        create("slow-2", &[("Summary__c", "\"s\"")]),
    ];
    let answer = bulk_write(&mut h, request(writes)).await;
    h.sim.hold_bulk_jobs(false);
    assert_eq!(answer.jobs[0].state, "Aborted");
    for r in &answer.results {
        assert!(!r.success);
        assert_eq!(r.errors[0].code, "NOT_PROCESSED");
        assert!(
            r.errors[0].message.contains("Aborted"),
            "{}",
            r.errors[0].message
        );
    }
    assert_eq!(h.calls("PATCH", "/jobs/ingest/"), 2, "closed, then aborted");
    assert_eq!(h.sim.count(ORG, "Project__c"), 0);
}

#[tokio::test]
async fn bulk_query_reads_only_records_changed_since_the_given_time() {
    let mut h = harness_with(options(), true).await;
    let ids = h
        .sim
        .insert_many(
            ORG,
            "Project__c",
            (0..3)
                .map(|i| serde_json::json!({"Name": format!("M{i}"), "Summary__c": "s"}))
                .collect(),
        )
        .unwrap();
    h.sim
        .force_fields(
            ORG,
            &ids[0],
            serde_json::json!({"SystemModstamp": "2020-01-01T00:00:00.000+0000"}),
        )
        .unwrap();
    let since = prost_types::Timestamp {
        seconds: 1_735_689_600, // 2025-01-01T00:00:00Z
        nanos: 0,
    };
    let page = h
        .client
        .bulk_query(h.req(BulkQueryRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            fields: vec!["Name".into()],
            modified_since: Some(since),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let mut got: Vec<&str> = page.records.iter().map(|r| r.id.as_str()).collect();
    got.sort();
    let mut want: Vec<&str> = ids[1..].iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(page.locator.is_empty());
    let e = h
        .client
        .bulk_query(h.req(BulkQueryRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            fields: vec!["Nope__c".into()],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("fields[0]"), "{}", e.message());
}
