//! What a cursor serves when the board changes between pages, and reads that go through the
//! board's indexes (groups, polls by last update, lookups by cell text, counts) after writes.

use serde_json::{Value, json};

use crate::{gql, start_with_account};

const FIRST: &str = "query ($b: [ID!], $limit: Int!) { boards(ids: $b) { items_page(limit: $limit) { cursor items { id } } } }";
const NEXT: &str = "query ($c: String!, $limit: Int!) { next_items_page(cursor: $c, limit: $limit) { cursor items { id } } }";

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn next(url: &str, token: &str, cursor: &Value, limit: u32) -> Value {
    let r = gql(url, token, NEXT, json!({"c": cursor, "limit": limit})).await;
    r.body["data"]["next_items_page"].clone()
}

#[tokio::test]
async fn a_cursor_skips_items_archived_after_its_first_page_and_leaves_out_newer_items() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    let items: Vec<i64> = (0..6)
        .map(|n| {
            sim.handle
                .create_item(board, None, &format!("i{n}"), json!({}))
                .unwrap()
        })
        .collect();
    let r = gql(
        &sim.url,
        &acct.token,
        FIRST,
        json!({"b": [board.to_string()], "limit": 2}),
    )
    .await;
    let first = &r.body["data"]["boards"][0]["items_page"];
    assert_eq!(ids(first), items[..2]);
    sim.handle.set_item_state(items[2], "archived");
    sim.handle.set_item_state(items[5], "deleted");
    sim.handle
        .create_item(board, None, "later", json!({}))
        .unwrap();

    let second = next(&sim.url, &acct.token, &first["cursor"], 2).await;
    assert_eq!(ids(&second), vec![items[3], items[4]]);
    assert_eq!(
        second["cursor"],
        Value::Null,
        "nothing active is left of the first page's board: {second}"
    );
    let again = next(&sim.url, &acct.token, &first["cursor"], 2).await;
    assert_eq!(
        ids(&again),
        ids(&second),
        "an earlier cursor serves its page again"
    );
}

#[tokio::test]
async fn a_filtered_query_pages_the_items_it_selected_when_it_started() {
    let (sim, acct) = start_with_account().await;
    let board = crate::tandem_board(&sim.handle, acct.account_id);
    let done: Vec<i64> = (0..5)
        .map(|n| {
            sim.handle
                .create_item(
                    board,
                    None,
                    &format!("d{n}"),
                    json!({"status": {"label": "Done"}}),
                )
                .unwrap()
        })
        .collect();
    sim.handle
        .create_item(board, None, "s", json!({"status": {"label": "Stuck"}}))
        .unwrap();
    let q = r#"query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 2, query_params: {rules: [{column_id: "status", compare_value: [1]}]}) { cursor items { id } } } }"#;
    let r = gql(&sim.url, &acct.token, q, json!({"b": [board.to_string()]})).await;
    let first = &r.body["data"]["boards"][0]["items_page"];
    assert_eq!(ids(first), done[..2], "{}", r.body);
    // Selected when the query started: a later edit does not take an item out of it.
    sim.handle
        .set_values(done[2], json!({"status": {"label": "Stuck"}}))
        .unwrap();
    let second = next(&sim.url, &acct.token, &first["cursor"], 2).await;
    assert_eq!(ids(&second), done[2..4]);
    let third = next(&sim.url, &acct.token, &second["cursor"], 2).await;
    assert_eq!(ids(&third), done[4..]);
    assert_eq!(third["cursor"], Value::Null);
}

#[tokio::test]
async fn a_groups_items_page_pages_only_that_groups_items() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    let other = sim
        .handle
        .add_group(board, Some("other"), "Other", "#000000")
        .unwrap();
    let mut in_other = vec![];
    for n in 0..7 {
        let group = (n % 2 == 0).then_some(other.as_str());
        let id = sim
            .handle
            .create_item(board, group, &format!("i{n}"), json!({}))
            .unwrap();
        if group.is_some() {
            in_other.push(id);
        }
    }
    let q = "query ($b: [ID!], $g: [String]) { boards(ids: $b) { items_count groups(ids: $g) { items_page(limit: 3) { cursor items { id } } } } }";
    let r = gql(
        &sim.url,
        &acct.token,
        q,
        json!({"b": [board.to_string()], "g": ["other"]}),
    )
    .await;
    assert_eq!(r.body["data"]["boards"][0]["items_count"], 7, "{}", r.body);
    let first = &r.body["data"]["boards"][0]["groups"][0]["items_page"];
    let second = next(&sim.url, &acct.token, &first["cursor"], 3).await;
    let mut got = ids(first);
    got.extend(ids(&second));
    assert_eq!(got, in_other);
    assert_eq!(second["cursor"], Value::Null);
}

