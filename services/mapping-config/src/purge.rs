//! What an abandoned sign-in leaves behind, deleted: OAuth states an hour past their expiry
//! (used or not), and connections still PENDING a day after they were made — a Salesforce
//! sign-in never completed, or a monday connection whose check never finished — unless an
//! integration names them. Runs when the service starts and every hour; every replica may run
//! it (the deletes are idempotent).

use std::time::Duration;

use sqlx::PgPool;
use tandem_proto::v1 as pb;
use tokio_util::sync::CancellationToken;

/// How often the purge runs.
const EVERY: Duration = Duration::from_secs(3_600);

/// Deletes what is due; returns (states, connections) deleted.
pub async fn once(pool: &PgPool) -> Result<(u64, u64), sqlx::Error> {
    let states =
        sqlx::query("DELETE FROM oauth_states WHERE expires_at < now() - interval '1 hour'")
            .execute(pool)
            .await?
            .rows_affected();
    let connections = sqlx::query(
        "DELETE FROM connections c WHERE c.state = $1 AND c.created_at < now() - interval '1 day' \
         AND NOT EXISTS (SELECT 1 FROM integrations i \
                         WHERE i.monday_connection_id = c.id OR i.salesforce_connection_id = c.id)",
    )
    .bind(pb::ConnectionState::Pending as i16)
    .execute(pool)
    .await?
    .rows_affected();
    Ok((states, connections))
}

/// Runs [`once`] now and every hour until `shutdown` fires.
pub async fn run(pool: PgPool, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match once(&pool).await {
            Ok((0, 0)) => {}
            Ok((states, connections)) => {
                tracing::info!(
                    states,
                    connections,
                    "expired oauth states and pending connections purged"
                );
            }
            Err(error) => tracing::warn!(%error, "oauth states and pending connections not purged"),
        }
    }
}
