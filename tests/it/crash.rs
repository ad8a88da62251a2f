//! Crash safety: a cycle that created a record but could not link it (its lease was taken
//! over mid-write, as when a replica pauses or dies) leaves no duplicate behind.

use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use crate::stack::{ORG, start_stack};

/// Names of the items on the board, read through monday's API.
async fn item_names(stack: &crate::stack::Stack) -> Vec<String> {
    let query = format!(
        "{{ boards(ids: [{}]) {{ items_page(limit: 500) {{ items {{ name }} }} }} }}",
        stack.board
    );
    let answer: serde_json::Value = reqwest::Client::new()
        .post(stack.monday.api_url())
        .header("Authorization", &stack.monday_token)
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut names: Vec<String> = answer["data"]["boards"][0]["items_page"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_link_never_committed_is_adopted_not_duplicated() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Lambda", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    let integration = stack.integration().await;
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();

    // monday answers slowly, so the take-over lands while the create is in flight.
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: 700,
        ..Default::default()
    });
    let first = {
        let mut orchestrator = stack.orchestrator.clone();
        let request = authorized(
            pb::SyncNowRequest {
                integration_id: integration.id.clone(),
            },
            &stack.bearer,
        );
        tokio::spawn(async move { orchestrator.sync_now(request).await })
    };
    // The create's intent is recorded just before the write is sent.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let intents: i64 = sqlx::query_scalar("SELECT count(*) FROM sync.create_intents")
            .fetch_one(&pool)
            .await
            .unwrap();
        if intents == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cycle never recorded its create intent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another replica takes the lease over (as when this one paused past its lease).
    sqlx::query("UPDATE sync.leases SET epoch = epoch + 1")
        .execute(&pool)
        .await
        .unwrap();
    let refused = first
        .await
        .unwrap()
        .expect_err("the stale holder must not commit its link");
    assert_eq!(refused.code(), tonic::Code::Aborted, "{refused:?}");
    assert_eq!(
        item_names(&stack).await,
        ["Lambda"],
        "the create itself went through"
    );
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM sync.links")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(links, 0, "but its link did not");

    // The next cycle replays the change, finds the item by its idempotency key, and links it.
    stack.monday.set_faults(monday_sim::Faults::default());
    let run = stack.sync(&integration).await;
    assert_eq!(
        run.status,
        pb::RunStatus::Succeeded as i32,
        "{:#?}",
        stack.events(&run).await
    );
    assert_eq!(
        item_names(&stack).await,
        ["Lambda"],
        "exactly one item for one opportunity"
    );
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM sync.links")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(links, 1);
    let intents: i64 = sqlx::query_scalar("SELECT count(*) FROM sync.create_intents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(intents, 0, "the intent is closed with the link");
    pool.close().await;
}
