//! The coalescing buffer: field-wise newest-wins merging, atomic claims, replay, TTLs.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use sync_orchestrator::coalesce::{Buffer, RecordKey, Window};
use sync_orchestrator::store::Side;

/// `sf:…` or `mo:…` as a record key.
fn key(text: &str) -> RecordKey {
    let (side, id) = text.split_once(':').unwrap();
    let side = if side == "sf" {
        Side::Salesforce
    } else {
        Side::Monday
    };
    RecordKey::new(side, id)
}
use tandem_core::jiff::Timestamp;
use tandem_core::{PendingChange, Value};

use crate::infra;

const FIXED: Window = Window {
    window: Duration::from_secs(180),
    debounce: None,
};

fn field(name: &str, value: &str, at: i64) -> (String, String, i64) {
    (name.to_owned(), value.to_owned(), at)
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_edits_to_one_record_become_one_pending_change_with_the_final_values() {
    let infra = infra().await;
    let buffer = Buffer::new(infra.redis.clone(), &infra.prefix);
    let t0 = 1_800_000_000_000;
    for i in 0..50 {
        let edit = vec![
            field("status", &format!("\"s{i}\""), t0 + i),
            field(&format!("f{}", i % 3), "1", t0 + i),
        ];
        buffer
            .submit("int-1", &key("mo:42"), &edit, t0 + i, FIXED)
            .await
            .unwrap();
    }
    assert_eq!(buffer.pending_count("int-1").await.unwrap(), 1);
    // Not due before the window ends.
    assert!(
        buffer
            .claim("int-1", t0 + 1_000, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = buffer.claim("int-1", t0 + 180_000, 100).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let change = &claimed[0];
    assert_eq!(change.record, key("mo:42"));
    assert_eq!(change.fields["status"], ("\"s49\"".to_owned(), t0 + 49));
    assert_eq!(change.fields.len(), 4);
    assert_eq!((change.first_ms, change.last_ms), (t0, t0 + 49));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_is_replayed_until_completed_and_new_changes_wait_apart() {
    let infra = infra().await;
    let buffer = Buffer::new(infra.redis.clone(), &infra.prefix);
    let t0 = 1_800_000_000_000;
    buffer
        .submit(
            "int-1",
            &key("sf:A"),
            &[field("Name", "\"a\"", t0)],
            t0,
            FIXED,
        )
        .await
        .unwrap();
    buffer
        .submit(
            "int-1",
            &key("sf:B"),
            &[field("Name", "\"b\"", t0)],
            t0,
            FIXED,
        )
        .await
        .unwrap();
    let first = buffer.claim("int-1", t0 + 200_000, 100).await.unwrap();
    assert_eq!(first.len(), 2);
    // A change arriving while the claim is processed waits in the buffer.
    buffer
        .submit(
            "int-1",
            &key("sf:A"),
            &[field("Name", "\"a2\"", t0 + 1)],
            t0 + 200_001,
            FIXED,
        )
        .await
        .unwrap();
    // The processor "crashes": the next claim replays the same records and values.
    let replay = buffer.claim("int-1", t0 + 400_000, 100).await.unwrap();
    assert_eq!(replay, first);
    buffer
        .complete("int-1", &[key("sf:A"), key("sf:B")])
        .await
        .unwrap();
    let next = buffer.claim("int-1", t0 + 400_001, 100).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].fields["Name"].0, "\"a2\"");
}

/// Journey seed 1073: a cycle cut short left its claim; the next cycle replayed only that
/// claim, so a record created meanwhile waited a whole cycle more (a poll interval).
#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_claim_takes_in_the_records_that_arrived_since() {
    let infra = infra().await;
    let buffer = Buffer::new(infra.redis.clone(), &infra.prefix);
    let t0 = 1_800_000_000_000;
    for (record, value) in [("sf:A", "\"a\""), ("sf:B", "\"b\"")] {
        buffer
            .submit(
                "int-1",
                &key(record),
                &[field("Name", value, t0)],
                t0,
                FIXED,
            )
            .await
            .unwrap();
    }
    let first = buffer.claim("int-1", t0 + 200_000, 100).await.unwrap();
    assert_eq!(first.len(), 2);
    // While the claim is processed: a new record, and a newer change of one claimed.
    for (record, value) in [("mo:C", "\"c\""), ("sf:A", "\"a2\"")] {
        buffer
            .submit(
                "int-1",
                &key(record),
                &[field("Name", value, t0 + 1)],
                t0 + 200_001,
                FIXED,
            )
            .await
            .unwrap();
    }
    // The processor fails: the next claim replays A and B as they were, and takes C in.
    let replay = buffer.claim("int-1", t0 + 400_000, 100).await.unwrap();
    let names: Vec<(RecordKey, String)> = replay
        .iter()
        .map(|p| (p.record.clone(), p.fields["Name"].0.clone()))
        .collect();
    assert_eq!(replay.len(), 3, "{names:?}");
    for (record, value) in [("sf:A", "\"a\""), ("sf:B", "\"b\""), ("mo:C", "\"c\"")] {
        assert!(
            names.contains(&(key(record), value.to_owned())),
            "{record} {value} in {names:?}"
        );
    }
    buffer
        .complete("int-1", &[key("sf:A"), key("sf:B"), key("mo:C")])
        .await
        .unwrap();
    // A's newer change waited for the claim after.
    let next = buffer.claim("int-1", t0 + 400_001, 100).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].fields["Name"].0, "\"a2\"");
}

