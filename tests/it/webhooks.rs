//! monday → Salesforce through webhooks Tandem registers itself: the orchestrator follows the
//! integrations and registers the board's webhooks at monday (the simulator challenges the
//! URL, signs every delivery), deletes them on pause and registers them again on resume,
//! repairs one deleted behind its back when a replica starts, and its own writes (which
//! monday reports by webhook too) move nothing. Integrations poll hourly: within a test only
//! a webhook (or a SyncNow) moves data.

use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use crate::stack::{ORG, Stack, start_stack_with};

/// What the orchestrator registers per board.
const EVENTS: [&str; 6] = [
    "change_column_value",
    "change_name",
    "create_item",
    "item_archived",
    "item_deleted",
    "item_restored",
];

async fn stack() -> Stack {
    let stack = start_stack_with(|c| {
        c.scheduler_tick_ms = 100;
        c.monday_webhooks = true;
    })
    .await;
    stack.salesforce.ensure_org(ORG);
    stack
}

async fn hourly_integration(stack: &Stack) -> pb::Integration {
    stack
        .integration_with(|spec| {
            spec.poll_interval_seconds = 3_600;
            spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
            spec.debounce_seconds = 1;
        })
        .await
}

async fn pool(stack: &Stack) -> sqlx::PgPool {
    sqlx::PgPool::connect(&stack.database_url).await.unwrap()
}

/// The board's webhooks at the simulator, sorted by event.
fn at_monday(stack: &Stack) -> Vec<monday_sim::Webhook> {
    let mut hooks: Vec<_> = stack
        .monday
        .webhooks()
        .into_iter()
        .filter(|w| w.board_id == stack.board)
        .collect();
    hooks.sort_by(|a, b| a.event.cmp(&b.event));
    hooks
}

