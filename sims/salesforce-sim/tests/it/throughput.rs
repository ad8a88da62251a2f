//! Read and write rates through the simulator (ignored by default; run with
//! `cargo nextest run -p salesforce-sim --run-ignored only throughput --no-capture`).

use reqwest::Method;
use serde_json::{Value, json};
use std::time::Instant;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run on demand"]
async fn reports_read_and_write_rates() {
    let sim = support::start_default().await;
    const WRITES: usize = 2_000;
    let started = Instant::now();
    for chunk in 0..WRITES / 200 {
        let records: Vec<Value> = (0..200)
            .map(|i| json!({"attributes": {"type": "Project__c"}, "Summary__c": format!("bench {chunk}-{i}"),
                            "Tandem_Key__c": format!("b{chunk}-{i}"), "Status__c": "Planned", "Budget__c": 10}))
            .collect();
        let (status, _, body) = sim
            .json(
                Method::POST,
                &sim.api("composite/sobjects"),
                Some(json!({"allOrNone": false, "records": records})),
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            body.as_array()
                .is_some_and(|r| r.iter().all(|x| x["success"] == json!(true)))
        );
    }
    let write_secs = started.elapsed().as_secs_f64();
    let seed: Vec<Value> = (0..8_000)
        .map(|i| json!({"Summary__c": format!("seed {i}")}))
        .collect();
    sim.handle
        .insert_many("demo", "Project__c", seed)
        .expect("seed");
    let started = Instant::now();
    let (status, mut page) = sim
        .query("SELECT Id, Name, Summary__c, Status__c, Budget__c, SystemModstamp FROM Project__c WHERE SystemModstamp > 2020-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC")
        .await;
    assert_eq!(status, 200);
    let mut read = page["records"].as_array().map_or(0, Vec::len);
    while let Some(next) = page["nextRecordsUrl"].as_str().map(str::to_string) {
        let (_, _, body) = sim.json(Method::GET, &next, None).await;
        read += body["records"].as_array().map_or(0, Vec::len);
        page = body;
    }
    let read_secs = started.elapsed().as_secs_f64();
    assert_eq!(read, 10_000);
    println!(
        "writes: {WRITES} records in {} collection calls, {:.0} records/s; reads: {read} records in {} pages, {:.0} records/s",
        WRITES / 200,
        WRITES as f64 / write_secs,
        read.div_ceil(2000),
        read as f64 / read_secs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run on demand"]
async fn reports_bulk_upsert_rate_on_a_growing_table() {
    let sim = support::start_default().await;
    const N: usize = 20_000;
    let mut csv = String::from("Tandem_Key__c,Summary__c,Budget__c\n");
    for i in 0..N {
        csv.push_str(&format!("key-{i},bench {i},10.5\n"));
    }
    let job = json!({"object": "Project__c", "operation": "upsert", "externalIdFieldName": "Tandem_Key__c"});
    let run = |job: Value| {
        let (sim, csv) = (&sim, &csv);
        async move {
            let id = crate::bulk_support::create(sim, job).await;
            assert_eq!(crate::bulk_support::upload(sim, &id, csv).await.0, 201);
            crate::bulk_support::set_state(sim, "ingest", &id, "UploadComplete").await;
            let limit = std::time::Duration::from_secs(300);
            crate::bulk_support::wait_up_to(sim, "ingest", &id, limit).await
        }
    };
    let started = Instant::now();
    let info = run(job.clone()).await;
    let first = started.elapsed().as_secs_f64();
    assert_eq!(info["numberRecordsProcessed"], N);
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    let started = Instant::now();
    let info = run(job).await;
    let second = started.elapsed().as_secs_f64();
    assert_eq!(info["numberRecordsFailed"], 0, "{info}");
    println!(
        "bulk upsert of {N} keyed records: {:.0} records/s creating, {:.0} records/s updating them all",
        N as f64 / first,
        N as f64 / second
    );
}
