//! Errors as monday gives them: auth, versions, complexity, per-item column errors with
//! partial data, and several aliased mutations in one request.

use serde_json::{Value, json};

use crate::{gql, gql_versioned, start_with_account, tandem_board};

#[tokio::test]
async fn a_missing_or_bad_token_is_401_and_bearer_is_accepted() {
    let (sim, acct) = start_with_account().await;
    let bad = gql(&sim.url, "nope", "{ me { id } }", json!({})).await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.body["errors"][0]["message"], "Not Authenticated");
    let bearer = gql(
        &sim.url,
        &format!("Bearer {}", acct.token),
        "{ me { id email } }",
        json!({}),
    )
    .await;
    assert_eq!(bearer.status, 200);
    assert_eq!(bearer.body["data"]["me"]["email"], "ann@acme.test");
    assert!(bearer.body["extensions"]["request_id"].is_string());
}

#[tokio::test]
async fn api_version_is_echoed_and_an_unknown_one_is_refused() {
    let (sim, acct) = start_with_account().await;
    let ok = gql_versioned(
        &sim.url,
        &acct.token,
        "2025-07",
        "{ version { value } }",
        json!({}),
    )
    .await;
    assert_eq!(ok.headers["api-version"], "2025-07");
    assert_eq!(ok.body["data"]["version"]["value"], "2025-07");
    let bad = gql_versioned(&sim.url, &acct.token, "2025-05", "{ me { id } }", json!({})).await;
    assert_eq!(bad.status, 200);
    assert_eq!(
        bad.body["errors"][0]["extensions"]["code"],
        "InvalidVersionException"
    );
    assert!(bad.body.get("data").is_none());
    assert!(
        bad.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2025-05")
    );
}

#[tokio::test]
async fn unknown_fields_fail_validation_and_change_nothing() {
    let (sim, acct) = start_with_account().await;
    let board = tandem_board(&sim.handle, acct.account_id);
    let q = format!(
        "mutation {{ create_item(board_id: {board}, item_name: \"x\") {{ id shoe_size }} }}"
    );
    let r = gql(&sim.url, &acct.token, &q, json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["errors"][0]["message"],
        "Cannot query field \"shoe_size\" on type \"Item\"."
    );
    let count = gql(
        &sim.url,
        &acct.token,
        &format!("{{ boards(ids: [{board}]) {{ items_count }} }}"),
        json!({}),
    )
    .await;
    assert_eq!(count.body["data"]["boards"][0]["items_count"], 0);
}