/// (event, webhook id) stored by the orchestrator, sorted by event.
async fn stored(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT event, webhook_id FROM sync.monday_webhooks ORDER BY event")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Waits until the board has `n` webhooks at the simulator and as many stored (20 s).
async fn hooks_become(stack: &Stack, pool: &sqlx::PgPool, n: usize) -> Vec<monday_sim::Webhook> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hooks = at_monday(stack);
        let rows = stored(pool).await;
        if hooks.len() == n && rows.len() == n {
            return hooks;
        }
        assert!(
            Instant::now() < deadline,
            "{} webhooks at monday and {} stored, never {n}: {hooks:?}",
            hooks.len(),
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The six events, each once, at connector-monday's ingress, and stored with monday's ids.
async fn registered(stack: &Stack, pool: &sqlx::PgPool) -> Vec<monday_sim::Webhook> {
    let hooks = hooks_become(stack, pool, EVENTS.len()).await;
    let events: Vec<&str> = hooks.iter().map(|h| h.event.as_str()).collect();
    assert_eq!(events, EVENTS);
    assert!(
        hooks.iter().all(|h| h.url == stack.webhook_url),
        "{hooks:?}"
    );
    let ids: Vec<(String, String)> = hooks
        .iter()
        .map(|h| (h.event.clone(), h.id.to_string()))
        .collect();
    assert_eq!(stored(pool).await, ids);
    hooks
}

/// (nothing pending, nothing running, runs so far).
async fn quiet(stack: &Stack, pool: &sqlx::PgPool, integration: &pb::Integration) -> (bool, usize) {
    let idle: Option<bool> = sqlx::query_scalar(
        "SELECT wake_at IS NULL AND next_due_at > now() + interval '30 minutes'
         FROM sync.due WHERE integration_id = $1",
    )
    .bind(&integration.id)
    .fetch_optional(pool)
    .await
    .unwrap();
    let all = stack.runs(integration).await;
    let running = all
        .iter()
        .any(|r| r.status == pb::RunStatus::Running as i32);
    (idle == Some(true) && !running, all.len())
}

/// Waits until the integration is quiet on two readings in a row with no run in between.
async fn settled(stack: &Stack, pool: &sqlx::PgPool, integration: &pb::Integration) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = None;
    loop {
        assert!(Instant::now() < deadline, "never quiet within 30 s");
        let (idle, n) = quiet(stack, pool, integration).await;
        if idle && last == Some(n) && n > 0 {
            return n;
        }
        last = idle.then_some(n);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The Opportunity named `name` once its StageName is `stage` (20 s).
async fn opportunity_becomes(stack: &Stack, name: &str, stage: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = stack
            .salesforce
            .records(ORG, "Opportunity")
            .into_iter()
            .find(|r| r["Name"] == name);
        if let Some(r) = &found
            && r["StageName"] == stage
        {
            return r["Id"].as_str().unwrap().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "`{name}` never reached Salesforce as {stage}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_state(stack: &Stack, integration: &pb::Integration, pause: bool) {
    let mut orchestrator = stack.orchestrator.clone();
    if pause {
        orchestrator
            .pause_integration(authorized(
                pb::PauseIntegrationRequest {
                    integration_id: integration.id.clone(),
                    reason: "holiday".into(),
                },
                &stack.bearer,
            ))
            .await
            .unwrap();
    } else {
        orchestrator
            .resume_integration(authorized(
                pb::ResumeIntegrationRequest {
                    integration_id: integration.id.clone(),
                },
                &stack.bearer,
            ))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tandem_registers_its_webhooks_and_a_monday_edit_crosses_without_a_poll() {
    let stack = stack().await;
    let pool = pool(&stack).await;
    assert!(at_monday(&stack).is_empty());
    let integration = hourly_integration(&stack).await;
    registered(&stack, &pool).await;
    settled(&stack, &pool, &integration).await;

    let item = stack
        .monday
        .create_item(
            stack.board,
            None,
            "Hooked",
            serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-04-01"}}),
        )
        .unwrap();
    let started = Instant::now();
    stack
        .monday
        .edit_item_as(
            stack.monday_user,
            item,
            serde_json::json!({"status": {"label": "Closed Won"}}),
        )
        .unwrap();
    opportunity_becomes(&stack, "Hooked", "Closed Won").await;
    // Debounce 1 s, tick 0.1 s: far under the hourly poll.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pausing_every_integration_on_the_board_deletes_the_webhooks_and_resuming_registers_them_again()
 {
    let stack = stack().await;
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    // A second integration on the board shares the one set (`registered` checks: six, once).
    let second = hourly_integration(&stack).await;
    let before = registered(&stack, &pool).await;

    set_state(&stack, &integration, true).await;
    set_state(&stack, &second, true).await;
    hooks_become(&stack, &pool, 0).await;

    set_state(&stack, &integration, false).await;
    let after = registered(&stack, &pool).await;
    assert!(
        after.iter().all(|a| before.iter().all(|b| b.id != a.id)),
        "registered anew: {before:?} then {after:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_deleted_behind_tandems_back_is_registered_again_when_a_replica_starts() {
    let stack = stack().await;
    let pool = pool(&stack).await;
    hourly_integration(&stack).await;
    let hooks = registered(&stack, &pool).await;
    let gone = hooks
        .iter()
        .find(|h| h.event == "change_column_value")
        .unwrap();
    assert!(stack.monday.remove_webhook(gone.id));
    assert_eq!(at_monday(&stack).len(), EVENTS.len() - 1);

    // A replica that starts checks the stored registrations against monday's listing.
    let replica = stack
        .replica(sync_orchestrator::Options {
            scheduler_tick_ms: 0,
            monday_webhook_url: Some(stack.webhook_url.clone()),
            ..Default::default()
        })
        .await;
    let repaired = registered(&stack, &pool).await;
    let again = repaired
        .iter()
        .find(|h| h.event == "change_column_value")
        .unwrap();
    assert_ne!(again.id, gone.id, "a new registration");
    replica.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tandems_own_monday_writes_come_back_as_webhooks_and_move_nothing() {
    let stack = stack().await;
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    registered(&stack, &pool).await;
    settled(&stack, &pool, &integration).await;
    let before: Vec<String> = stack
        .runs(&integration)
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    // Runs the webhooks started (not SyncNow's, not those before).
    let woken = |all: Vec<pb::Run>| -> Vec<pb::Run> {
        all.into_iter()
            .filter(|r| r.trigger != pb::Trigger::Manual as i32 && !before.contains(&r.id))
            .collect()
    };

    // Tandem creates the item on monday, then updates it: monday reports both by webhook.
    let id = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": "Echo", "StageName": "Prospecting", "CloseDate": "2027-03-31"}),
        )
        .unwrap();
    let first = stack.sync(&integration).await;
    assert_eq!(first.counters.unwrap().created, 1, "{first:?}");
    stack
        .salesforce
        .update_as(
            ORG,
            &id,
            serde_json::json!({"StageName": "Closed Won"}),
            &stack.salesforce.admin_user_id(ORG),
        )
        .unwrap();
    let second = stack.sync(&integration).await;
    assert_eq!(second.counters.unwrap().updated, 1, "{second:?}");
    let modstamp = stack.salesforce.record(ORG, &id).unwrap()["SystemModstamp"].clone();

    // The webhooks wake the integration: its cycles re-read the item and write nothing.
    let deadline = Instant::now() + Duration::from_secs(20);
    while woken(stack.runs(&integration).await)
        .iter()
        .all(|r| r.status == pb::RunStatus::Running as i32)
    {
        assert!(Instant::now() < deadline, "no webhook woke the integration");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    settled(&stack, &pool, &integration).await;
    let echoes = woken(stack.runs(&integration).await);
    assert!(!echoes.is_empty());
    for run in &echoes {
        let c = run.counters.unwrap();
        assert_eq!((c.created, c.updated, c.failed), (0, 0, 0), "{run:#?}");
    }
    // Two quiet cycles write nothing either, on either side.
    for _ in 0..2 {
        let quiet = stack.sync(&integration).await.counters.unwrap();
        assert_eq!((quiet.created, quiet.updated), (0, 0), "{quiet:?}");
    }
    assert_eq!(
        stack.salesforce.record(ORG, &id).unwrap()["SystemModstamp"],
        modstamp
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_burst_through_change_events_and_webhooks_two_quiet_cycles_write_nothing() {
    let stack = start_stack_with(|c| {
        c.scheduler_tick_ms = 100;
        c.monday_webhooks = true;
        c.salesforce_change_events = true;
    })
    .await;
    stack.salesforce.ensure_org(ORG);
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    registered(&stack, &pool).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.salesforce.live_subscriptions() != 1 {
        assert!(Instant::now() < deadline, "no change event subscription");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    settled(&stack, &pool, &integration).await;

    // A pair, made by a change event: the opportunity becomes an item.
    let id = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": "Burst", "StageName": "Prospecting", "CloseDate": "2027-03-31"}),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let item = loop {
        if let Some(i) = stack
            .monday
            .items(stack.board)
            .into_iter()
            .find(|i| i.name == "Burst")
        {
            break i.id;
        }
        assert!(Instant::now() < deadline, "the pair was never made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Salesforce edits the stage, monday the date, interleaved.
    let admin = stack.salesforce.admin_user_id(ORG);
    let stages = [("Closed Won", 1), ("Closed Lost", 5)];
    let mut last = (String::new(), 0);
    for k in 0..6 {
        let (stage, index) = stages[k % 2];
        stack
            .salesforce
            .update_as(ORG, &id, serde_json::json!({"StageName": stage}), &admin)
            .unwrap();
        let date = format!("2027-06-{:02}", k + 1);
        stack
            .monday
            .edit_item_as(
                stack.monday_user,
                item,
                serde_json::json!({"date4": {"date": date}}),
            )
            .unwrap();
        last = (date, index);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let record = stack.salesforce.record(ORG, &id).unwrap();
        let shown = stack
            .monday
            .item(item)
            .and_then(|i| i.values.get("status")?.get("index")?.as_u64());
        if record["CloseDate"] == last.0.as_str() && shown == Some(last.1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never agreed: {record:?}, stage index {shown:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let agreed: Vec<pb::Run> = stack.runs(&integration).await;
    let writes = |r: &pb::Run| r.counters.map_or(0, |c| c.created + c.updated);

    // The echoes of Tandem's last writes arrive, as change events and webhooks, and settle.
    settled(&stack, &pool, &integration).await;
    let echoes: Vec<pb::Run> = stack
        .runs(&integration)
        .await
        .into_iter()
        .filter(|r| !agreed.iter().any(|a| a.id == r.id))
        .collect();
    for run in &echoes {
        assert_eq!(writes(run), 0, "an echo wrote: {run:#?}");
    }
    let modstamp = stack.salesforce.record(ORG, &id).unwrap()["SystemModstamp"].clone();
    let updated_at = stack.monday.item(item).unwrap().updated_at;
    for _ in 0..2 {
        let quiet = stack.sync(&integration).await;
        assert_eq!(writes(&quiet), 0, "{quiet:#?}");
    }
    assert_eq!(
        stack.salesforce.record(ORG, &id).unwrap()["SystemModstamp"],
        modstamp
    );
    assert_eq!(stack.monday.item(item).unwrap().updated_at, updated_at);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_is_taken_once_and_only_from_the_monday_account_that_watches_the_board() {
    let stack = stack().await;
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    registered(&stack, &pool).await;
    settled(&stack, &pool, &integration).await;
    let item = stack
        .monday
        .create_item(stack.board, None, "Signed", serde_json::json!({}))
        .unwrap();
    let body = serde_json::json!({"event": {
        "type": "update_column_value", "boardId": stack.board, "pulseId": item,
        "columnId": "status", "userId": stack.monday_user, "triggerUuid": "e2e-replay-1"}})
    .to_string();
    let secret = stack.monday.webhook_signing_secret();
    let post = |token: String| {
        reqwest::Client::new()
            .post(&stack.webhook_url)
            .header("authorization", token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    // Signed with the app's secret, but for another monday account: mapping-config lists no
    // integration on the board through a connection of that account.
    let rival = stack
        .monday
        .create_account("Rival", "Rita", "rita@rival.test");
    let forged = monday_sim::webhooks::sign_jwt(
        &secret,
        rival.account_id,
        rival.user_id,
        &stack.webhook_url,
    );
    assert_eq!(post(forged).await.unwrap().status(), 403);
    // For another URL (a token captured at another app's ingress).
    let elsewhere = monday_sim::webhooks::sign_jwt(
        &secret,
        stack.monday_account,
        stack.monday_user,
        "https://elsewhere.example/webhooks/monday",
    );
    assert_eq!(post(elsewhere).await.unwrap().status(), 401);

    let token = monday_sim::webhooks::sign_jwt(
        &secret,
        stack.monday_account,
        stack.monday_user,
        &stack.webhook_url,
    );
    assert_eq!(post(token.clone()).await.unwrap().status(), 200);
    assert_eq!(post(token).await.unwrap().status(), 409, "a replay");
}
