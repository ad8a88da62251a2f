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
