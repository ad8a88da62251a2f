//! The due-queue: replicas claiming at once never claim the same integration, claims take
//! turns between accounts, the change feed schedules and drops, wake-ups come early.

use std::collections::HashSet;
use std::time::Duration;

use sync_orchestrator::due::DueQueue;
use tandem_proto::v1 as pb;
use time::OffsetDateTime;

use crate::infra;

fn integration(id: &str, account: &str, state: pb::IntegrationState) -> pb::Integration {
    pb::Integration {
        id: id.to_owned(),
        account: account.to_owned(),
        state: state as i32,
        version: 1,
        spec: Some(pb::IntegrationSpec {
            poll_interval_seconds: 180,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn active(id: &str, account: &str) -> pb::Integration {
    integration(id, account, pb::IntegrationState::Active)
}

const HOLD: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread")]
async fn replicas_claiming_together_never_claim_the_same_integration() {
    let infra = infra().await;
    let queue = DueQueue::new(infra.pool.clone());
    let all: Vec<pb::Integration> = (0..300)
        .map(|i| active(&format!("int-{i}"), &format!("acct-{}", i % 7)))
        .collect();
    queue.follow(&all).await.unwrap();

    // Four replicas claim batches of 16 at once until nothing is due.
    let mut replicas = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let queue = queue.clone();
        replicas.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = queue.claim(16, HOLD).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.integration));
            }
        });
    }
    let claims: Vec<String> = replicas.join_all().await.into_iter().flatten().collect();
    let distinct: HashSet<&String> = claims.iter().collect();
    assert_eq!(claims.len(), 300, "every due integration claimed once");
    assert_eq!(distinct.len(), 300, "no integration claimed twice");
    assert!(
        queue.claim(16, HOLD).await.unwrap().is_empty(),
        "a claim holds them"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_take_turns_between_accounts() {
    let infra = infra().await;
    let queue = DueQueue::new(infra.pool.clone());
    // A big account with 50 due integrations, two small ones with one each, due later.
    let mut changed: Vec<pb::Integration> = (0..50)
        .map(|i| active(&format!("big-{i}"), "big"))
        .collect();
    changed.push(active("small-a", "a"));
    changed.push(active("small-b", "b"));
    queue.follow(&changed).await.unwrap();
    sqlx::query(
        "UPDATE sync.due SET next_due_at = now() - interval '1 hour' WHERE account = 'big'",
    )
    .execute(&infra.pool)
    .await
    .unwrap();
    let first: HashSet<String> = queue
        .claim(3, HOLD)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.integration)
        .collect();
    assert!(
        first.contains("small-a") && first.contains("small-b"),
        "each account gets a turn before the big one's second: {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_feed_schedules_active_integrations_and_drops_paused_ones() {
    let infra = infra().await;
    let queue = DueQueue::new(infra.pool.clone());
    queue
        .follow(&[active("int-1", "acme"), active("int-2", "acme")])
        .await
        .unwrap();
    assert!(queue.next_due("int-1").await.unwrap().is_some());
    queue
        .follow(&[integration("int-1", "acme", pb::IntegrationState::Paused)])
        .await
        .unwrap();
    assert_eq!(
        queue.next_due("int-1").await.unwrap(),
        None,
        "paused: dropped"
    );
    let claimed: Vec<String> = queue
        .claim(10, HOLD)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.integration)
        .collect();
    assert_eq!(claimed, ["int-2"]);

    // After its run, int-2 is due one interval on; a submitted change wakes it earlier.
    queue.ran(&active("int-2", "acme"), None).await.unwrap();
    let next = queue.next_due("int-2").await.unwrap().unwrap();
    let interval = next - OffsetDateTime::now_utc();
    assert!(
        interval > time::Duration::seconds(170),
        "due an interval on: {interval}"
    );
    assert!(queue.claim(10, HOLD).await.unwrap().is_empty());
    queue
        .wake(&["int-2".to_owned()], OffsetDateTime::now_utc())
        .await
        .unwrap();
    let woken = queue.claim(10, HOLD).await.unwrap();
    assert_eq!(woken.len(), 1, "the wake-up makes it due at once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_whose_replica_died_comes_due_again_after_its_hold() {
    let infra = infra().await;
    let queue = DueQueue::new(infra.pool.clone());
    queue.follow(&[active("int-1", "acme")]).await.unwrap();
    let hold = Duration::from_millis(300);
    assert_eq!(queue.claim(10, hold).await.unwrap().len(), 1);
    assert!(queue.claim(10, hold).await.unwrap().is_empty());
    // Nobody reports a run: past the hold it is due again.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if queue.claim(10, hold).await.unwrap().len() == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never due again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_feed_position_only_moves_forward() {
    let infra = infra().await;
    let queue = DueQueue::new(infra.pool.clone());
    assert_eq!(queue.feed_position().await.unwrap(), None);
    let later = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let earlier = later - time::Duration::minutes(5);
    queue.feed_read_to(later).await.unwrap();
    queue.feed_read_to(earlier).await.unwrap();
    assert_eq!(queue.feed_position().await.unwrap(), Some(later));
}
