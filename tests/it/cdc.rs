//! Salesforce → monday through Change Data Capture: the orchestrator streams the object's
//! change events (connector-salesforce's StreamChanges over the simulator's Pub/Sub API) into
//! the coalescing buffer, so an edit crosses without waiting for a poll; Tandem's own writes
//! make no echo; a stale replay id falls back to a poll; a subscriber that dies is replaced
//! by another replica that resumes from the stored replay id. Every integration here polls
//! hourly: within a test, only a change event (or a fallback the stream asked for) moves data.

use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use crate::stack::{ORG, Stack, stage_label, start_stack_with};

fn cdc_replica() -> sync_orchestrator::Options {
    sync_orchestrator::Options {
        scheduler_tick_ms: 100,
        lease_ms: 1_000,
        salesforce_change_events: true,
        ..Default::default()
    }
}

/// The stack with its scheduler ticking; its own orchestrator streams change events if `cdc`.
async fn stack(cdc: bool) -> Stack {
    let stack = start_stack_with(|c| {
        c.scheduler_tick_ms = 100;
        c.salesforce_change_events = cdc;
    })
    .await;
    stack.salesforce.ensure_org(ORG);
    stack
}

/// Polls hourly; a buffered change is due after a quiet second.
async fn hourly_integration(stack: &Stack) -> pb::Integration {
    stack
        .integration_with(|spec| {
            spec.poll_interval_seconds = 3_600;
            spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
            spec.debounce_seconds = 1;
        })
        .await
}

/// (no wake-up pending and the next poll an hour away, nothing running, runs so far).
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

