//! Query paging with `nextRecordsUrl` and `Sforce-Query-Options: batchSize`.

use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;

use crate::support::{self, TestSim, V};

fn seed_contacts(sim: &TestSim, n: usize) {
    let records: Vec<Value> = (0..n)
        .map(|i| json!({"LastName": format!("Pager {i:05}"), "Email": format!("p{i}@example.com")}))
        .collect();
    sim.handle
        .insert_many("demo", "Contact", records)
        .expect("seed contacts");
}

/// Follows `nextRecordsUrl` to the end; returns page sizes and all ids.
async fn drain(sim: &TestSim, first: reqwest::Response) -> (Vec<usize>, Vec<String>, Vec<Value>) {
    let (status, _, mut page) = support::read(first).await;
    assert_eq!(status, 200, "{page}");
    let total = page["totalSize"].clone();
    let (mut sizes, mut ids, mut urls) = (vec![], vec![], vec![]);
    loop {
        assert_eq!(
            page["totalSize"], total,
            "totalSize is the whole count on every page"
        );
        let records = page["records"].as_array().expect("records");
        sizes.push(records.len());
        ids.extend(
            records
                .iter()
                .map(|r| r["Id"].as_str().unwrap_or_default().to_string()),
        );
        if page["done"] == json!(true) {
            assert!(
                page.get("nextRecordsUrl").is_none(),
                "the last page has no nextRecordsUrl"
            );
            break;
        }
        let next = page["nextRecordsUrl"]
            .as_str()
            .expect("nextRecordsUrl")
            .to_string();
        urls.push(json!(next));
        let (status, limit, body) = sim.json(Method::GET, &next, None).await;
        assert_eq!(status, 200, "{body}");
        assert!(limit.is_some());
        page = body;
    }
    (sizes, ids, urls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_pages_over_5000_records_with_next_records_url() {
    let sim = support::start_default().await;
    seed_contacts(&sim, 5_200);
    let r = sim
        .client
        .get(sim.api("query/"))
        .query(&[("q", "SELECT Id, LastName FROM Contact ORDER BY LastName")])
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("query");
    let (sizes, ids, urls) = drain(&sim, r).await;
    assert_eq!(sizes, vec![2000, 2000, 1200]);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        5_200,
        "no record twice"
    );
    for u in urls {
        let u = u.as_str().unwrap_or_default();
        let locator = u
            .strip_prefix(&format!("/services/data/v{V}/query/"))
            .expect("locator path");
        assert!(
            !locator.is_empty() && !locator.contains('/'),
            "one path segment: {u}"
        );
    }
    assert_eq!(sim.handle.count_calls("GET", "/query"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_size_header_is_honoured_within_200_and_2000() {
    let sim = support::start_default().await;
    seed_contacts(&sim, 2_500);
    for (asked, page) in [
        ("batchSize=500", 500),
        ("batchSize=50", 200),
        ("batchSize=5000", 2000),
    ] {
        let r = sim
            .client
            .get(sim.api("query"))
            .query(&[("q", "SELECT Id FROM Contact")])
            .header("Sforce-Query-Options", asked)
            .bearer_auth(&sim.token)
            .send()
            .await
            .expect("query");
        let (sizes, ids, _) = drain(&sim, r).await;
        assert_eq!(sizes[0], page, "{asked}");
        assert_eq!(ids.len(), 2_500, "{asked}");
    }
}

#[tokio::test]
async fn query_all_includes_deleted_records_and_query_does_not() {
    let sim = support::start_default().await;
    let a = sim
        .handle
        .insert("demo", "Account", json!({"Name": "Keep"}))
        .expect("a");
    let b = sim
        .handle
        .insert("demo", "Account", json!({"Name": "Gone"}))
        .expect("b");
    sim.handle.delete("demo", &b).expect("delete");
    let (_, live) = sim.query("SELECT Id, IsDeleted FROM Account").await;
    assert_eq!(live["totalSize"], json!(1));
    assert_eq!(live["records"][0]["Id"], json!(a));
    let r = sim
        .client
        .get(sim.api("queryAll"))
        .query(&[(
            "q",
            "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true",
        )])
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("queryAll");
    let (status, _, all) = support::read(r).await;
    assert_eq!(status, 200);
    assert_eq!(all["totalSize"], json!(1));
    assert_eq!(all["records"][0]["Id"], json!(b));
}

#[tokio::test]
async fn an_unknown_query_locator_is_rejected() {
    let sim = support::start_default().await;
    let (status, _, body) = sim
        .json(Method::GET, &sim.api("query/0r8nothing-2000"), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], json!("INVALID_QUERY_LOCATOR"));
}