#[tokio::test]
async fn a_poll_pages_items_changed_since_a_time_oldest_first_ties_by_id() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    let base = time::OffsetDateTime::now_utc() - time::Duration::days(3);
    let mut changed = vec![];
    for n in 0..12i64 {
        let id = sim
            .handle
            .create_item(board, None, &format!("i{n}"), json!({}))
            .unwrap();
        // Items 0..4 changed before the watermark; the others after it, two per second.
        let at = base + time::Duration::seconds(if n < 4 { n } else { 100 + (11 - n) / 2 });
        sim.handle.set_updated_at(id, at);
        if n >= 4 {
            changed.push((at, id));
        }
    }
    changed.sort();
    let since = (base + time::Duration::seconds(50))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let q = r#"query ($b: [ID!], $since: CompareValue!) { boards(ids: $b) { items_page(limit: 3, query_params: {
        rules: [{column_id: "__last_updated__", compare_value: ["EXACT", $since], operator: greater_than_or_equals}],
        order_by: [{column_id: "__last_updated__", direction: asc}]}) { cursor items { id } } } }"#;
    let r = gql(
        &sim.url,
        &acct.token,
        q,
        json!({"b": [board.to_string()], "since": since}),
    )
    .await;
    let mut page = r.body["data"]["boards"][0]["items_page"].clone();
    let mut got = ids(&page);
    while !page["cursor"].is_null() {
        page = next(&sim.url, &acct.token, &page["cursor"], 3).await;
        got.extend(ids(&page));
    }
    assert_eq!(got, changed.iter().map(|(_, id)| *id).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_lookup_by_column_value_follows_writes_renames_and_archiving() {
    let (sim, acct) = start_with_account().await;
    let board = crate::tandem_board(&sim.handle, acct.account_id);
    let a = sim
        .handle
        .create_item(board, None, "Acme", json!({"text": "SF-1"}))
        .unwrap();
    let lookup = "query ($b: ID!, $c: String!, $v: [String]!) { items_page_by_column_values(board_id: $b, limit: 50, columns: [{column_id: $c, column_values: $v}]) { items { id } } }";
    let find = async |col: &str, v: &str| -> Vec<i64> {
        let r = gql(
            &sim.url,
            &acct.token,
            lookup,
            json!({"b": board.to_string(), "c": col, "v": [v]}),
        )
        .await;
        ids(&r.body["data"]["items_page_by_column_values"])
    };
    assert_eq!(find("text", "SF-1").await, vec![a]);
    assert_eq!(find("name", "Acme").await, vec![a]);
    let write = format!(
        "mutation {{ change_multiple_column_values(board_id: {board}, item_id: {a}, column_values: \"{{\\\"text\\\": \\\"SF-2\\\", \\\"name\\\": \\\"Acme 2\\\"}}\") {{ id }} }}"
    );
    let r = gql(&sim.url, &acct.token, &write, json!({})).await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
    assert_eq!(find("text", "SF-1").await, Vec::<i64>::new());
    assert_eq!(find("text", "SF-2").await, vec![a]);
    assert_eq!(find("name", "Acme").await, Vec::<i64>::new());
    assert_eq!(find("name", "Acme 2").await, vec![a]);
    let b = sim
        .handle
        .create_item(board, None, "Other", json!({"text": "SF-2"}))
        .unwrap();
    assert_eq!(find("text", "SF-2").await, vec![a, b]);
    let archive = format!("mutation {{ archive_item(item_id: {a}) {{ id }} }}");
    gql(&sim.url, &acct.token, &archive, json!({})).await;
    assert_eq!(find("text", "SF-2").await, vec![b]);
}

#[tokio::test]
async fn deleted_items_free_their_place_under_the_board_limit() {
    let sim = crate::start(monday_sim::Config {
        max_items_per_board: 2,
        ..Default::default()
    })
    .await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    let board = sim.handle.create_board(acct.account_id, "B");
    let create =
        format!("mutation {{ create_item(board_id: {board}, item_name: \"x\") {{ id }} }}");
    let mut made = vec![];
    for _ in 0..2 {
        let r = gql(&sim.url, &acct.token, &create, json!({})).await;
        made.push(
            r.body["data"]["create_item"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let r = gql(&sim.url, &acct.token, &create, json!({})).await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "ItemsLimitationException",
        "{}",
        r.body
    );
    let delete = format!("mutation {{ delete_item(item_id: {}) {{ id }} }}", made[0]);
    gql(&sim.url, &acct.token, &delete, json!({})).await;
    let r = gql(&sim.url, &acct.token, &create, json!({})).await;
    assert!(
        r.body["data"]["create_item"]["id"].is_string(),
        "{}",
        r.body
    );
    let archive = format!("mutation {{ archive_item(item_id: {}) {{ id }} }}", made[1]);
    gql(&sim.url, &acct.token, &archive, json!({})).await;
    let r = gql(&sim.url, &acct.token, &create, json!({})).await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "ItemsLimitationException",
        "an archived item still counts: {}",
        r.body
    );
}
