//! Bulk API 2.0 query jobs: SOQL through the simulator's engine, CSV pages with
//! `Sforce-Locator` and `Sforce-NumberOfRecords`, errors and the query-job allocation.

use reqwest::Method;
use serde_json::json;

use crate::bulk_support::{self as bulk, error_code};
use crate::support;

async fn page(sim: &support::TestSim, url: &str) -> (u16, String, String, String) {
    let r = sim.call(Method::GET, url, None).await;
    let h = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (locator, count) = (h("sforce-locator"), h("sforce-numberofrecords"));
    let status = r.status().as_u16();
    (status, locator, count, r.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_job_pages_its_csv_results_with_the_locator() {
    let sim = support::start_default().await;
    let records: Vec<_> = (0..25)
        .map(|i| json!({"Name": format!("P{i:02}"), "Summary__c": "s, with comma", "Budget__c": i}))
        .collect();
    sim.handle
        .insert_many("demo", "Project__c", records)
        .unwrap();
    let (status, _, job) = sim
        .json(
            Method::POST,
            &sim.api("jobs/query"),
            Some(json!({"operation": "query", "query": "SELECT Id, Name, Summary__c, Owner.Email, CreatedDate FROM Project__c ORDER BY Name"})),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["state"], "UploadComplete");
    assert_eq!(job["object"], "Project__c");
    assert_eq!(job["operation"], "query");
    let id = job["id"].as_str().unwrap().to_string();
    let info = bulk::wait(&sim, "query", &id).await;
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(info["jobType"], "V2Query");
    assert_eq!(info["numberRecordsProcessed"], 25);

    let url = sim.api(&format!("jobs/query/{id}/results?maxRecords=10"));
    let (status, locator, count, first) = page(&sim, &url).await;
    assert_eq!((status, count.as_str()), (200, "10"));
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(
        lines[0],
        "\"Id\",\"Name\",\"Summary__c\",\"Owner.Email\",\"CreatedDate\""
    );
    assert_eq!(lines.len(), 11);
    assert!(
        lines[1].contains("\"P00\",\"s, with comma\",\"admin@"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with("Z\""),
        "datetimes in UTC with Z: {}",
        lines[1]
    );
    assert_ne!(locator, "null");
    let (_, locator, count, second) = page(
        &sim,
        &sim.api(&format!(
            "jobs/query/{id}/results?maxRecords=10&locator={locator}"
        )),
    )
    .await;
    assert_eq!(count, "10");
    assert!(second.lines().nth(1).unwrap().contains("\"P10\""));
    let (_, last_locator, count, third) = page(
        &sim,
        &sim.api(&format!(
            "jobs/query/{id}/results?maxRecords=10&locator={locator}"
        )),
    )
    .await;
    assert_eq!((last_locator.as_str(), count.as_str()), ("null", "5"));
    assert_eq!(third.lines().count(), 6, "the header comes with every page");
    let (again_status, _, _, again) = page(
        &sim,
        &sim.api(&format!(
            "jobs/query/{id}/results?maxRecords=10&locator={locator}"
        )),
    )
    .await;
    assert_eq!(
        (again_status, again),
        (200, third),
        "a locator can be read again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_jobs_refuse_bad_soql_other_versions_and_a_spent_allocation() {
    let sim = support::start_default().await;
    let url = sim.api("jobs/query");
    let post = |q: &str| {
        sim.call(
            Method::POST,
            &url,
            Some(json!({"operation": "query", "query": q})),
        )
    };
    let (status, code) = error_code(post("SELECT Nope__c FROM Project__c").await).await;
    assert_eq!((status, code.as_str()), (400, "INVALIDJOB"));
    let (status, _) = error_code(post("SELEC Id FROM").await).await;
    assert_eq!(status, 400);
    let (status, _, job) = sim
        .json(
            Method::POST,
            &sim.api("jobs/query"),
            Some(json!({"operation": "queryAll", "query": "SELECT Id FROM Contact"})),
        )
        .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().unwrap();
    bulk::wait(&sim, "query", id).await;
    let other = format!(
        "{}/services/data/v61.0/jobs/query/{id}/results",
        sim.base_url
    );
    let (status, _) = error_code(sim.call(Method::GET, &other, None).await).await;
    assert_eq!(status, 409, "results are read with the job's own version");
    let (_, _, limits) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(
        limits["DailyBulkV2QueryJobs"],
        json!({"Max": 10000, "Remaining": 9999})
    );
    sim.handle
        .set_bulk_usage("demo", |u| u.query_jobs_used = u.query_jobs_max);
    let (status, code) = error_code(post("SELECT Id FROM Contact").await).await;
    assert_eq!((status, code.as_str()), (400, "LIMIT_EXCEEDED"));
    let (_, _, list) = sim.json(Method::GET, &sim.api("jobs/query"), None).await;
    assert_eq!(list["records"].as_array().unwrap().len(), 1);
    let del = sim
        .call(Method::DELETE, &sim.api(&format!("jobs/query/{id}")), None)
        .await;
    assert_eq!(del.status().as_u16(), 204);
}
