//! monday's complexity charged as an estimate then settled against the actual cost (API
//! 2025-10 on), and daily call limits per account — both off unless asked for.

use serde_json::{Value, json};

use crate::{gql, gql_versioned, start, start_with_account};

const PAGE: &str = "query ($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items { id } } } complexity { query before after } }";

async fn page_twice(sim: &crate::Running, token: &str, board: i64, version: &str) -> [Value; 2] {
    let mut out = [Value::Null, Value::Null];
    for slot in &mut out {
        let r = gql_versioned(
            &sim.url,
            token,
            version,
            PAGE,
            json!({"b": [board.to_string()]}),
        )
        .await;
        *slot = r.body["data"]["complexity"].clone();
    }
    out
}

#[tokio::test]
async fn with_actual_cost_on_a_query_is_refunded_down_to_what_it_returned() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    for n in 0..3 {
        sim.handle
            .create_item(board, None, &format!("i{n}"), json!({}))
            .unwrap();
    }
    sim.handle
        .set_complexity_actual_cost(acct.account_id, Some(true));
    let [first, second] = page_twice(&sim, &acct.token, board, "2025-10").await;
    assert_eq!(first["before"], 10_000_000);
    assert!(first["query"].as_u64().unwrap() > 1_000, "{first}");
    // Answered: boards, items_page, items, 3 ids; complexity and its 3 fields = 10 points.
    assert_eq!(second["before"], 10_000_000 - 10, "{first} then {second}");
}

#[tokio::test]
async fn without_actual_cost_or_before_2025_10_the_estimate_is_the_charge() {
    let (sim, acct) = start_with_account().await;
    let board = sim.handle.create_board(acct.account_id, "B");
    let [first, second] = page_twice(&sim, &acct.token, board, "2025-10").await;
    assert_eq!(second["before"], first["after"], "off by default");
    sim.handle
        .set_complexity_actual_cost(acct.account_id, Some(true));
    sim.handle.reset_complexity_budget(acct.account_id);
    let [first, second] = page_twice(&sim, &acct.token, board, "2025-07").await;
    assert_eq!(
        second["before"], first["after"],
        "2025-07 charges estimates"
    );
}

#[tokio::test]
async fn a_failed_mutation_costs_one_point_once_settled() {
    let sim = start(monday_sim::Config {
        complexity_actual_cost: true,
        ..Default::default()
    })
    .await;
    let acct = sim.handle.create_account("Acme", "Ann", "ann@acme.test");
    let board = crate::tandem_board(&sim.handle, acct.account_id);
    let before = "{ complexity { before } }";
    let r = gql(&sim.url, &acct.token, before, json!({})).await;
    assert_eq!(r.body["data"]["complexity"]["before"], 10_000_000);
    let fail = format!(
        "mutation {{ change_simple_column_value(board_id: {board}, item_id: 1, column_id: \"text\", value: \"x\") {{ id }} }}"
    );
    let r = gql(&sim.url, &acct.token, &fail, json!({})).await;
    assert!(r.body["errors"].is_array(), "{}", r.body);
    let r = gql(&sim.url, &acct.token, before, json!({})).await;
    // 2 points for the first query, 1 for the failed mutation's field.
    assert_eq!(
        r.body["data"]["complexity"]["before"],
        10_000_000 - 3,
        "{}",
        r.body
    );
}

fn seconds_to_midnight_utc() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    let midnight = now.date().next_day().unwrap().midnight().assume_utc();
    (midnight - now).whole_seconds()
}

#[tokio::test]
async fn past_its_daily_limit_an_account_gets_daily_limit_exceeded_until_midnight_utc() {
    let (sim, acct) = start_with_account().await;
    for _ in 0..3 {
        let r = gql(&sim.url, &acct.token, "{ me { id } }", json!({})).await;
        assert_eq!(r.status, 200, "no daily limit unless one is set");
    }
    sim.handle.set_daily_call_limit(acct.account_id, Some(4));
    let r = gql(&sim.url, &acct.token, "{ me { id } }", json!({})).await;
    assert_eq!(r.status, 200, "the fourth call of the day");
    let r = gql(&sim.url, &acct.token, "{ me { id } }", json!({})).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let ext = &r.body["errors"][0]["extensions"];
    assert_eq!(ext["code"], "DAILY_LIMIT_EXCEEDED", "{}", r.body);
    let retry = ext["retry_in_seconds"].as_i64().unwrap();
    assert!(
        (retry - seconds_to_midnight_utc()).abs() <= 2,
        "retry in {retry}"
    );
    assert_eq!(
        r.headers["retry-after"].to_str().unwrap(),
        retry.to_string()
    );
    sim.handle.set_daily_call_limit(acct.account_id, None);
    let r = gql(&sim.url, &acct.token, "{ me { id } }", json!({})).await;
    assert_eq!(r.status, 200, "limit lifted");
}

#[tokio::test]
async fn by_tier_a_free_account_has_two_hundred_calls_a_day() {
    let sim = start(monday_sim::Config {
        daily_calls_by_tier: true,
        ..Default::default()
    })
    .await;
    let free = sim.handle.create_account("Free", "Fay", "fay@free.test");
    let paid = sim.handle.create_account("Paid", "Pat", "pat@paid.test");
    sim.handle.set_account_tier(free.account_id, "free");
    let control = sim.url.trim_end_matches("/v2").to_string() + "/__sim/daily-calls";
    for account_id in [free.account_id, paid.account_id] {
        let r = reqwest::Client::new()
            .post(&control)
            .json(&json!({"account_id": account_id, "limit": null, "spend": 199}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let call = async |token: &str| gql(&sim.url, token, "{ me { id } }", json!({})).await;
    assert_eq!(call(&free.token).await.status, 200, "the 200th call");
    let r = call(&free.token).await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "DAILY_LIMIT_EXCEEDED"
    );
    assert_eq!(
        call(&paid.token).await.status,
        200,
        "enterprise: 25,000 a day"
    );
    assert_eq!(call(&paid.token).await.status, 200);
}
