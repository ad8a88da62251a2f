//! The `/__sim` control plane and fault injection.

use serde_json::{Value, json};

use crate::{gql, start};

async fn post(url: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    if r.status() == reqwest::StatusCode::NO_CONTENT {
        Value::Null
    } else {
        r.json().await.unwrap()
    }
}

#[tokio::test]
async fn the_control_plane_seeds_data_and_exposes_the_request_log() {
    let sim = start(monday_sim::Config::default()).await;
    let base = sim.url.trim_end_matches("/v2").to_string();
    let acct = post(
        &format!("{base}/__sim/accounts"),
        json!({"name": "Acme", "admin_name": "Ann", "admin_email": "ann@acme.test"}),
    )
    .await;
    let token = acct["token"].as_str().unwrap();
    let board = post(
        &format!("{base}/__sim/boards"),
        json!({"account_id": acct["account_id"], "name": "Deals"}),
    )
    .await["board_id"]
        .as_i64()
        .unwrap();
    post(&format!("{base}/__sim/boards/{board}/columns"), json!({"id": "status", "title": "Stage", "type": "status", "settings": {"labels": {"1": "Done"}}})).await;
    let item = post(
        &format!("{base}/__sim/boards/{board}/items"),
        json!({"name": "Deal", "column_values": {"status": {"label": "Done"}}}),
    )
    .await["item_id"]
        .as_i64()
        .unwrap();

    let r = gql(
        &sim.url,
        token,
        &format!("{{ items(ids: [{item}]) {{ name column_values {{ text }} }} }}"),
        json!({}),
    )
    .await;
    assert_eq!(
        r.body["data"]["items"][0]["column_values"][0]["text"], "Done",
        "{}",
        r.body
    );
    let log: Value = reqwest::get(format!("{base}/__sim/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert!(log[0]["query"].as_str().unwrap().contains("items(ids:"));
    assert!(log[0]["complexity"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn injected_failures_hit_the_next_requests_only() {
    let sim = start(monday_sim::Config::default()).await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    sim.handle.set_faults(monday_sim::Faults {
        fail_next: 2,
        status: Some(503),
        ..Default::default()
    });
    let statuses = [
        gql(&sim.url, &acct.token, "{ me { id } }", json!({}))
            .await
            .status,
        gql(&sim.url, &acct.token, "{ me { id } }", json!({}))
            .await
            .status,
        gql(&sim.url, &acct.token, "{ me { id } }", json!({}))
            .await
            .status,
    ];
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn an_injected_spent_budget_answers_as_monday_does_then_clears() {
    let sim = start(monday_sim::Config::default()).await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    sim.handle.set_faults(monday_sim::Faults {
        exhaust_budget_next: 1,
        retry_in_seconds: Some(7),
        ..Default::default()
    });
    let refused = gql(&sim.url, &acct.token, "{ me { id } }", json!({})).await;
    assert_eq!(refused.status, 429);
    let error = &refused.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "COMPLEXITY_BUDGET_EXHAUSTED");
    assert_eq!(error["extensions"]["retry_in_seconds"], 7);
    let next = gql(&sim.url, &acct.token, "{ me { id } }", json!({})).await;
    assert_eq!(next.status, 200, "{:?}", next.body);
}

#[tokio::test]
async fn too_many_concurrent_requests_get_429_max_concurrency_exceeded() {
    let sim = start(monday_sim::Config {
        max_concurrent_requests: 1,
        ..Default::default()
    })
    .await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    sim.handle.set_faults(monday_sim::Faults {
        latency_ms: 400,
        ..Default::default()
    });
    let (a, b) = tokio::join!(
        gql(&sim.url, &acct.token, "{ me { id } }", json!({})),
        gql(&sim.url, &acct.token, "{ me { id } }", json!({}))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 429]);
    let refused = if a.status == 429 { a } else { b };
    assert_eq!(
        refused.body["errors"][0]["extensions"]["code"],
        "MAX_CONCURRENCY_EXCEEDED"
    );
}
