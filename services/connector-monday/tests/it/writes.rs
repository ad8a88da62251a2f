//! WriteItems: batching by the complexity budget, per-item errors, idempotent creates, and
//! waiting out a spent budget.

use std::collections::HashMap;

use connector_monday::Options;
use serde_json::json;
use tandem_proto::v1::{ItemWrite, WriteItemsRequest, WriteItemsResponse};
use tonic::Code;

use crate::harness::{CONNECTION, Harness, served, start_harness, start_with, svc};

fn update(id: i64, cols: &[(&str, serde_json::Value)]) -> ItemWrite {
    ItemWrite {
        id: id.to_string(),
        columns: cols
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_string()))
            .collect(),
        idempotency_key: String::new(),
    }
}

fn create(name: &str, key: &str, cols: &[(&str, serde_json::Value)]) -> ItemWrite {
    let mut columns: HashMap<String, String> = cols
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_string()))
        .collect();
    columns.insert("name".into(), json!(name).to_string());
    ItemWrite {
        id: String::new(),
        columns,
        idempotency_key: key.into(),
    }
}

async fn write(
    h: &mut Harness,
    writes: Vec<ItemWrite>,
) -> Result<WriteItemsResponse, tonic::Status> {
    h.client
        .write_items(svc(WriteItemsRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            group_id: String::new(),
            writes,
            create_labels_if_missing: false,
        }))
        .await
        .map(|r| r.into_inner())
}

fn items(h: &Harness, n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| {
            h.sim
                .create_item(h.board, None, &format!("Item {i}"), json!({}))
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn three_hundred_updates_go_in_one_request() {
    let mut h = start_harness().await;
    let ids = items(&h, 300);
    // Warm up: the connection's account and the budget are known before the writes.
    write(&mut h, vec![update(ids[0], &[("text", json!("warm"))])])
        .await
        .unwrap();
    h.sim.clear_requests();
    let writes = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            update(
                *id,
                &[
                    ("text", json!(format!("note {n}"))),
                    ("numbers", json!(n.to_string())),
                ],
            )
        })
        .collect();
    let resp = write(&mut h, writes).await.unwrap();
    assert_eq!(resp.results.len(), 300);
    assert!(
        resp.results.iter().all(|r| r.success && !r.created),
        "{:?}",
        resp.results.iter().find(|r| !r.success)
    );
    assert_eq!(
        resp.results[299].id,
        ids[299].to_string(),
        "results in request order"
    );
    let log = h.sim.requests();
    assert_eq!(
        log.len(),
        1,
        "300 x 10,003 points fit under monday's 5,000,000 per-query cap"
    );
    assert_eq!(resp.api_calls, 1);
    assert_eq!(
        h.sim.item(ids[123]).unwrap().values["text"],
        json!("note 123")
    );
}

#[tokio::test]
async fn a_thousand_updates_take_the_fewest_requests_the_query_cap_allows() {
    let mut h = start_harness().await;
    let ids = items(&h, 1_000);
    // A budget that covers them all in one minute, so only the per-query cap splits them.
    h.sim
        .set_complexity_budget(h.account.account_id, Some(50_000_000));
    write(&mut h, vec![update(ids[0], &[("text", json!("warm"))])])
        .await
        .unwrap();
    h.sim.clear_requests();
    let writes = ids
        .iter()
        .map(|id| update(*id, &[("text", json!("x"))]))
        .collect();
    let resp = write(&mut h, writes).await.unwrap();
    assert!(resp.results.iter().all(|r| r.success));
    // 499 writes of 10,003 points fit under 5,000,000: ceil(1000 / 499) = 3 requests.
    assert_eq!(served(&h.sim, "change_multiple_column_values"), 3);
    assert!(
        h.sim
            .requests()
            .iter()
            .all(|r| r.http_status == 200 && r.error_codes.is_empty())
    );
}

#[tokio::test]
async fn a_smaller_budget_means_smaller_batches() {
    let mut h = start_harness().await;
    let ids = items(&h, 30);
    h.sim
        .set_complexity_budget(h.account.account_id, Some(2_000_000));
    write(&mut h, vec![update(ids[0], &[("text", json!("warm"))])])
        .await
        .unwrap();
    h.sim.clear_requests();
    // About 1,990,000 points are left: 198 writes would fit, so 30 go in one request...
    let writes: Vec<_> = ids
        .iter()
        .map(|id| update(*id, &[("text", json!("y"))]))
        .collect();
    write(&mut h, writes).await.unwrap();
    assert_eq!(served(&h.sim, "change_multiple_column_values"), 1);
    // ...and with 100,000 allowed a minute at most 9 fit in one request.
    h.sim
        .set_complexity_budget(h.account.account_id, Some(100_000));
    h.sim.reset_complexity_budget(h.account.account_id);
    write(&mut h, vec![update(ids[0], &[("text", json!("warm"))])])
        .await
        .unwrap();
    h.sim.clear_requests();
    let writes: Vec<_> = ids[..8]
        .iter()
        .map(|id| update(*id, &[("text", json!("z"))]))
        .collect();
    let resp = write(&mut h, writes).await.unwrap();
    assert!(resp.results.iter().all(|r| r.success));
    let sizes: Vec<usize> = h
        .sim
        .requests()
        .iter()
        .map(|r| r.query.matches("change_multiple_column_values").count())
        .collect();
    assert_eq!(sizes, [8], "8 x 10,003 fit in the ~90,000 left");
}

