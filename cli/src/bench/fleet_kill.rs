//! The fleet scenario's last step: a replica killed (SIGKILL) while it holds runs, and how soon
//! another one runs its integrations again.

use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use time::OffsetDateTime;

use super::fleet::Replica;
use super::report::Row;

/// What killing a replica mid-run cost.
pub(super) struct Killed {
    integrations: usize,
    back_after: Option<f64>,
    /// Of the runs it had open: closed as abandoned, and left RUNNING (must be none; the
    /// others it finished itself before the kill landed).
    abandoned_closed: usize,
    left_running: usize,
}

impl Killed {
    pub(super) fn rows(&self, params: &str) -> Vec<Row> {
        let back = self.back_after.unwrap_or(f64::INFINITY);
        vec![
            Row::new(
                "fleet",
                params,
                format!(
                    "after kill -9 of a replica mid-run: until its {} integrations ran again",
                    self.integrations
                ),
            )
            .value(back, format!("{back:.1} s"))
            .goal("< 30 s", back < 30.0),
            Row::new(
                "fleet",
                params,
                "its open runs closed as abandoned / left RUNNING",
            )
            .value(
                self.left_running as f64,
                format!("{} / {}", self.abandoned_closed, self.left_running),
            )
            .goal("none left RUNNING", self.left_running == 0),
        ]
    }
}

/// Kills the first replica while it holds runs; measures how soon another runs them.
pub(super) async fn kill_one(
    pool: &sqlx::PgPool,
    replicas: &mut Vec<Replica>,
) -> anyhow::Result<Killed> {
    let mut victim = replicas.remove(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (held, killed_at) = loop {
        let held: Vec<(String, String)> = sqlx::query_as(
            "SELECT integration_id, run_id FROM sync.leases \
             WHERE holder = $1 AND run_id <> '' AND expires_at > now()",
        )
        .bind(&victim.holder)
        .fetch_all(pool)
        .await?;
        if !held.is_empty() {
            victim.child.kill()?;
            let at: OffsetDateTime = sqlx::query_scalar("SELECT now()").fetch_one(pool).await?;
            break (held, at);
        }
        anyhow::ensure!(Instant::now() < deadline, "the replica never held a run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = victim.child.wait();
    let open: Vec<String> = held.iter().map(|(_, r)| r.clone()).collect();
    // Its integrations are those whose run the kill cut short (still RUNNING when it landed);
    // a run it finished in the instant before is followed by its next poll, an interval on.
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT integration_id FROM history.runs WHERE id::text = ANY($1) \
         AND (status = $2 OR finished_at > $3)",
    )
    .bind(&open)
    .bind(pb::RunStatus::Running as i16)
    .bind(killed_at)
    .fetch_all(pool)
    .await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let back_after = loop {
        let (back, last): (i64, Option<OffsetDateTime>) = sqlx::query_as(
            "SELECT count(*), max(first) FROM (SELECT min(started_at) AS first FROM history.runs \
             WHERE integration_id = ANY($1) AND started_at > $2 GROUP BY integration_id) r",
        )
        .bind(&ids)
        .bind(killed_at)
        .fetch_one(pool)
        .await?;
        if back as usize == ids.len() {
            break last.map(|l| (l - killed_at).as_seconds_f64());
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (abandoned_closed, left_running): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE error LIKE 'abandoned%'), \
                count(*) FILTER (WHERE status = $2) \
         FROM history.runs WHERE id::text = ANY($1)",
    )
    .bind(&open)
    .bind(pb::RunStatus::Running as i16)
    .fetch_one(pool)
    .await?;
    Ok(Killed {
        integrations: ids.len(),
        back_after,
        abandoned_closed: abandoned_closed as usize,
        left_running: left_running as usize,
    })
}
