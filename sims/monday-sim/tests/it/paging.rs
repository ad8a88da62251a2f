//! Cursor paging through `items_page` / `next_items_page`, cursor expiry, and "changed since".

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::{gql, start_with_account};

const FIRST: &str = "query ($b: [ID!], $limit: Int!) { boards(ids: $b) { items_page(limit: $limit) { cursor items { id name } } } }";
const NEXT: &str = "query ($c: String!, $limit: Int!) { next_items_page(cursor: $c, limit: $limit) { cursor items { id name } } }";

#[tokio::test]
async fn pages_two_thousand_items_through_cursors_in_four_requests() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "Big");
    sim.handle
        .add_column(board, "text", "Text", "text", json!({}))
        .unwrap();
    for n in 0..2000 {
        sim.handle
            .create_item(
                board,
                None,
                &format!("item {n}"),
                json!({"text": format!("v{n}")}),
            )
            .unwrap();
    }
    sim.handle.clear_requests();
    let mut seen = HashSet::new();
    let r = gql(
        &sim.url,
        &acct.token,
        FIRST,
        json!({"b": [board.to_string()], "limit": 500}),
    )
    .await;
    let page = &r.body["data"]["boards"][0]["items_page"];
    let mut cursor = page["cursor"].as_str().map(str::to_string);
    seen.extend(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string()),
    );
    while let Some(c) = cursor {
        let r = gql(&sim.url, &acct.token, NEXT, json!({"c": c, "limit": 500})).await;
        let page = &r.body["data"]["next_items_page"];
        assert_eq!(page["items"].as_array().unwrap().len(), 500, "{}", r.body);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        cursor = page["cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 2000);
    assert_eq!(sim.handle.requests().len(), 4);
}

#[tokio::test]
async fn a_limit_above_500_is_refused() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    let r = gql(
        &sim.url,
        &acct.token,
        FIRST,
        json!({"b": [board.to_string()], "limit": 501}),
    )
    .await;
    assert_eq!(r.body["data"]["boards"], json!([null]), "{}", r.body);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn an_expired_cursor_gets_the_cursor_error() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    for n in 0..3 {
        sim.handle
            .create_item(board, None, &format!("i{n}"), json!({}))
            .unwrap();
    }
    let r = gql(
        &sim.url,
        &acct.token,
        FIRST,
        json!({"b": [board.to_string()], "limit": 1}),
    )
    .await;
    let cursor = r.body["data"]["boards"][0]["items_page"]["cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let ok = gql(
        &sim.url,
        &acct.token,
        NEXT,
        json!({"c": cursor, "limit": 1}),
    )
    .await;
    assert_eq!(
        ok.body["data"]["next_items_page"]["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    sim.handle
        .age_cursors(std::time::Duration::from_secs(61 * 60));
    let r = gql(
        &sim.url,
        &acct.token,
        NEXT,
        json!({"c": cursor, "limit": 1}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"], Value::Null, "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "CursorException",
        "{}",
        r.body
    );
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn finds_items_updated_since_a_time_and_orders_by_last_updated() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    let old = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    let mut ids = vec![];
    for n in 0..5 {
        let id = sim
            .handle
            .create_item(board, None, &format!("i{n}"), json!({}))
            .unwrap();
        sim.handle
            .set_updated_at(id, old + time::Duration::minutes(n));
        ids.push(id);
    }
    sim.handle
        .set_updated_at(ids[1], time::OffsetDateTime::now_utc());
    let since = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let q = r#"query ($b: [ID!], $since: CompareValue!) { boards(ids: $b) { items_page(limit: 100, query_params: {
        rules: [{column_id: "__last_updated__", compare_value: ["EXACT", $since], compare_attribute: "UPDATED_AT", operator: greater_than}] }) { items { id } } } }"#;
    let r = gql(
        &sim.url,
        &acct.token,
        q,
        json!({"b": [board.to_string()], "since": since}),
    )
    .await;
    let items = r.body["data"]["boards"][0]["items_page"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items, vec![json!({"id": ids[1].to_string()})], "{}", r.body);

    let q = r#"query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 3, query_params: {order_by: [{column_id: "__last_updated__", direction: desc}]}) { items { id } } } }"#;
    let r = gql(&sim.url, &acct.token, q, json!({"b": [board.to_string()]})).await;
    let got: Vec<String> = r.body["data"]["boards"][0]["items_page"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        got,
        vec![ids[1].to_string(), ids[4].to_string(), ids[3].to_string()]
    );
}

#[tokio::test]
async fn filters_by_status_index_rule() {
    let (sim, acct) = start_with_account().await;
    let board = crate::tandem_board(&sim.handle, acct.account_id);
    let done = sim
        .handle
        .create_item(board, None, "a", json!({"status": {"label": "Done"}}))
        .unwrap();
    sim.handle
        .create_item(board, None, "b", json!({"status": {"label": "Stuck"}}))
        .unwrap();
    let q = r#"query ($b: [ID!]) { boards(ids: $b) { items_page(query_params: {rules: [{column_id: "status", compare_value: [1]}]}) { items { id } } } }"#;
    let r = gql(&sim.url, &acct.token, q, json!({"b": [board.to_string()]})).await;
    assert_eq!(
        r.body["data"]["boards"][0]["items_page"]["items"],
        json!([{"id": done.to_string()}]),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn items_page_by_column_values_finds_exact_text_matches() {
    let (sim, acct) = start_with_account().await;
    let board = crate::tandem_board(&sim.handle, acct.account_id);
    let hit = sim
        .handle
        .create_item(board, None, "a", json!({"text": "SF-001"}))
        .unwrap();
    sim.handle
        .create_item(board, None, "b", json!({"text": "SF-0011"}))
        .unwrap();
    let q = "query ($b: ID!, $v: [String]!) { items_page_by_column_values(board_id: $b, limit: 50, columns: [{column_id: \"text\", column_values: $v}]) { cursor items { id } } }";
    let r = gql(
        &sim.url,
        &acct.token,
        q,
        json!({"b": board.to_string(), "v": ["SF-001"]}),
    )
    .await;
    assert_eq!(
        r.body["data"]["items_page_by_column_values"],
        json!({"cursor": null, "items": [{"id": hit.to_string()}]}),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn cursor_and_query_params_together_are_refused() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    let q = "query ($b: [ID!]) { boards(ids: $b) { items_page(cursor: \"x\", query_params: {rules: []}) { cursor } } }";
    let r = gql(&sim.url, &acct.token, q, json!({"b": [board.to_string()]})).await;
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be used together"),
        "{}",
        r.body
    );
}
