//! API limits, `Sforce-Limit-Info`, injected faults and the call log.

use reqwest::Method;
use serde_json::json;

use crate::support;

fn used(limit: &Option<String>) -> u64 {
    limit
        .as_deref()
        .and_then(|l| l.strip_prefix("api-usage="))
        .and_then(|r| r.split_once('/'))
        .and_then(|(u, _)| u.parse().ok())
        .expect("api-usage header")
}

#[tokio::test]
async fn limits_decrease_with_every_call_and_every_response_carries_the_header() {
    let sim = support::start_default().await;
    let (status, l1, b1) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(status, 200);
    assert_eq!(b1["DailyApiRequests"]["Max"], json!(15000));
    let (_, l2, _) = sim
        .json(Method::GET, &sim.api("sobjects/Account/describe"), None)
        .await;
    let (status, l3, _) = sim
        .json(Method::POST, &sim.api("sobjects/Account"), Some(json!({})))
        .await;
    assert_eq!(status, 400, "errors carry the header too");
    let (_, l4, b4) = sim.json(Method::GET, &sim.api("limits/"), None).await;
    assert_eq!([used(&l1), used(&l2), used(&l3), used(&l4)], [1, 2, 3, 4]);
    assert_eq!(
        b1["DailyApiRequests"]["Remaining"].as_u64().unwrap_or(0)
            - b4["DailyApiRequests"]["Remaining"].as_u64().unwrap_or(0),
        3
    );
    let r = sim
        .client
        .get(format!("{}/services/data", sim.base_url))
        .send()
        .await
        .expect("versions");
    assert!(
        r.headers().get("sforce-limit-info").is_none(),
        "the versions list is free"
    );
    assert_eq!(sim.handle.api_usage("demo"), (4, 15000));
}

#[tokio::test]
async fn spent_allocation_answers_403_request_limit_exceeded() {
    let sim = support::start_default().await;
    sim.handle.set_api_limit("demo", 3);
    for _ in 0..3 {
        let (status, _, _) = sim.json(Method::GET, &sim.api("limits"), None).await;
        assert_eq!(status, 200);
    }
    let (status, limit, body) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(status, 403);
    assert_eq!(limit.as_deref(), Some("api-usage=3/3"));
    assert_eq!(
        body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
}

#[tokio::test]
async fn injected_503_then_success_is_in_the_call_log() {
    let sim = support::start_default().await;
    sim.handle.fail_next(1, 503);
    let (s1, _, _) = sim.json(Method::GET, &sim.api("limits"), None).await;
    let (s2, _, _) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!((s1, s2), (503, 200));
    let calls = sim.handle.calls();
    let statuses: Vec<u16> = calls
        .iter()
        .filter(|c| c.path.ends_with("/limits"))
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [503, 200]);
    assert!(calls.iter().all(|c| c.method == "GET"));
    assert_eq!(sim.handle.count_calls("get", "/limits"), 2);
}

#[tokio::test]
async fn lock_fault_answers_unable_to_lock_row() {
    let sim = support::start_default().await;
    sim.handle.lock_next(2);
    let (status, _, body) = sim
        .json(
            Method::POST,
            &sim.api("sobjects/Account"),
            Some(json!({"Name": "A"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], json!("UNABLE_TO_LOCK_ROW"));
    let recs = json!({"records": [{"attributes": {"type": "Account"}, "Name": "B"}]});
    let (status, _, body) = sim
        .json(
            Method::POST,
            &sim.api("composite/sobjects"),
            Some(recs.clone()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body[0]["errors"][0]["statusCode"],
        json!("UNABLE_TO_LOCK_ROW")
    );
    let (_, _, body) = sim
        .json(Method::POST, &sim.api("composite/sobjects"), Some(recs))
        .await;
    assert_eq!(body[0]["success"], json!(true));
    assert_eq!(sim.handle.count("demo", "Account"), 1);
}

#[tokio::test]
async fn dropped_connection_gets_no_answer_and_the_next_one_does() {
    let sim = support::start_default().await;
    sim.handle.drop_next(1);
    let r = sim
        .client
        .get(sim.api("limits"))
        .bearer_auth(&sim.token)
        .send()
        .await;
    assert!(r.is_err(), "the connection should have been closed: {r:?}");
    let (status, _, _) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(status, 200);
    assert_eq!(sim.handle.calls().first().map(|c| c.status), Some(0));
}

#[tokio::test]
async fn control_plane_reads_calls_and_injects_faults_over_http() {
    let sim = support::start_default().await;
    let base = sim.base_url.clone();
    let r = sim
        .client
        .post(format!("{base}/__sim/faults"))
        .json(&json!({"fail_next": {"count": 1, "status": 500}}))
        .send()
        .await
        .expect("faults");
    assert_eq!(r.status().as_u16(), 204);
    let (status, _, _) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(status, 500);
    let calls: serde_json::Value = sim
        .client
        .get(format!("{base}/__sim/calls"))
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("json");
    let api: Vec<_> = calls
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["path"] == json!("/services/data/v62.0/limits"))
        .collect();
    assert_eq!(api.len(), 1);
    assert_eq!(api[0]["status"], json!(500));
    let tokens: serde_json::Value = sim
        .client
        .post(format!("{base}/__sim/orgs/acme/tokens"))
        .send()
        .await
        .expect("t")
        .json()
        .await
        .expect("json");
    let r = sim
        .client
        .get(sim.api("limits"))
        .bearer_auth(tokens["access_token"].as_str().unwrap_or_default())
        .header("Host", "acme.my.salesforce.com")
        .send()
        .await
        .expect("limits");
    assert_eq!(r.status().as_u16(), 200);
}