#[tokio::test]
async fn complexity_is_reported_and_an_exhausted_budget_is_429_with_retry_in_seconds() {
    let (sim, acct) = start_with_account().await;
    let r = gql(
        &sim.url,
        &acct.token,
        "{ complexity { query before after reset_in_x_seconds } }",
        json!({}),
    )
    .await;
    let c = &r.body["data"]["complexity"];
    assert_eq!(c["before"], 10_000_000);
    assert_eq!(
        c["after"].as_u64().unwrap(),
        10_000_000 - c["query"].as_u64().unwrap()
    );
    assert!(c["query"].as_u64().unwrap() > 0);

    sim.handle.exhaust_complexity_budget(acct.account_id);
    let table = [
        ("2024-10", "ComplexityException"),
        ("2025-04", "COMPLEXITY_BUDGET_EXHAUSTED"),
        ("2025-10", "COMPLEXITY_BUDGET_EXHAUSTED"),
    ];
    for (version, code) in table {
        let r = gql_versioned(&sim.url, &acct.token, version, "{ me { id } }", json!({})).await;
        assert_eq!(r.status, 429, "{version}");
        let ext = &r.body["errors"][0]["extensions"];
        assert_eq!(ext["code"], code, "{version}: {}", r.body);
        let retry = ext["retry_in_seconds"].as_u64().unwrap();
        assert!((1..=60).contains(&retry), "{version}");
        assert_eq!(
            r.headers["retry-after"].to_str().unwrap(),
            retry.to_string()
        );
    }
    let log = sim.handle.requests();
    assert_eq!(
        log.last().unwrap().error_codes,
        vec!["COMPLEXITY_BUDGET_EXHAUSTED".to_string()]
    );
    sim.handle.reset_complexity_budget(acct.account_id);
    assert_eq!(
        gql(&sim.url, &acct.token, "{ me { id } }", json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_query_above_the_single_query_cap_is_a_complexity_exception() {
    let (sim, acct) = start_with_account().await;
    let q = "{ boards(limit: 500) { items_page(limit: 500) { items { id name column_values { id text value } } } } }";
    let r = gql(&sim.url, &acct.token, q, json!({})).await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"], "ComplexityException",
        "{}",
        r.body
    );
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds max complexity of 5000000")
    );
}

const CHANGE: &str = "mutation ($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, item_id: $i, column_values: $v) { id } }";

#[tokio::test]
async fn an_unknown_status_label_is_a_column_value_exception_unless_labels_may_be_created() {
    let (sim, acct) = start_with_account().await;
    let board = tandem_board(&sim.handle, acct.account_id);
    let item = sim
        .handle
        .create_item(board, None, "a", json!({"text": "keep"}))
        .unwrap();
    let vals = json!({"status": {"label": "Negotiating"}, "text": "changed"}).to_string();
    let r = gql(
        &sim.url,
        &acct.token,
        CHANGE,
        json!({"b": board.to_string(), "i": item.to_string(), "v": vals}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["change_multiple_column_values"], Value::Null);
    let e = &r.body["errors"][0];
    assert_eq!(e["extensions"]["code"], "ColumnValueException");
    assert_eq!(e["extensions"]["error_data"]["column_type"], "color");
    assert_eq!(e["path"], json!(["change_multiple_column_values"]));
    assert_eq!(
        sim.handle.item(item).unwrap().values["text"],
        json!("keep"),
        "a failed write changes nothing"
    );

    let q = "mutation ($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values(board_id: $b, item_id: $i, column_values: $v, create_labels_if_missing: true) { column_values(ids: [\"status\"]) { text } } }";
    let r = gql(
        &sim.url,
        &acct.token,
        q,
        json!({"b": board.to_string(), "i": item.to_string(), "v": vals}),
    )
    .await;
    assert_eq!(
        r.body["data"]["change_multiple_column_values"]["column_values"][0]["text"], "Negotiating",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn writes_to_read_only_and_unknown_columns_are_refused_per_item() {
    let (sim, acct) = start_with_account().await;
    let board = tandem_board(&sim.handle, acct.account_id);
    let item = sim.handle.create_item(board, None, "a", json!({})).unwrap();
    let table = [
        ("mirror", "InvalidColumnTypeException"),
        ("formula", "InvalidColumnTypeException"),
        ("no_such_column", "InvalidColumnIdException"),
    ];
    for (col, code) in table {
        let q = "mutation ($b: ID!, $i: ID, $c: String!) { change_column_value(board_id: $b, item_id: $i, column_id: $c, value: \"\\\"x\\\"\") { id } }";
        let r = gql(
            &sim.url,
            &acct.token,
            q,
            json!({"b": board.to_string(), "i": item.to_string(), "c": col}),
        )
        .await;
        assert_eq!(
            r.body["errors"][0]["extensions"]["code"], code,
            "{col}: {}",
            r.body
        );
    }
    let r = gql(
        &sim.url,
        &acct.token,
        CHANGE,
        json!({"b": board.to_string(), "i": "999", "v": "{}"}),
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "ResourceNotFoundException"
    );
    let r = gql(
        &sim.url,
        &acct.token,
        CHANGE,
        json!({"b": "999", "i": item.to_string(), "v": "{}"}),
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "InvalidBoardIdException"
    );
}

#[tokio::test]
async fn aliased_mutations_in_one_request_succeed_or_fail_one_by_one() {
    let (sim, acct) = start_with_account().await;
    let board = tandem_board(&sim.handle, acct.account_id);
    let a = sim.handle.create_item(board, None, "a", json!({})).unwrap();
    let b = sim.handle.create_item(board, None, "b", json!({})).unwrap();
    // Inline literals, as clients that build query strings send them.
    let q = format!(
        r#"mutation {{
            u1: change_multiple_column_values(board_id: {board}, item_id: {a}, column_values: "{{\"text\": \"one\", \"numbers\": \"42\", \"name\": \"A2\"}}") {{ id name }}
            u2: change_simple_column_value(board_id: {board}, item_id: {b}, column_id: "status", value: "Done") {{ id }}
            u3: change_column_value(board_id: {board}, item_id: {b}, column_id: "status", value: "{{\"label\": \"Nope\"}}") {{ id }}
            c1: create_item(board_id: {board}, item_name: "c", column_values: "{{\"date\": {{\"date\": \"2026-03-01\"}}}}") {{ id }}
            complexity {{ query }}
        }}"#
    );
    let r = gql(&sim.url, &acct.token, &q, json!({})).await;
    let d = &r.body["data"];
    assert_eq!(d["u1"]["name"], "A2", "{}", r.body);
    assert_eq!(d["u2"]["id"], b.to_string());
    assert_eq!(d["u3"], Value::Null);
    assert!(d["c1"]["id"].is_string());
    assert!(
        d["complexity"]["query"].as_u64().unwrap_or(0) >= 40_000,
        "each mutation is charged: {}",
        r.body
    );
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["errors"][0]["path"], json!(["u3"]));
    let a_now = sim.handle.item(a).unwrap();
    assert_eq!(
        (
            a_now.values["text"].clone(),
            a_now.values["numbers"].clone()
        ),
        (json!("one"), json!("42"))
    );
    assert_eq!(sim.handle.item(b).unwrap().values["status"]["index"], 1);
    assert_eq!(sim.handle.requests().len(), 1);
}

#[tokio::test]
async fn archive_and_delete_change_state_and_hide_items_from_pages() {
    let (sim, acct) = start_with_account().await;
    let board = tandem_board(&sim.handle, acct.account_id);
    let a = sim.handle.create_item(board, None, "a", json!({})).unwrap();
    let b = sim.handle.create_item(board, None, "b", json!({})).unwrap();
    let r = gql(&sim.url, &acct.token, &format!("mutation {{ x: archive_item(item_id: {a}) {{ id state }} y: delete_item(item_id: {b}) {{ state }} }}"), json!({})).await;
    assert_eq!(r.body["data"]["x"]["state"], "archived");
    assert_eq!(r.body["data"]["y"]["state"], "deleted");
    let r = gql(&sim.url, &acct.token, &format!("{{ boards(ids: [{board}]) {{ items_page {{ items {{ id }} }} }} items(ids: [{a}]) {{ state }} }}"), json!({})).await;
    assert_eq!(
        r.body["data"]["boards"][0]["items_page"]["items"],
        json!([])
    );
    assert_eq!(r.body["data"]["items"][0]["state"], "archived");
}

#[tokio::test]
async fn the_demo_seed_has_a_deals_board_with_forty_items_and_every_column_kind() {
    let sim = crate::start(monday_sim::Config {
        seed: monday_sim::Seed::Demo,
        ..Default::default()
    })
    .await;
    let demo = sim.demo.clone().unwrap();
    let q = "query ($b: [ID!]) { boards(ids: $b) { name columns { type } items_page(limit: 100) { items { column_values { type text ... on MirrorValue { display_value } } } } } users { email } }";
    let r = gql(
        &sim.url,
        &demo.token,
        q,
        json!({"b": [demo.board_id.to_string()]}),
    )
    .await;
    let board = &r.body["data"]["boards"][0];
    assert_eq!(board["name"], "Deals");
    let kinds: Vec<&str> = board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    for k in [
        "status",
        "people",
        "numbers",
        "date",
        "phone",
        "link",
        "long_text",
        "text",
        "email",
        "checkbox",
        "dropdown",
        "mirror",
        "formula",
        "board_relation",
    ] {
        assert!(kinds.contains(&k), "{k} missing");
    }
    let items = board["items_page"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 40);
    assert!(items.iter().all(|i| {
        i["column_values"].as_array().unwrap().iter().any(|c| {
            c["type"] == "mirror" && c["display_value"].as_str().is_some_and(|d| !d.is_empty())
        })
    }));
    assert!(r.body["data"]["users"].as_array().unwrap().len() >= 3);
}

#[tokio::test]
async fn the_per_minute_call_limit_answers_429_minute_rate_limit_exceeded() {
    let sim = crate::start(monday_sim::Config {
        requests_per_minute: 2,
        ..Default::default()
    })
    .await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    for _ in 0..2 {
        assert_eq!(
            gql(&sim.url, &acct.token, "{ me { id } }", json!({}))
                .await
                .status,
            200
        );
    }
    let r = gql(&sim.url, &acct.token, "{ me { id } }", json!({})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["errors"][0]["message"], "Minute rate limit exceeded");
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "MINUTE_RATE_LIMIT_EXCEEDED"
    );
    assert!(
        r.body["errors"][0]["extensions"]["retry_in_seconds"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn a_full_board_refuses_create_item_with_items_limitation() {
    let sim = crate::start(monday_sim::Config {
        max_items_per_board: 2,
        ..Default::default()
    })
    .await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    let board = tandem_board(&sim.handle, acct.account_id);
    let q = format!(
        "mutation {{ a: create_item(board_id: {board}, item_name: \"1\") {{ id }} b: create_item(board_id: {board}, item_name: \"2\") {{ id }} c: create_item(board_id: {board}, item_name: \"3\") {{ id }} }}"
    );
    let r = gql(&sim.url, &acct.token, &q, json!({})).await;
    assert!(r.body["data"]["b"]["id"].is_string(), "{}", r.body);
    assert_eq!(r.body["data"]["c"], Value::Null);
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "ItemsLimitationException"
    );
}