#[tokio::test]
async fn per_item_errors_carry_mondays_code_and_message_in_request_order() {
    let mut h = start_harness().await;
    let ids = items(&h, 3);
    let resp = write(
        &mut h,
        vec![
            update(ids[0], &[("status", json!({"label": "No such label"}))]),
            update(ids[1], &[("text", json!("fine"))]),
            update(ids[2], &[("mirror", json!({"display_value": "x"}))]),
        ],
    )
    .await
    .unwrap();
    let r = &resp.results;
    assert!(!r[0].success);
    assert_eq!(r[0].errors[0].code, "ColumnValueException");
    assert!(
        r[0].errors[0].message.contains("label"),
        "{}",
        r[0].errors[0].message
    );
    assert!(r[1].success);
    assert_eq!(r[1].id, ids[1].to_string());
    assert!(!r[2].success);
    assert_eq!(r[2].errors[0].code, "InvalidColumnTypeException");
    assert_eq!(r[2].id, ids[2].to_string());
    assert_eq!(h.sim.item(ids[1]).unwrap().values["text"], json!("fine"));
    assert_eq!(served(&h.sim, "mutation"), 1, "one request for all three");
}

#[tokio::test]
async fn unknown_labels_are_created_when_asked() {
    let mut h = start_harness().await;
    let ids = items(&h, 1);
    let resp = h
        .client
        .write_items(svc(WriteItemsRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            group_id: String::new(),
            writes: vec![update(ids[0], &[("status", json!({"label": "Brand new"}))])],
            create_labels_if_missing: true,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.results[0].success, "{:?}", resp.results[0]);
}

#[tokio::test]
async fn creates_and_updates_mix_in_one_batch() {
    let mut h = start_harness().await;
    let ids = items(&h, 1);
    let resp = write(
        &mut h,
        vec![
            create("New deal", "", &[("status", json!({"label": "Done"}))]),
            update(ids[0], &[("name", json!("Renamed"))]),
        ],
    )
    .await
    .unwrap();
    assert!(resp.results[0].success && resp.results[0].created);
    let new_id: i64 = resp.results[0].id.parse().unwrap();
    let item = h.sim.item(new_id).unwrap();
    assert_eq!(item.name, "New deal");
    assert_eq!(item.values["status"]["index"], json!(1));
    assert_eq!(h.sim.item(ids[0]).unwrap().name, "Renamed");
}

#[tokio::test]
async fn a_retried_create_never_makes_a_second_item() {
    let mut h = start_harness().await;
    let first = write(
        &mut h,
        vec![create(
            "Acme deal",
            "sf-006000000000001",
            &[("text", json!("v1"))],
        )],
    )
    .await
    .unwrap();
    assert!(first.results[0].created);
    let id = first.results[0].id.clone();
    let item = h.sim.item(id.parse().unwrap()).unwrap();
    assert_eq!(
        item.values["tandem_key"],
        json!("sf-006000000000001"),
        "key stored on the item"
    );
    let again = write(
        &mut h,
        vec![
            create("Acme deal", "sf-006000000000001", &[("text", json!("v2"))]),
            create("Other deal", "sf-006000000000002", &[]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(again.results[0].id, id, "the same item");
    assert!(again.results[0].success && !again.results[0].created);
    assert!(again.results[1].created);
    assert_eq!(
        h.sim.item(id.parse().unwrap()).unwrap().values["text"],
        json!("v2"),
        "applied as an update"
    );
    assert_eq!(
        served(&h.sim, "create_item"),
        2,
        "the first call and the second deal"
    );
    let all = h
        .client
        .poll_changes(svc(tandem_proto::v1::MondayPollRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let acme = all
        .items
        .iter()
        .filter(|r| r.fields["name"] == "\"Acme deal\"")
        .count();
    assert_eq!(acme, 1, "one Acme deal on the board");
}

#[tokio::test]
async fn a_board_without_the_key_column_gets_it_and_creates_stay_idempotent() {
    let mut h = start_harness().await;
    let bare = h.sim.create_board(h.account.account_id, "Bare board");
    h.sim
        .add_column(bare, "text", "Notes", "text", json!({}))
        .unwrap();
    h.board = bare;
    let first = write(&mut h, vec![create("Keyed", "k-bare-1", &[])])
        .await
        .unwrap();
    assert!(first.results[0].created, "{first:?}");
    assert_eq!(
        served(&h.sim, "create_column"),
        1,
        "the key column is added once"
    );
    let id: i64 = first.results[0].id.parse().unwrap();
    assert_eq!(
        h.sim.item(id).unwrap().values["tandem_key"],
        json!("k-bare-1")
    );
    let again = write(
        &mut h,
        vec![create("Keyed", "k-bare-1", &[("text", json!("v2"))])],
    )
    .await
    .unwrap();
    assert_eq!(
        again.results[0].id,
        id.to_string(),
        "the retried create is adopted"
    );
    assert!(!again.results[0].created);
    assert_eq!(served(&h.sim, "create_column"), 1, "and not added again");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_adopted_not_duplicated() {
    let mut h = start_harness().await;
    // An earlier request created the item but its answer never arrived.
    let lost = h
        .sim
        .create_item(h.board, None, "Lost deal", json!({"tandem_key": "k-lost"}))
        .unwrap();
    let resp = write(
        &mut h,
        vec![create("Lost deal", "k-lost", &[("text", json!("retry"))])],
    )
    .await
    .unwrap();
    assert_eq!(resp.results[0].id, lost.to_string());
    assert!(!resp.results[0].created);
    assert_eq!(served(&h.sim, "create_item"), 0);
}

#[tokio::test]
async fn a_create_without_a_key_is_not_resent_after_a_server_error() {
    let mut h = start_harness().await;
    h.sim.set_faults(monday_sim::Faults {
        fail_next: 1,
        status: Some(502),
        ..Default::default()
    });
    // Warm-up is the session lookup (a read, retried); then the create meets no fault.
    let ok = write(&mut h, vec![create("Unkeyed", "", &[])])
        .await
        .unwrap();
    assert!(ok.results[0].created);
    h.sim.set_faults(monday_sim::Faults {
        fail_next: 1,
        status: Some(502),
        ..Default::default()
    });
    let err = write(&mut h, vec![create("Unkeyed 2", "", &[])])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(
        served(&h.sim, "create_item"),
        1,
        "the failed create was not sent again"
    );
}

#[tokio::test]
async fn bad_writes_name_the_field() {
    let mut h = start_harness().await;
    let cases = [
        (
            vec![ItemWrite {
                id: "x1".into(),
                ..Default::default()
            }],
            "writes[0].id `x1` is not a monday id",
        ),
        (
            vec![
                update(1, &[]),
                ItemWrite {
                    id: "2".into(),
                    columns: [("text".to_owned(), "{nope".to_owned())].into(),
                    ..Default::default()
                },
            ],
            "writes[1].columns[text] is not JSON text",
        ),
        (
            vec![ItemWrite::default()],
            "writes[0].columns[name] must be a JSON string",
        ),
    ];
    for (writes, want) in cases {
        let err = write(&mut h, writes).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains(want), "{}", err.message());
    }
    assert!(h.sim.requests().is_empty());
}

#[tokio::test]
async fn a_spent_budget_is_waited_out_and_the_write_then_succeeds() {
    // API 2024-10 answers a spent budget with the older `ComplexityException` shape.
    let mut h = start_with(
        monday_sim::Config::default(),
        Options {
            api_version: "2024-10".into(),
            ..Options::default()
        },
    )
    .await;
    let ids = items(&h, 2);
    write(&mut h, vec![update(ids[0], &[("text", json!("warm"))])])
        .await
        .unwrap();
    // monday refuses the next call as over budget, to be retried in 2 s (the real window is
    // a minute; the injected refusal carries the same body and status).
    h.sim.set_faults(monday_sim::Faults {
        exhaust_budget_next: 1,
        retry_in_seconds: Some(2),
        ..Default::default()
    });
    h.sim.clear_requests();
    let started = std::time::Instant::now();
    let resp = write(
        &mut h,
        vec![update(ids[1], &[("text", json!("after the wait"))])],
    )
    .await
    .unwrap();
    assert!(resp.results[0].success);
    let log = h.sim.requests();
    assert_eq!(log.len(), 2, "refused once, then accepted");
    assert_eq!(log[0].http_status, 429);
    assert_eq!(log[0].error_codes, ["ComplexityException"]);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "waited retry_in_seconds"
    );
    assert_eq!(
        h.sim.item(ids[1]).unwrap().values["text"],
        json!("after the wait")
    );
}

#[tokio::test]
async fn the_budget_left_is_kept_per_account_in_redis_until_the_window_resets() {
    let mut h = start_harness().await;
    let ids = items(&h, 1);
    write(&mut h, vec![update(ids[0], &[("text", json!("x"))])])
        .await
        .unwrap();
    let client = redis::Client::open(tandem_testkit::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{}:monday:budget:{}", h.redis_prefix, h.account.account_id);
    let value: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let remaining: u64 = value.split(':').next().unwrap().parse().unwrap();
    assert!(
        remaining < 10_000_000 - 10_000,
        "a write was charged: {value}"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60).contains(&ttl), "expires with the window: {ttl}");
}