#[tokio::test(flavor = "multi_thread")]
async fn low_latency_mode_flushes_a_quiet_record_after_the_debounce() {
    let infra = infra().await;
    let buffer = Buffer::new(infra.redis.clone(), &infra.prefix);
    let low = Window {
        window: Duration::from_secs(180),
        debounce: Some(Duration::from_secs(5)),
    };
    let t0 = 1_800_000_000_000;
    let due = buffer
        .submit(
            "int-1",
            &key("mo:1"),
            &[field("text", "\"x\"", t0)],
            t0,
            low,
        )
        .await
        .unwrap();
    assert_eq!(due, t0 + 5_000);
    // A burst keeps pushing the debounce out, but never past the window.
    let mut last_due = due;
    for i in 1..=60 {
        let now = t0 + i * 4_000;
        last_due = buffer
            .submit(
                "int-1",
                &key("mo:1"),
                &[field("text", "\"y\"", now)],
                now,
                low,
            )
            .await
            .unwrap();
    }
    assert_eq!(
        last_due,
        t0 + 180_000,
        "capped by the window since the first change"
    );
    assert!(
        buffer
            .claim("int-1", t0 + 179_999, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        buffer.claim("int-1", t0 + 180_000, 10).await.unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_buffer_key_expires() {
    let infra = infra().await;
    let buffer = Buffer::new(infra.redis.clone(), &infra.prefix);
    let t0 = 1_800_000_000_000;
    buffer
        .submit(
            "int-1",
            &key("sf:A"),
            &[field("Name", "\"a\"", t0)],
            t0,
            FIXED,
        )
        .await
        .unwrap();
    buffer
        .submit(
            "int-1",
            &key("sf:B"),
            &[field("Name", "\"b\"", t0)],
            t0,
            FIXED,
        )
        .await
        .unwrap();
    buffer.claim("int-1", t0 + 180_000, 1).await.unwrap();
    let mut redis = infra.redis.clone();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*", infra.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 4, "rec B, due, proc A, procidx: {keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_buffer_coalesces_exactly_as_the_domain_rule_on_random_sequences() {
    let infra = infra().await;
    let buffer = Buffer::new(infra.redis.clone(), &infra.prefix);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let t0 = 1_800_000_000_000i64;
    let mut expected: BTreeMap<RecordKey, PendingChange> = BTreeMap::new();
    for n in 0..400 {
        let record = key(&format!("mo:{}", rng.random_range(0..5)));
        let edits: Vec<(String, String, i64)> = (0..rng.random_range(1..4))
            .map(|_| {
                let name = format!("c{}", rng.random_range(0..4));
                // Timestamps out of order, with ties, as polls and webhooks deliver them.
                let at = t0 + rng.random_range(0..50);
                (name, format!("\"v{n}\""), at)
            })
            .collect();
        // One submission is one change, in arrival order.
        let mut change = PendingChange::new();
        for (name, value, at) in &edits {
            change = change.coalesce(PendingChange::single(
                name.clone(),
                Value::Text(value.clone()),
                Timestamp::from_millisecond(*at).unwrap(),
            ));
        }
        let entry = expected.entry(record.clone()).or_default();
        *entry = std::mem::take(entry).coalesce(change);
        buffer
            .submit("int-1", &record, &edits, t0 + n, FIXED)
            .await
            .unwrap();
    }
    let claimed = buffer.claim("int-1", t0 + 1_000_000, 100).await.unwrap();
    assert_eq!(claimed.len(), expected.len());
    for pending in claimed {
        let want = &expected[&pending.record];
        let got: BTreeMap<String, (String, i64)> = want
            .fields
            .iter()
            .map(|(k, c)| {
                let Value::Text(v) = &c.value else {
                    unreachable!()
                };
                (k.clone(), (v.clone(), c.changed_at.as_millisecond()))
            })
            .collect();
        assert_eq!(pending.fields, got, "record {:?}", pending.record);
    }
}
