//! Throughput against the simulator (ignored; run with
//! `cargo nextest run -p connector-monday --run-ignored only --no-capture measure`).

use std::time::Instant;

use serde_json::json;
use tandem_proto::v1::{ItemWrite, MondayPollRequest, WriteItemsRequest};

use crate::harness::{CONNECTION, Harness, start_harness, svc};

/// Update 1,000 items in one WriteItems; (seconds, requests).
async fn write_thousand(h: &mut Harness, ids: &[i64], label: &str) -> (f64, usize) {
    h.sim.clear_requests();
    let writes: Vec<ItemWrite> = ids[..1_000]
        .iter()
        .enumerate()
        .map(|(k, id)| ItemWrite {
            id: id.to_string(),
            columns: [
                ("text".to_owned(), json!(format!("{label} {k}")).to_string()),
                ("numbers".to_owned(), json!(k.to_string()).to_string()),
            ]
            .into(),
            idempotency_key: String::new(),
        })
        .collect();
    let t = Instant::now();
    let resp = h
        .client
        .write_items(svc(WriteItemsRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            writes,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let secs = t.elapsed().as_secs_f64();
    assert!(resp.results.iter().all(|r| r.success));
    (secs, h.sim.requests().len())
}

#[tokio::test]
#[ignore = "measurement"]
async fn measure_reads_and_writes_against_the_sim() {
    let mut h = start_harness().await;
    let n = 5_000;
    let ids: Vec<i64> = (0..n)
        .map(|i| {
            h.sim
                .create_item(
                    h.board,
                    None,
                    &format!("Item {i}"),
                    json!({"text": "x", "status": {"label": "Done"}}),
                )
                .unwrap()
        })
        .collect();
    let poll = |max_items, columns: Vec<String>| {
        svc(MondayPollRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            columns,
            max_items,
            watermark: None,
            ..Default::default()
        })
    };
    // Warm the session (token and account lookup).
    h.client.poll_changes(poll(1, vec![])).await.unwrap();
    h.sim.clear_requests();
    let cols = vec!["text".into(), "status".into(), "numbers".into()];
    let t = Instant::now();
    let polled = h
        .client
        .poll_changes(poll(0, cols))
        .await
        .unwrap()
        .into_inner();
    let read_s = t.elapsed().as_secs_f64();
    assert_eq!(polled.items.len(), n);
    let read_requests = h.sim.requests().len();

    // Writes under monday's personal-token budget (10M points a minute at ~10,000 a
    // mutation: about 1,000 writes a minute), then under one that never binds.
    let account = h.account.account_id;
    let bound = write_thousand(&mut h, &ids, "bound").await;
    h.sim.set_complexity_budget(account, Some(1_000_000_000));
    h.sim.reset_complexity_budget(account);
    let free = write_thousand(&mut h, &ids, "free").await;

    println!(
        "items read: {n} in {read_s:.2}s = {:.0} items/s, {read_requests} requests ({:.1} per 1,000 items)",
        n as f64 / read_s,
        read_requests as f64 * 1000.0 / n as f64
    );
    for (label, (secs, requests)) in [("10M/min budget", bound), ("unbounded budget", free)] {
        println!(
            "updates written ({label}): 1000 in {secs:.2}s = {:.0} updates/s, {requests} requests per 1,000 updates",
            1000.0 / secs
        );
    }
}

/// What the webhook checks cost per delivery: 500 distinct events (token, rate count in Redis,
/// the watched-board answer from the cache, the replay mark, SubmitChanges to the stand-in),
/// then the same delivery 500 times (refused as a replay).
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn measure_webhook_deliveries() {
    use crate::webhooks::{event, jwt};
    let h = start_harness().await;
    let token = jwt(&h, &h.signing_secret, 300);
    // One client for all (a new one per request would measure its own set-up).
    let client = reqwest::Client::new();
    let url = format!("http://{}{}", h.webhooks, connector_monday::WEBHOOK_PATH);
    let post = |token: &str, body: String| {
        let sent = client
            .post(&url)
            .header("authorization", token)
            .header("content-type", "application/json")
            .body(body)
            .send();
        async move { sent.await.unwrap().status().as_u16() }
    };
    let mut taken = Vec::new();
    for pulse in 0..500 {
        let t = Instant::now();
        assert_eq!(
            post(&token, event(&h, 10_000 + pulse).to_string()).await,
            200
        );
        taken.push(t.elapsed().as_secs_f64() * 1_000.0);
    }
    let mut replayed = Vec::new();
    let body = event(&h, 10_000).to_string();
    for _ in 0..500 {
        let t = Instant::now();
        assert_eq!(post(&token, body.clone()).await, 409);
        replayed.push(t.elapsed().as_secs_f64() * 1_000.0);
    }
    // The floor: monday's challenge, answered before any check.
    let mut challenged = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let r = client
            .post(&url)
            .json(&json!({"challenge": "c"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        challenged.push(t.elapsed().as_secs_f64() * 1_000.0);
    }
    for (label, mut ms) in [
        ("taken", taken),
        ("replay refused", replayed),
        ("challenge (no checks)", challenged),
    ] {
        ms.sort_by(f64::total_cmp);
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        println!(
            "webhook {label}: mean {mean:.2} ms, p50 {:.2} ms, p99 {:.2} ms ({} deliveries)",
            ms[ms.len() / 2],
            ms[ms.len() * 99 / 100],
            ms.len()
        );
    }
}
