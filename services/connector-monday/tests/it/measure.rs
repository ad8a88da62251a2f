//! Throughput against the simulator (ignored; run with
//! `cargo nextest run -p connector-monday --run-ignored only measure`).

use std::time::Instant;

use serde_json::json;
use tandem_proto::v1::{ItemWrite, MondayPollRequest, WriteItemsRequest};

use crate::harness::{CONNECTION, start_harness, svc};

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
    // Warm the session.
    h.client
        .poll_changes(svc(MondayPollRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            max_items: 1,
            ..Default::default()
        }))
        .await
        .unwrap();
    h.sim.clear_requests();
    let t = Instant::now();
    let polled = h
        .client
        .poll_changes(svc(MondayPollRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            columns: vec!["text".into(), "status".into(), "numbers".into()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let read_s = t.elapsed().as_secs_f64();
    assert_eq!(polled.items.len(), n);
    let read_requests = h.sim.requests().len();

    h.sim.clear_requests();
    let writes: Vec<ItemWrite> = ids[..1_000]
        .iter()
        .enumerate()
        .map(|(k, id)| ItemWrite {
            id: id.to_string(),
            columns: [
                ("text".to_owned(), json!(format!("n{k}")).to_string()),
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
    let write_s = t.elapsed().as_secs_f64();
    assert!(resp.results.iter().all(|r| r.success));
    let write_requests = h.sim.requests().len();
    println!(
        "items read: {n} in {read_s:.2}s = {:.0} items/s ({read_requests} requests)",
        n as f64 / read_s
    );
    println!(
        "updates written: 1000 in {write_s:.2}s = {:.0} updates/s",
        1000.0 / write_s
    );
    println!(
        "requests per 1,000 changed items: reads {:.1}, writes {write_requests}",
        read_requests as f64 * 1000.0 / n as f64
    );
}
