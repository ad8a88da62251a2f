//! Bulk API 2.0 ingest jobs: states, CSV results, validation, errors, limits, row locks and
//! change events.

use reqwest::Method;
use salesforce_sim::Config;
use salesforce_sim::pubsub::proto::ReplayPreset;
use serde_json::json;

use crate::bulk_support::{self as bulk, csv, error_code, rows};
use crate::pubsub_support::{self as bus, fetch};
use crate::support;

fn contacts() -> serde_json::Value {
    json!({"object": "Contact", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_job_ends_complete_with_per_record_results_in_salesforces_words() {
    let sim = support::start_default().await;
    let (status, _, created) = sim
        .json(Method::POST, &sim.api("jobs/ingest"), Some(contacts()))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["state"], "Open");
    assert_eq!(created["operation"], "insert");
    assert_eq!(created["object"], "Contact");
    assert_eq!(created["contentType"], "CSV");
    assert_eq!(created["columnDelimiter"], "COMMA");
    assert_eq!(created["concurrencyMode"], "Parallel");
    assert_eq!(created["apiVersion"], 62.0);
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("750") && id.len() == 18, "{id}");
    assert_eq!(
        created["contentUrl"],
        format!("services/data/v62.0/jobs/ingest/{id}/batches")
    );
    let (status, body) = bulk::upload(
        &sim,
        &id,
        "FirstName,LastName\nAda,Lovelace\nNo,\nAlan,Turing\n",
    )
    .await;
    assert_eq!((status, body.as_str()), (201, ""));
    let (status, closed) = bulk::set_state(&sim, "ingest", &id, "UploadComplete").await;
    assert_eq!(status, 200, "{closed}");
    let info = bulk::wait(&sim, "ingest", &id).await;
    assert_eq!(info["state"], "JobComplete", "{info}");
    assert_eq!(info["jobType"], "V2Ingest");
    assert_eq!(
        info["numberRecordsProcessed"], 3,
        "failures count as processed"
    );
    assert_eq!(info["numberRecordsFailed"], 1);
    assert_eq!(info["retries"], 0);
    assert!(info.get("errorMessage").is_none());

    let (status, ct, ok) = csv(&sim, &format!("jobs/ingest/{id}/successfulResults/")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let ok = rows(&ok);
    assert_eq!(
        ok[0],
        vec!["sf__Id", "sf__Created", "FirstName", "LastName"]
    );
    assert_eq!(ok.len(), 3);
    assert!(
        ok[1..]
            .iter()
            .all(|r| r[0].starts_with("003") && r[1] == "true")
    );
    let names: Vec<&str> = ok[1..].iter().map(|r| r[3].as_str()).collect();
    assert_eq!(names, vec!["Lovelace", "Turing"]);
    let stored = sim.handle.record("demo", &ok[1][0]).expect("created");
    assert_eq!(stored["FirstName"], "Ada");

    let (_, _, failed) = csv(&sim, &format!("jobs/ingest/{id}/failedResults/")).await;
    let failed = rows(&failed);
    assert_eq!(
        failed[0],
        vec!["sf__Id", "sf__Error", "FirstName", "LastName"]
    );
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[1][0], "");
    assert_eq!(
        failed[1][1],
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
    );
    assert_eq!(failed[1][2], "No");
    let (_, _, unprocessed) = csv(&sim, &format!("jobs/ingest/{id}/unprocessedrecords/")).await;
    assert_eq!(unprocessed, "FirstName,LastName\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_update_and_delete_jobs_match_rows_by_external_id_and_id() {
    let sim = support::start_default().await;
    let existing = sim
        .handle
        .insert(
            "demo",
            "Project__c",
            json!({"Name": "Old", "Summary__c": "s", "Tandem_Key__c": "k1"}),
        )
        .unwrap();
    let job = json!({"object": "Project__c", "operation": "upsert", "externalIdFieldName": "Tandem_Key__c", "columnDelimiter": "SEMICOLON", "lineEnding": "CRLF"});
    let (id, info) = bulk::run(
        &sim,
        job,
        "Tandem_Key__c;Name;Summary__c;Budget__c\r\nk1;Renamed;s;\r\nk2;New;s;12.5\r\n",
    )
    .await;
    assert_eq!(info["externalIdFieldName"], "Tandem_Key__c");
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    let (_, _, ok) = csv(&sim, &format!("jobs/ingest/{id}/successfulResults")).await;
    assert!(
        ok.contains("\r\n") && ok.starts_with("\"sf__Id\";\"sf__Created\";Tandem_Key__c;Name"),
        "{ok}"
    );
    let lines: Vec<&str> = ok.lines().collect();
    assert!(
        lines[1].starts_with(&format!("\"{existing}\";\"false\";\"k1\"")),
        "{ok}"
    );
    assert!(lines[2].contains("\"true\";\"k2\";\"New\""), "{ok}");
    assert_eq!(
        sim.handle.record("demo", &existing).unwrap()["Name"],
        "Renamed"
    );

    let (id, info) = bulk::run(
        &sim,
        json!({"object": "Project__c", "operation": "update"}),
        &format!("Id,Name\n{existing},Third\na0X000000000999AAA,Ghost\n"),
    )
    .await;
    assert_eq!(info["numberRecordsFailed"], 1);
    let (_, _, failed) = csv(&sim, &format!("jobs/ingest/{id}/failedResults")).await;
    assert!(
        failed.contains("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"),
        "{failed}"
    );
    assert_eq!(
        sim.handle.record("demo", &existing).unwrap()["Name"],
        "Third"
    );

    let (_, info) = bulk::run(
        &sim,
        json!({"object": "Project__c", "operation": "delete"}),
        &format!("Id\n{existing}\n"),
    )
    .await;
    assert_eq!(
        (
            info["numberRecordsProcessed"].as_u64(),
            info["numberRecordsFailed"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(
        sim.handle.record("demo", &existing).unwrap()["IsDeleted"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_job_data_fails_the_job_and_leaves_every_record_unprocessed() {
    let sim = support::start_default().await;
    let (id, info) = bulk::run(&sim, contacts(), "LastName,Shoe_Size__c\nA,42\nB,43\n").await;
    assert_eq!(info["state"], "Failed");
    assert_eq!(
        info["errorMessage"],
        "InvalidBatch : Field name not found : Shoe_Size__c"
    );
    let (_, _, unprocessed) = csv(&sim, &format!("jobs/ingest/{id}/unprocessedrecords")).await;
    assert_eq!(rows(&unprocessed).len(), 3, "{unprocessed}");
    let (_, info) = bulk::run(&sim, contacts(), "LastName\r\nA\r\n").await;
    assert_eq!(
        info["errorMessage"],
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    );
    assert!(sim.handle.records("demo", "Contact").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_requests_are_checked_and_answer_salesforces_errors() {
    let sim = support::start_default().await;
    let url = sim.api("jobs/ingest");
    let post = |body| sim.call(Method::POST, &url, Some(body));
    assert_eq!(
        error_code(post(json!({"object": "Nope__c", "operation": "insert"})).await).await,
        (400, "INVALIDJOB".into())
    );
    assert_eq!(
        error_code(post(json!({"object": "Contact", "operation": "merge"})).await).await,
        (400, "INVALIDJOB".into())
    );
    assert_eq!(
        error_code(post(json!({"object": "Project__c", "operation": "upsert"})).await).await,
        (400, "INVALIDJOB".into())
    );
    assert_eq!(
        error_code(post(json!({"object": "Project__c", "operation": "upsert", "externalIdFieldName": "Name"})).await).await,
        (400, "INVALIDJOB".into())
    );
    let missing = sim
        .call(
            Method::GET,
            &sim.api("jobs/ingest/7500000000000000AA"),
            None,
        )
        .await;
    assert_eq!(error_code(missing).await, (404, "NOT_FOUND".into()));

    let id = bulk::create(&sim, contacts()).await;
    let (status, _) = bulk::set_state(&sim, "ingest", &id, "JobComplete").await;
    assert_eq!(status, 400, "a client cannot complete a job");
    let del = sim
        .call(Method::DELETE, &sim.api(&format!("jobs/ingest/{id}")), None)
        .await;
    assert_eq!(
        error_code(del).await,
        (400, "INVALIDJOBSTATE".into()),
        "an open job is aborted first"
    );
    let (status, aborted) = bulk::set_state(&sim, "ingest", &id, "Aborted").await;
    assert_eq!((status, aborted["state"].as_str()), (200, Some("Aborted")));
    let (status, text) = bulk::upload(&sim, &id, "LastName\nA\n").await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("INVALIDJOBSTATE"), "{text}");
    let (_, _, list) = sim.json(Method::GET, &sim.api("jobs/ingest"), None).await;
    assert_eq!(list["done"], true);
    assert!(
        list["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == id.as_str() && j["jobType"] == "V2Ingest")
    );
    let del = sim
        .call(Method::DELETE, &sim.api(&format!("jobs/ingest/{id}")), None)
        .await;
    assert_eq!(del.status().as_u16(), 204);
    let gone = sim
        .call(Method::GET, &sim.api(&format!("jobs/ingest/{id}")), None)
        .await;
    assert_eq!(gone.status().as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_size_limit_is_refused_and_every_request_is_an_api_call() {
    let mut config = Config::default();
    config.bulk.max_upload_bytes = 64;
    let sim = support::start(config).await;
    let (used_before, _) = sim.handle.api_usage("demo");
    let id = bulk::create(&sim, contacts()).await;
    let big = format!("LastName\n{}\n", "x".repeat(100));
    let (status, text) = bulk::upload(&sim, &id, &big).await;
    assert_eq!(status, 413, "{text}");
    let (status, _) = bulk::upload(&sim, &id, "LastName\nSmall\n").await;
    assert_eq!(status, 201, "within the limit");
    let (used_after, _) = sim.handle.api_usage("demo");
    assert_eq!(
        used_after - used_before,
        2,
        "the refused upload is not counted: it never reached the API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_allocation_fails_the_job_and_the_limits_resource_shows_it() {
    let sim = support::start_default().await;
    sim.handle.set_bulk_usage("demo", |u| u.records_max = 3);
    let (id, info) = bulk::run(&sim, contacts(), "LastName\nA\nB\nC\nD\n").await;
    assert_eq!(info["state"], "Failed");
    assert!(
        info["errorMessage"]
            .as_str()
            .unwrap()
            .contains("records uploaded per rolling 24 hours"),
        "{info}"
    );
    let (_, _, unprocessed) = csv(&sim, &format!("jobs/ingest/{id}/unprocessedrecords")).await;
    assert_eq!(rows(&unprocessed).len(), 5);
    sim.handle.set_bulk_usage("demo", |u| {
        u.records_max = 1_000;
        u.batches_max = 2;
    });
    let (_, info) = bulk::run(&sim, contacts(), "LastName\nA\n").await;
    assert_eq!(info["state"], "JobComplete", "{info}");
    let (_, _, limits) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(
        limits["DailyBulkApiBatches"],
        json!({"Max": 2, "Remaining": 1})
    );
    let (_, info) = bulk::run(&sim, contacts(), "LastName\nB\n").await;
    assert_eq!(info["state"], "JobComplete");
    let (_, info) = bulk::run(&sim, contacts(), "LastName\nC\n").await;
    assert_eq!(
        info["state"], "Failed",
        "the third batch is over the allocation"
    );
    assert!(
        info["errorMessage"]
            .as_str()
            .unwrap()
            .contains("DailyBulkApiBatches")
    );
    let (_, _, limits) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(limits["DailyBulkApiBatches"]["Remaining"], 0);
    // A rolling 24 hours: a day later the batches are available again.
    sim.handle
        .advance_event_clock(std::time::Duration::from_secs(24 * 3600));
    assert_eq!(sim.handle.bulk_usage("demo").batches_used, 0);
    let (_, info) = bulk::run(&sim, contacts(), "LastName\nD\n").await;
    assert_eq!(info["state"], "JobComplete");
    // The control plane sets the same allocations, for tests in other languages.
    let control = format!("{}/__sim/orgs/demo/limits", sim.base_url);
    let r = sim
        .client
        .post(&control)
        .json(&json!({"bulk": {"records_max": 1, "records_used": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (_, _, seen) = support::read(sim.client.get(&control).send().await.unwrap()).await;
    assert_eq!(seen["bulk"]["records_max"], 1);
    assert_eq!(seen["bulk"]["records_used"], 1);
    let (_, info) = bulk::run(&sim, contacts(), "LastName\nE\n").await;
    assert_eq!(info["state"], "Failed", "the one record a day was used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_locks_are_retried_and_records_still_locked_after_ten_tries_fail() {
    let sim = support::start_default().await;
    sim.handle.lock_next(3);
    let (_, info) = bulk::run(&sim, contacts(), "LastName\nA\nB\n").await;
    assert_eq!(info["retries"], 3);
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    sim.handle.lock_next(10);
    let (id, info) = bulk::run(&sim, contacts(), "LastName\nC\n").await;
    assert_eq!(info["numberRecordsFailed"], 1, "{info}");
    let (_, _, failed) = csv(&sim, &format!("jobs/ingest/{id}/failedResults")).await;
    assert!(
        failed.contains("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_writes_become_change_events_naming_the_bulk_api_and_the_jobs_client() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    let mut sub = b
        .live(fetch(
            "/data/Project__ChangeEvent",
            ReplayPreset::Latest,
            10,
        ))
        .await;
    // The client named in Sforce-Call-Options when the job is created names its writes.
    let r = sim
        .client
        .post(sim.api("jobs/ingest"))
        .bearer_auth(&sim.token)
        .header("sforce-call-options", "client=tandem-int-7")
        .json(&json!({"object": "Project__c", "operation": "insert"}))
        .send()
        .await
        .unwrap();
    let (_, _, job) = support::read(r).await;
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(
        bulk::upload(&sim, &id, "Name,Summary__c\nP1,s\nP2,s\n")
            .await
            .0,
        201
    );
    bulk::set_state(&sim, "ingest", &id, "UploadComplete").await;
    let info = bulk::wait(&sim, "ingest", &id).await;
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    let (_, _, ok) = csv(&sim, &format!("jobs/ingest/{id}/successfulResults")).await;
    let mut want: Vec<String> = rows(&ok)[1..].iter().map(|r| r[0].clone()).collect();
    want.sort();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let events = sub.events(1).await;
        for e in &events {
            let d = b.decode(e).await;
            assert_eq!(d.header_str("changeType"), "CREATE");
            assert_eq!(
                d.header_str("changeOrigin"),
                "com/salesforce/api/bulkapi/62.0;client=tandem-int-7"
            );
            seen.extend(d.header_list("recordIds"));
        }
    }
    seen.sort();
    assert_eq!(seen, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_job_can_be_aborted_and_leaves_its_data_unprocessed() {
    let sim = support::start_default().await;
    sim.handle.hold_bulk_jobs(true);
    let id = bulk::create(&sim, contacts()).await;
    assert_eq!(bulk::upload(&sim, &id, "LastName\nA\nB\n").await.0, 201);
    let (_, closed) = bulk::set_state(&sim, "ingest", &id, "UploadComplete").await;
    assert_eq!(closed["state"], "UploadComplete");
    let (_, _, info) = sim
        .json(Method::GET, &sim.api(&format!("jobs/ingest/{id}")), None)
        .await;
    assert_eq!(info["state"], "UploadComplete", "held before processing");
    let (status, aborted) = bulk::set_state(&sim, "ingest", &id, "Aborted").await;
    assert_eq!((status, aborted["state"].as_str()), (200, Some("Aborted")));
    sim.handle.hold_bulk_jobs(false);
    let info = bulk::wait(&sim, "ingest", &id).await;
    assert_eq!(info["state"], "Aborted");
    assert_eq!(info["numberRecordsProcessed"], 0);
    let (_, _, unprocessed) = csv(&sim, &format!("jobs/ingest/{id}/unprocessedrecords")).await;
    assert_eq!(unprocessed, "LastName\n\"A\"\n\"B\"\n");
    assert!(sim.handle.records("demo", "Contact").is_empty());
}
