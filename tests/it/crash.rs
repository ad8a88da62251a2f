//! Crash safety: a cycle that created a record but could not link it (its lease was taken
//! over mid-write, as when a replica pauses or dies) leaves no duplicate behind.

use std::time::{Duration, Instant};

use crate::stack::{ORG, count, start_stack};
use tandem_proto::v1 as pb;

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
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Lambda", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();

    // monday answers slowly, so the take-over lands while the create is in flight.
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: 700,
        ..Default::default()
    });
    let first = stack.sync_in_background(&integration);
    // The create's intent is recorded just before the write is sent.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let intents = count(&pool, "sync.create_intents").await;
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
    let links = count(&pool, "sync.links").await;
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
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        1,
        "and the adopted item did not come back to Salesforce as a new opportunity"
    );
    let links = count(&pool, "sync.links").await;
    assert_eq!(links, 1);
    let intents = count(&pool, "sync.create_intents").await;
    assert_eq!(intents, 0, "the intent is closed with the link");
    pool.close().await;
}

/// The same crash the other way, onto an object with no external-id field (Opportunity here):
/// Salesforce cannot look the key up, so the next cycle finds the record the lost attempt made
/// among the polled ones (unlinked, every written field equal) and links it.
#[tokio::test(flavor = "multi_thread")]
async fn a_salesforce_create_without_an_external_id_whose_link_never_committed_is_adopted() {
    salesforce_create_lost(false).await;
}

/// As if the process died before even noting the id Salesforce answered with: the record is
/// recognised by its values (unlinked, every written field equal).
#[tokio::test(flavor = "multi_thread")]
async fn a_salesforce_create_whose_answer_was_never_noted_is_adopted_by_its_values() {
    salesforce_create_lost(true).await;
}

async fn salesforce_create_lost(forget_answer: bool) {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    stack
        .monday
        .create_item(
            stack.board,
            None,
            "Omega",
            serde_json::json!({"status": {"label": "Closed Won"}, "date4": {"date": "2027-03-31"}}),
        )
        .unwrap();
    stack
        .monday
        .create_item(
            stack.board,
            None,
            "Sigma",
            serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-04-30"}}),
        )
        .unwrap();
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();

    stack.salesforce.set_latency(Duration::from_millis(700));
    let first = stack.sync_in_background(&integration);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let intents = count(&pool, "sync.create_intents").await;
        if intents == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cycle never recorded its create intents"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqlx::query("UPDATE sync.leases SET epoch = epoch + 1")
        .execute(&pool)
        .await
        .unwrap();
    let refused = first
        .await
        .unwrap()
        .expect_err("the stale holder must not commit its links");
    assert_eq!(refused.code(), tonic::Code::Aborted, "{refused:?}");
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        2,
        "the creates went through"
    );

    if forget_answer {
        sqlx::query("UPDATE sync.create_intents SET target_record_id = NULL")
            .execute(&pool)
            .await
            .unwrap();
    }
    stack.salesforce.set_latency(Duration::ZERO);
    let run = stack.sync(&integration).await;
    assert_eq!(
        run.status,
        pb::RunStatus::Succeeded as i32,
        "{:#?}",
        stack.events(&run).await
    );
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        2,
        "one opportunity per item: {:#?}",
        stack.events(&run).await
    );
    assert_eq!(
        item_names(&stack).await,
        ["Omega", "Sigma"],
        "and no item came back"
    );
    let links = count(&pool, "sync.links").await;
    assert_eq!(links, 2);
    let intents = count(&pool, "sync.create_intents").await;
    assert_eq!(intents, 0, "the intents are closed with the links");
    pool.close().await;
}
