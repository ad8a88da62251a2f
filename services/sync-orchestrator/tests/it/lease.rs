//! Exclusion: a Redis lock as the filter, the Postgres epoch as the fence.

use std::time::{Duration, Instant};

use sync_orchestrator::lease::{LeaseError, Leases};
use sync_orchestrator::store::{Side, Store};

use crate::{Infra, infra};

/// A replica's lease handle on the test's Redis prefix and Postgres.
fn replica(infra: &Infra, name: &str) -> Leases {
    Leases::new(infra.redis.clone(), infra.pool.clone(), &infra.prefix, name)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_lease_is_not_taken_and_release_frees_it() {
    let infra = infra().await;
    let a = replica(&infra, "replica-a");
    let b = replica(&infra, "replica-b");
    let held = a
        .acquire("int-1", Duration::from_secs(30))
        .await
        .unwrap()
        .expect("free lease");
    assert_eq!(held.epoch, 1);
    assert!(
        b.acquire("int-1", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        b.acquire("int-2", Duration::from_secs(30))
            .await
            .unwrap()
            .is_some(),
        "other integrations are free"
    );
    a.release(&held).await.unwrap();
    let next = b
        .acquire("int-1", Duration::from_secs(30))
        .await
        .unwrap()
        .expect("released");
    assert_eq!(next.epoch, 2, "each acquisition bumps the epoch");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_paused_past_its_lease_commits_nothing_after_a_takeover() {
    let infra = infra().await;
    let store = Store::new(infra.pool.clone());
    let a = replica(&infra, "replica-a");
    let b = replica(&infra, "replica-b");
    let stale = a
        .acquire("int-1", Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();

    // Replica a "pauses"; its lease expires and b takes over.
    let deadline = Instant::now() + Duration::from_secs(10);
    let fresh = loop {
        if let Some(lease) = b.acquire("int-1", Duration::from_secs(30)).await.unwrap() {
            break lease;
        }
        assert!(Instant::now() < deadline, "the lease never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(fresh.epoch, stale.epoch + 1);

    // a resumes: it can neither renew, nor write links, watermarks or intents.
    assert!(!a.renew(&stale, Duration::from_secs(30)).await.unwrap());
    match store.begin(&stale).await {
        Err(LeaseError::Fenced { held, current, .. }) => assert_eq!((held, current), (1, 2)),
        Err(other) => panic!("expected fenced, got {other}"),
        Ok(_) => panic!("a stale holder must not open a write transaction"),
    }
    // a's release does not free b's lease.
    a.release(&stale).await.unwrap();
    let c = replica(&infra, "replica-c");
    assert!(
        c.acquire("int-1", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );

    // b writes normally.
    let mut tx = store.begin(&fresh).await.unwrap();
    tx.upsert_link("006A", "101", &serde_json::json!({"Name": "Acme"}))
        .await
        .unwrap();
    tx.set_watermark(
        Side::Salesforce,
        time::OffsetDateTime::now_utc(),
        &serde_json::json!([]),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.link_count("int-1").await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_in_flight_finishes_before_a_takeover_bumps_the_epoch() {
    let infra = infra().await;
    let store = Store::new(infra.pool.clone());
    let a = replica(&infra, "replica-a");
    let lease = a
        .acquire("int-1", Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    let mut tx = store.begin(&lease).await.unwrap();
    tx.upsert_link("006A", "101", &serde_json::json!({}))
        .await
        .unwrap();

    // The Redis lock expires; b's take-over waits on the fenced row until a commits.
    let b = replica(&infra, "replica-b");
    let takeover = tokio::spawn(async move {
        loop {
            if let Some(lease) = b.acquire("int-1", Duration::from_secs(30)).await.unwrap() {
                return lease;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let locks: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM leases WHERE integration_id = $1 FOR UPDATE%' AND pid <> pg_backend_pid()",
        )
        .fetch_one(&infra.pool)
        .await
        .unwrap();
        if locks > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the take-over never reached the fenced row"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !takeover.is_finished(),
        "the take-over waits for the write in flight"
    );
    tx.commit().await.unwrap();
    let fresh = takeover.await.unwrap();
    assert_eq!(fresh.epoch, 2);
    assert!(
        store
            .link_by_salesforce("int-1", "006A")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn renewing_a_held_lease_extends_it_in_redis_and_postgres() {
    let infra = infra().await;
    let a = replica(&infra, "replica-a");
    let lease = a
        .acquire("int-1", Duration::from_millis(500))
        .await
        .unwrap()
        .unwrap();
    assert!(a.renew(&lease, Duration::from_secs(60)).await.unwrap());
    let mut redis = infra.redis.clone();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}:lock:{{int-1}}", infra.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        ttl > 30_000,
        "the lock now lives a minute, not half a second: {ttl} ms"
    );
    let expires_in: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - now())::float8 FROM leases WHERE integration_id = 'int-1'",
    )
    .fetch_one(&infra.pool)
    .await
    .unwrap();
    assert!(expires_in > 30.0, "{expires_in}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_redis_lost_stops_its_holder_and_frees_the_integration() {
    let infra = infra().await;
    let a = replica(&infra, "replica-a");
    let lease = a
        .acquire("int-1", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    // Redis restarted and kept nothing (the coalescing buffer neither): the holder stops
    // rather than record watermarks past changes that waited there.
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{}:lock:{{int-1}}", infra.prefix))
        .query_async(&mut infra.redis.clone())
        .await
        .unwrap();
    assert!(matches!(
        a.check(&lease).await,
        Err(LeaseError::Lost { .. })
    ));
    assert!(!a.renew(&lease, Duration::from_secs(30)).await.unwrap());
    let b = replica(&infra, "replica-b");
    let next = b
        .acquire("int-1", Duration::from_secs(30))
        .await
        .unwrap()
        .expect("free for the next run");
    assert_eq!(next.epoch, 2);
    assert!(matches!(
        a.check(&lease).await,
        Err(LeaseError::Fenced { .. })
    ));
}