/// Waits until a subscriber streams at the simulator and the integration is quiet: its first
/// cycle and the poll the stream asked for when it started are done, nothing else is due.
async fn streaming_and_quiet(stack: &Stack, pool: &sqlx::PgPool, integration: &pb::Integration) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = None;
    loop {
        assert!(
            Instant::now() < deadline,
            "no quiet stream within 30 s (live subscriptions: {})",
            stack.salesforce.live_subscriptions()
        );
        let live = stack.salesforce.live_subscriptions() == 1;
        let (idle, n) = quiet(stack, pool, integration).await;
        // Quiet on two readings in a row with no run in between.
        if live && idle && last == Some(n) {
            return;
        }
        last = (live && idle).then_some(n);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The monday item named `name`, once it exists (20 s deadline).
async fn item_named(stack: &Stack, name: &str) -> monday_sim::ItemSnapshot {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(item) = stack
            .monday
            .items(stack.board)
            .into_iter()
            .find(|i| i.name == name)
        {
            return item;
        }
        assert!(Instant::now() < deadline, "`{name}` never reached monday");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the item's Stage shows `label` (20 s deadline).
async fn stage_becomes(stack: &Stack, item: i64, label: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = stack
            .monday
            .item(item)
            .and_then(|i| i.values.get("status")?.get("index")?.as_u64())
            .map(stage_label);
        if shown == Some(label) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the stage of item {item} is {shown:?}, never {label}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until no subscription is live at the simulator (10 s deadline).
async fn no_subscriber(stack: &Stack) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while stack.salesforce.live_subscriptions() != 0 {
        assert!(
            Instant::now() < deadline,
            "a stopped replica's subscription lives on"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates an opportunity that a poll cannot see: its `SystemModstamp` is set years back
/// (without a change event), so only its change event can bring it over.
fn insert_unpollable(stack: &Stack, name: &str) -> String {
    let id = stack
        .salesforce
        .insert(ORG, "Opportunity", opportunity(name))
        .unwrap();
    stack
        .salesforce
        .force_fields(
            ORG,
            &id,
            serde_json::json!({"SystemModstamp": "2020-01-01T00:00:00.000+0000"}),
        )
        .unwrap();
    id
}

fn opportunity(name: &str) -> serde_json::Value {
    serde_json::json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2027-03-31"})
}

async fn pool(stack: &Stack) -> sqlx::PgPool {
    sqlx::PgPool::connect(&stack.database_url).await.unwrap()
}

/// When the subscription last stored a position, and with which epoch.
async fn position(pool: &sqlx::PgPool) -> Option<(i64, Option<Vec<u8>>, time::OffsetDateTime)> {
    sqlx::query_as("SELECT epoch, replay_id, updated_at FROM sync.change_streams")
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_salesforce_edit_reaches_monday_through_change_events_in_seconds_without_a_poll() {
    let stack = stack(true).await;
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    streaming_and_quiet(&stack, &pool, &integration).await;
    let before = stack.runs(&integration).await.len();

    let started = Instant::now();
    let id = insert_unpollable(&stack, "Streamed create");
    let item = item_named(&stack, "Streamed create").await;
    let created_in = started.elapsed();
    let admin = stack.salesforce.admin_user_id(ORG);
    let started = Instant::now();
    stack
        .salesforce
        .update_as(
            ORG,
            &id,
            serde_json::json!({"StageName": "Closed Won"}),
            &admin,
        )
        .unwrap();
    stage_becomes(&stack, item.id, "Closed Won").await;
    let updated_in = started.elapsed();

    // Debounce 1 s, tick 0.1 s: well under the hourly poll.
    assert!(created_in < Duration::from_secs(10), "{created_in:?}");
    assert!(updated_in < Duration::from_secs(10), "{updated_in:?}");
    let all = stack.runs(&integration).await;
    assert!(
        all.len() - before <= 2,
        "one scheduled cycle per change event, no more: {all:#?}"
    );
    assert!(
        all.iter()
            .all(|r| r.trigger == pb::Trigger::Schedule as i32),
        "{all:#?}"
    );
    let (epoch, replay_id, _) = position(&pool).await.expect("a stored position");
    assert_eq!(epoch, 1, "one subscriber took the lease once");
    assert!(replay_id.is_some_and(|r| !r.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn tandems_own_salesforce_writes_make_no_echo_but_the_same_users_edit_crosses() {
    let stack = stack(true).await;
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    streaming_and_quiet(&stack, &pool, &integration).await;
    let item = stack
        .monday
        .create_item(
            stack.board,
            None,
            "Made on monday",
            serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-05-01"}}),
        )
        .unwrap();
    let (_, _, stored_before) = position(&pool).await.expect("a subscription row");

    // Tandem creates the record in Salesforce: a change event whose origin is Tandem's.
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let created = events
        .iter()
        .find(|e| e.action == pb::EventAction::Created as i32)
        .unwrap_or_else(|| panic!("{events:#?}"));
    let sf_id = created.target_record_id.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while position(&pool)
        .await
        .is_none_or(|(_, _, at)| at <= stored_before)
    {
        assert!(
            Instant::now() < deadline,
            "the echo's change event never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Handed over and stored: had it been submitted, it would wait in the buffer (the
    // debounce is a second) and the integration would be woken.
    let status = stack.status(&integration).await;
    assert_eq!(status.pending_changes, 0, "{status:?}");
    let (idle, _) = quiet(&stack, &pool, &integration).await;
    assert!(idle, "the echo woke the integration");

    // The same Salesforce user (Tandem's connection is the admin's) edits by hand: it crosses.
    let admin = stack.salesforce.admin_user_id(ORG);
    stack
        .salesforce
        .update_as(
            ORG,
            &sf_id,
            serde_json::json!({"StageName": "Closed Won"}),
            &admin,
        )
        .unwrap();
    stage_becomes(&stack, item, "Closed Won").await;
    let after: Vec<pb::Run> = stack.runs(&integration).await;
    let scheduled = after
        .iter()
        .filter(|r| r.trigger == pb::Trigger::Schedule as i32 && r.id != run.id)
        .count();
    assert!(scheduled >= 1, "{after:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_replay_id_falls_back_to_a_poll_and_loses_nothing() {
    let stack = stack(false).await;
    let pool = pool(&stack).await;
    let first = stack.replica(cdc_replica()).await;
    let integration = hourly_integration(&stack).await;
    streaming_and_quiet(&stack, &pool, &integration).await;
    stack
        .salesforce
        .insert(ORG, "Opportunity", opportunity("Before the gap"))
        .unwrap();
    item_named(&stack, "Before the gap").await;
    streaming_and_quiet(&stack, &pool, &integration).await;
    let (_, stored, _) = position(&pool).await.unwrap();
    assert!(stored.is_some(), "a position was stored");

    first.stop().await;
    no_subscriber(&stack).await;
    stack
        .salesforce
        .insert(ORG, "Opportunity", opportunity("While nobody listened"))
        .unwrap();
    // Past the 72 h retention: the stored replay id names an event no longer kept.
    stack
        .salesforce
        .advance_event_clock(Duration::from_secs(73 * 3600));

    let _second = stack.replica(cdc_replica()).await;
    item_named(&stack, "While nobody listened").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.salesforce.live_subscriptions() != 1 {
        assert!(Instant::now() < deadline, "the stream did not start again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And it streams again: the next edit crosses by its change event.
    stack
        .salesforce
        .insert(ORG, "Opportunity", opportunity("After the gap"))
        .unwrap();
    item_named(&stack, "After the gap").await;
    let (epoch, _, _) = position(&pool).await.unwrap();
    assert_eq!(epoch, 2, "the second replica took the subscription over");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_subscriber_is_replaced_and_its_successor_resumes_from_the_stored_replay_id() {
    let stack = stack(false).await;
    let pool = pool(&stack).await;
    let first = stack.replica(cdc_replica()).await;
    let integration = hourly_integration(&stack).await;
    streaming_and_quiet(&stack, &pool, &integration).await;
    stack
        .salesforce
        .insert(ORG, "Opportunity", opportunity("Heard by the first"))
        .unwrap();
    item_named(&stack, "Heard by the first").await;
    streaming_and_quiet(&stack, &pool, &integration).await;

    // Gone at once: its stream (and the connector's subscription for it) ends with it.
    first.kill();
    no_subscriber(&stack).await;
    for name in ["Missed one", "Missed two"] {
        insert_unpollable(&stack, name);
    }
    let quiet_before = quiet(&stack, &pool, &integration).await;
    assert!(
        quiet_before.0,
        "nothing but a change event may bring them over"
    );

    let _second = stack.replica(cdc_replica()).await;
    item_named(&stack, "Missed one").await;
    item_named(&stack, "Missed two").await;
    let (epoch, _, _) = position(&pool).await.unwrap();
    assert_eq!(epoch, 2, "the second replica took the subscription over");
    assert_eq!(stack.salesforce.live_subscriptions(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn salesforce_changes_are_routed_by_org_and_object_and_bad_routes_name_their_field() {
    let stack = stack(false).await;
    // Routed changes wait in the buffer for a minute: the counts below are not raced by the
    // scheduler (a debounce of one second could pass between a submit and its check).
    let integration = stack
        .integration_with(|spec| {
            spec.poll_interval_seconds = 3_600;
            spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
            spec.debounce_seconds = 60;
        })
        .await;
    let org_id = stack.salesforce.org_id(ORG);
    // connector-monday is the one service that submits changes (Salesforce change events are
    // read by the orchestrator itself); the route is checked all the same.
    let service = tandem_testkit::service_bearer("connector-monday");
    let change = |id: &str| pb::Record {
        id: id.to_owned(),
        ..Default::default()
    };
    let submit = |org: &str, object: &str, board: &str, side: pb::Side, skip: Vec<String>| {
        let mut orchestrator = stack.orchestrator.clone();
        let request = authorized(
            pb::SubmitChangesRequest {
                board_id: board.to_owned(),
                side: side as i32,
                changes: vec![change("006000000000001AAA")],
                salesforce_org_id: org.to_owned(),
                salesforce_object: object.to_owned(),
                skip_integration_ids: skip,
            },
            &service,
        );
        async move { orchestrator.submit_changes(request).await }
    };
    let sf = pb::Side::Salesforce;

    // Routed to the integration on the org's Opportunity (the org by either Id length).
    let routed = submit(&org_id, "Opportunity", "", sf, vec![])
        .await
        .unwrap();
    assert_eq!(routed.into_inner().integrations, 1);
    assert_eq!(stack.status(&integration).await.pending_changes, 1);
    let short = submit(&org_id[..15], "Opportunity", "", sf, vec![])
        .await
        .unwrap();
    assert_eq!(short.into_inner().integrations, 1);
    // Another object, another org, or the integration's own change: no one.
    for (org, object, skip) in [
        (org_id.as_str(), "Account", vec![]),
        ("00D000000000000AAA", "Opportunity", vec![]),
        (org_id.as_str(), "Opportunity", vec![integration.id.clone()]),
    ] {
        let none = submit(org, object, "", sf, skip).await.unwrap();
        assert_eq!(none.into_inner().integrations, 0, "{org} {object}");
    }

    let bad = [
        (
            submit(&org_id, "", "", sf, vec![]).await,
            "salesforce_object",
        ),
        (
            submit("", "Opportunity", "", sf, vec![]).await,
            "salesforce_org_id",
        ),
        (submit("", "", "", sf, vec![]).await, "board_id"),
        (
            submit(&org_id, "Opportunity", "", pb::Side::Monday, vec![]).await,
            "side",
        ),
        (
            submit(&org_id, "Opportunity", &stack.board.to_string(), sf, vec![]).await,
            "board_id",
        ),
    ];
    for (answer, field) in bad {
        let status = answer.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(field), "{field}: {status:?}");
    }

    // Listing by org and object is for services: a user is refused.
    let denied = stack
        .config
        .clone()
        .list_integrations(authorized(
            pb::ListIntegrationsRequest {
                salesforce_org_id: org_id.clone(),
                salesforce_object: "Opportunity".into(),
                ..Default::default()
            },
            &stack.bearer,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_outside_the_api_arrives_as_a_gap_and_is_polled() {
    let stack = stack(true).await;
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    streaming_and_quiet(&stack, &pool, &integration).await;
    // A GAP_CREATE carries no values: the integration is woken and its cycle polls.
    stack.salesforce.outside_api(ORG, |sf| {
        sf.insert(ORG, "Opportunity", opportunity("Repaired by support"))
            .unwrap()
    });
    item_named(&stack, "Repaired by support").await;
}

/// Waits until `n` subscriptions are live at the simulator (20 s deadline).
async fn live(stack: &Stack, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.salesforce.live_subscriptions() != n {
        assert!(
            Instant::now() < deadline,
            "{} live subscriptions, never {n}",
            stack.salesforce.live_subscriptions()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_subscription_serves_two_integrations_stops_when_both_pause_and_starts_on_resume() {
    let stack = stack(true).await;
    let pool = pool(&stack).await;
    let integration = hourly_integration(&stack).await;
    streaming_and_quiet(&stack, &pool, &integration).await;
    // A second integration on the same org and object shares the one subscription.
    let second = hourly_integration(&stack).await;
    streaming_and_quiet(&stack, &pool, &second).await;
    assert_eq!(stack.salesforce.live_subscriptions(), 1);

    let mut orchestrator = stack.orchestrator.clone();
    for paused in [&integration, &second] {
        orchestrator
            .pause_integration(authorized(
                pb::PauseIntegrationRequest {
                    integration_id: paused.id.clone(),
                    reason: "holiday".into(),
                },
                &stack.bearer,
            ))
            .await
            .unwrap();
    }
    live(&stack, 0).await;
    let lock: Vec<String> = {
        let mut redis = redis::Client::open(tandem_testkit::redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        redis::cmd("KEYS")
            .arg(format!("{}:cdc:*", stack.redis_prefix()))
            .query_async(&mut redis)
            .await
            .unwrap()
    };
    assert!(lock.is_empty(), "the lease was given back: {lock:?}");

    orchestrator
        .resume_integration(authorized(
            pb::ResumeIntegrationRequest {
                integration_id: integration.id.clone(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap();
    live(&stack, 1).await;
    stack
        .salesforce
        .insert(ORG, "Opportunity", opportunity("After the holiday"))
        .unwrap();
    item_named(&stack, "After the holiday").await;
    let (epoch, _, _) = position(&pool).await.unwrap();
    assert_eq!(epoch, 2, "taken again on resuming");
}
