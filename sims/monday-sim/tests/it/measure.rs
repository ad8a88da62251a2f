//! Throughput figures (ignored by default; run with
//! `cargo nextest run -p monday-sim --run-ignored only --no-capture measure`).

use std::time::Instant;

use serde_json::json;

use crate::{gql, start_with_account, tandem_board};

#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn measure_items_read_and_updates_written_per_second() {
    let (sim, acct) = start_with_account().await;
    let board = tandem_board(&sim.handle, acct.account_id);
    for n in 0..2000 {
        sim.handle
            .create_item(
                board,
                None,
                &format!("item {n}"),
                json!({"text": format!("t{n}"), "status": {"label": "Done"}, "numbers": "5"}),
            )
            .unwrap();
    }
    let t = Instant::now();
    let first = "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { cursor items { id name updated_at column_values { id type text value } } } } }";
    let next = "query ($c: String!) { next_items_page(cursor: $c, limit: 500) { cursor items { id name updated_at column_values { id type text value } } } }";
    let r = gql(
        &sim.url,
        &acct.token,
        first,
        json!({"b": [board.to_string()]}),
    )
    .await;
    let ids_of = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mut ids = ids_of(&r.body["data"]["boards"][0]["items_page"]["items"]);
    let mut cursor = r.body["data"]["boards"][0]["items_page"]["cursor"]
        .as_str()
        .map(str::to_string);
    while let Some(c) = cursor {
        let r = gql(&sim.url, &acct.token, next, json!({"c": c})).await;
        ids.extend(ids_of(&r.body["data"]["next_items_page"]["items"]));
        cursor = r.body["data"]["next_items_page"]["cursor"]
            .as_str()
            .map(str::to_string);
    }
    let read_s = t.elapsed().as_secs_f64();
    let read = ids.len();
    assert_eq!(read, 2000);
    sim.handle.clear_requests();
    let t = Instant::now();
    let per_request = 25;
    let mut written = 0;
    for chunk in (0..300usize).collect::<Vec<_>>().chunks(per_request) {
        let mut q = String::from("mutation {");
        for n in chunk {
            let item = &ids[*n];
            let vals = json!({"text": format!("u{n}"), "numbers": n.to_string()})
                .to_string()
                .replace('"', "\\\"");
            q.push_str(&format!(" u{n}: change_multiple_column_values(board_id: {board}, item_id: {item}, column_values: \"{vals}\") {{ id }}"));
        }
        q.push_str(" }");
        let r = gql(&sim.url, &acct.token, &q, json!({})).await;
        assert!(r.body.get("errors").is_none(), "{}", r.body);
        written += chunk.len();
    }
    let write_s = t.elapsed().as_secs_f64();
    let requests = sim.handle.requests().len();
    println!(
        "read {read} items in {read_s:.3}s = {:.0} items/s; wrote {written} updates in {write_s:.3}s = {:.0} updates/s over {requests} requests ({:.1} requests per 1,000 changes)",
        read as f64 / read_s,
        written as f64 / write_s,
        requests as f64 * 1000.0 / written as f64
    );
}
