//! The due-queue: when each active integration's next run is due, in Postgres, shared by every
//! replica. The scheduler claims what is due (an index range, `FOR UPDATE SKIP LOCKED`, turns
//! taken between accounts) instead of asking about every integration on every tick, so its
//! cost follows the due work, not the number of integrations. A claim pushes the row's due
//! time forward by the claim's time to live: if the claiming replica dies, the integration is
//! due again within that time.
//!
//! Rows come and go with mapping-config's change feed (created, resumed → scheduled; paused →
//! dropped), a finished run sets the next poll (and keeps any earlier wake-up of changes
//! still waiting in the coalescing buffer), submitted changes wake an integration early, and a
//! run that finds its integration paused or deleted drops it.

use std::time::Duration;

use sqlx::PgPool;
use tandem_proto::v1 as pb;
use time::OffsetDateTime;

use crate::settings::interval_of;

#[derive(Clone)]
pub struct DueQueue {
    pool: PgPool,
}

/// An integration this replica claimed, with when it had become due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub integration: String,
    pub due_at: OffsetDateTime,
}

const CLAIM: &str = r#"
WITH ranked AS (
    SELECT integration_id, LEAST(next_due_at, wake_at) AS due_at,
           row_number() OVER (PARTITION BY account ORDER BY LEAST(next_due_at, wake_at)) AS turn
    FROM due
    WHERE LEAST(next_due_at, wake_at) <= now()
), picked AS (
    SELECT d.integration_id, r.due_at
    FROM due d JOIN ranked r USING (integration_id)
    WHERE LEAST(d.next_due_at, d.wake_at) <= now()
    ORDER BY r.turn, r.due_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE due SET next_due_at = now() + $2 * interval '1 millisecond', wake_at = NULL
FROM picked
WHERE due.integration_id = picked.integration_id
RETURNING due.integration_id, picked.due_at
"#;

const FOLLOW: &str = r#"
INSERT INTO due (integration_id, account, next_due_at, interval_ms, version)
SELECT n.id, n.account,
       COALESCE(s.last_run_at + n.interval_ms * interval '1 millisecond', now()),
       n.interval_ms, n.version
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS n(id, account, interval_ms, version)
LEFT JOIN schedule s ON s.integration_id = n.id
ON CONFLICT (integration_id) DO UPDATE
    SET account = EXCLUDED.account, interval_ms = EXCLUDED.interval_ms, version = EXCLUDED.version,
        next_due_at = LEAST(due.next_due_at, EXCLUDED.next_due_at)
"#;

const RAN: &str = r#"
INSERT INTO due (integration_id, account, next_due_at, wake_at, interval_ms, version)
VALUES ($1, $2, now() + $3 * interval '1 millisecond', $4, $3, $5)
ON CONFLICT (integration_id) DO UPDATE
    SET account = EXCLUDED.account, next_due_at = EXCLUDED.next_due_at,
        wake_at = LEAST(due.wake_at, EXCLUDED.wake_at),
        interval_ms = EXCLUDED.interval_ms, version = EXCLUDED.version
"#;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl DueQueue {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Claims up to `limit` due integrations for `hold` (their due time moves to now + hold),
    /// the most overdue first, each account's first before any account's second.
    pub async fn claim(&self, limit: usize, hold: Duration) -> Result<Vec<Claimed>, sqlx::Error> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, OffsetDateTime)> = sqlx::query_as(CLAIM)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(millis(hold) as f64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(integration, due_at)| Claimed {
                integration,
                due_at,
            })
            .collect())
    }

    /// Applies a page of mapping-config's change feed: active integrations are scheduled (a
    /// new one due at its last run + interval, or now), the others dropped.
    pub async fn follow(&self, changed: &[pb::Integration]) -> Result<(), sqlx::Error> {
        let (active, inactive): (Vec<&pb::Integration>, Vec<&pb::Integration>) = changed
            .iter()
            .partition(|i| i.state() == pb::IntegrationState::Active);
        let mut tx = self.pool.begin().await?;
        if !active.is_empty() {
            sqlx::query(FOLLOW)
                .bind(active.iter().map(|i| i.id.clone()).collect::<Vec<_>>())
                .bind(active.iter().map(|i| i.account.clone()).collect::<Vec<_>>())
                .bind(
                    active
                        .iter()
                        .map(|i| millis(interval_of(i)))
                        .collect::<Vec<_>>(),
                )
                .bind(active.iter().map(|i| i.version).collect::<Vec<_>>())
                .execute(&mut *tx)
                .await?;
        }
        if !inactive.is_empty() {
            sqlx::query("DELETE FROM due WHERE integration_id = ANY($1)")
                .bind(inactive.iter().map(|i| i.id.clone()).collect::<Vec<_>>())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// After a run of `integration`: its next poll is one interval from now; `wake` is when the
    /// earliest change still waiting in its buffer is due (kept if earlier than a wake-up
    /// that arrived during the run).
    pub async fn ran(
        &self,
        integration: &pb::Integration,
        wake: Option<OffsetDateTime>,
    ) -> Result<(), sqlx::Error> {
        let interval = millis(interval_of(integration));
        sqlx::query(RAN)
            .bind(&integration.id)
            .bind(&integration.account)
            .bind(interval as f64)
            .bind(wake)
            .bind(integration.version)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Drops an integration that is paused or gone.
    pub async fn forget(&self, integration: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM due WHERE integration_id = $1")
            .bind(integration)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Wakes `integrations` at `at` at the latest (changes waiting in their buffers).
    pub async fn wake(
        &self,
        integrations: &[String],
        at: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        if integrations.is_empty() {
            return Ok(());
        }
        sqlx::query("UPDATE due SET wake_at = LEAST(wake_at, $2) WHERE integration_id = ANY($1)")
            .bind(integrations)
            .bind(at)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// When the integration's next run is due; `None` when it is not scheduled.
    pub async fn next_due(&self, integration: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        sqlx::query_scalar("SELECT LEAST(next_due_at, wake_at) FROM due WHERE integration_id = $1")
            .bind(integration)
            .fetch_optional(&self.pool)
            .await
    }

    /// When the next integration is due, whoever claims it.
    pub async fn earliest(&self) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        sqlx::query_scalar("SELECT min(LEAST(next_due_at, wake_at)) FROM due")
            .fetch_one(&self.pool)
            .await
    }

    /// How far the replicas have read mapping-config's change feed.
    pub async fn feed_position(&self) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        sqlx::query_scalar("SELECT changed_at FROM due_feed")
            .fetch_optional(&self.pool)
            .await
    }

    /// Moves the feed position forward to `at` (never back: replicas read the feed at once).
    pub async fn feed_read_to(&self, at: OffsetDateTime) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO due_feed (id, changed_at) VALUES (true, $1)
             ON CONFLICT (id) DO UPDATE SET changed_at = GREATEST(due_feed.changed_at, EXCLUDED.changed_at)",
        )
        .bind(at)
        .execute(&self.pool)
        .await
        .map(drop)
    }
}
