//! Replicas sharing the work: an integration whose replica dies or shuts down runs again on
//! another one soon, and the run the dead one left open is closed, not RUNNING forever.

use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;

use crate::stack::{ORG, Replica, Stack, start_stack};

fn replica_options() -> sync_orchestrator::Options {
    sync_orchestrator::Options {
        scheduler_tick_ms: 100,
        lease_ms: 1_000,
        ..Default::default()
    }
}

/// Waits until `replica` is in the middle of a run of `integration` (it holds the lease with
/// a run open); returns that run's id.
async fn mid_run(stack: &Stack, replica: &Replica, integration: &pb::Integration) -> String {
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let held: Option<(String, String)> = sqlx::query_as(
            "SELECT holder, run_id FROM sync.leases WHERE integration_id = $1 AND run_id <> ''",
        )
        .bind(&integration.id)
        .fetch_optional(&pool)
        .await
        .unwrap();
        match held {
            Some((holder, run)) if holder == replica.holder => return run,
            _ => {}
        }
        assert!(Instant::now() < deadline, "the replica never started a run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `open` is closed and a later scheduled run succeeded; returns both.
async fn taken_over(
    stack: &Stack,
    integration: &pb::Integration,
    open: &str,
) -> (pb::Run, pb::Run) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = stack.runs(integration).await;
        let left = all.iter().find(|r| r.id == open).cloned();
        let next = all
            .iter()
            .find(|r| r.id != open && r.status == pb::RunStatus::Succeeded as i32)
            .cloned();
        if let (Some(left), Some(next)) = (left, next)
            && left.status != pb::RunStatus::Running as i32
        {
            return (left, next);
        }
        if Instant::now() > deadline {
            let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
            let due: Vec<(String, String)> = sqlx::query_as(
                "SELECT integration_id, format('%s / %s / now %s', next_due_at, wake_at, now()) FROM sync.due",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            let leases: Vec<(String, String)> = sqlx::query_as(
                "SELECT holder, format('%s %s %s', epoch, run_id, expires_at) FROM sync.leases",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            panic!("not taken over within 30 s: {all:#?}\ndue {due:?}\nleases {leases:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Something to move, and a monday slow enough that a cycle is caught in the middle.
async fn slow_integration(stack: &Stack) -> pb::Integration {
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    for name in ["Alpha", "Beta", "Gamma"] {
        stack
            .salesforce
            .insert(
                ORG,
                "Opportunity",
                serde_json::json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
            )
            .unwrap();
    }
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: 1_500,
        ..Default::default()
    });
    integration
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_run_is_replaced_and_its_open_run_closed_as_abandoned() {
    let stack = start_stack().await;
    let integration = slow_integration(&stack).await;
    let first = stack.replica(replica_options()).await;
    let open = mid_run(&stack, &first, &integration).await;
    first.kill();
    stack.monday.set_faults(monday_sim::Faults::default());
    let killed_at = Instant::now();

    let _second = stack.replica(replica_options()).await;
    let (left, next) = taken_over(&stack, &integration, &open).await;
    assert_eq!(left.status, pb::RunStatus::Failed as i32, "{left:?}");
    assert!(left.error.contains("abandoned"), "{left:?}");
    assert_eq!(next.trigger, pb::Trigger::Schedule as i32);
    assert_eq!(
        stack.salesforce.records(ORG, "Opportunity").len(),
        3,
        "nothing duplicated by the take-over"
    );
    assert!(
        stack.monday.items(stack.board).len() == 3,
        "each opportunity once on the board: {:?}",
        stack.monday.items(stack.board)
    );
    // The lease (1 s) and the claim (4/3 s) of the dead replica are what it waits for.
    assert!(killed_at.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_shutting_down_gives_its_run_back_at_once() {
    let stack = start_stack().await;
    let integration = slow_integration(&stack).await;
    // Were its 60 s lease and 80 s claim left to expire, the next run would wait past the
    // 30 s the test allows: it runs in time only if they are given back.
    let first = stack
        .replica(sync_orchestrator::Options {
            lease_ms: 60_000,
            ..replica_options()
        })
        .await;
    let open = mid_run(&stack, &first, &integration).await;
    let second = stack.replica(replica_options()).await;
    first.stop().await;
    stack.monday.set_faults(monday_sim::Faults::default());
    let (left, next) = taken_over(&stack, &integration, &open).await;
    assert_eq!(left.status, pb::RunStatus::Failed as i32);
    assert!(left.error.contains("shutting down"), "{left:?}");
    assert_eq!(next.trigger, pb::Trigger::Schedule as i32);
    second.stop().await;
}

/// `sync status` shows what the last cycle saw of both sides' API budgets (Salesforce's daily
/// calls from `Sforce-Limit-Info`, monday's complexity per minute).
#[tokio::test(flavor = "multi_thread")]
async fn status_shows_both_sides_api_usage_after_a_cycle() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let before = stack.status(&integration).await;
    assert_eq!(before.salesforce_usage, None, "nothing seen before a cycle");
    stack.sync(&integration).await;
    let status = stack.status(&integration).await;
    let salesforce = status.salesforce_usage.expect("salesforce usage");
    let monday = status.monday_usage.expect("monday usage");
    assert!(
        salesforce.limit > 0 && salesforce.used > 0 && salesforce.used <= salesforce.limit,
        "{salesforce:?}"
    );
    // monday reports what a query cost and what is left of the minute's budget, not the
    // budget itself: the limit is not known from a poll.
    assert!(monday.used > 0, "{monday:?}");
}
