//! The retention job: every interval, purge runs and events older than the retention.

use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::grpc::PURGE_BATCH;
use crate::store::Store;

pub async fn run(store: Store, retention: Duration, every: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let cutoff = OffsetDateTime::now_utc() - retention;
        match store.purge(cutoff, PURGE_BATCH).await {
            Ok(purged) if purged.runs > 0 || purged.events > 0 => {
                tracing::info!(
                    runs = purged.runs,
                    events = purged.events,
                    "purged expired history"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "history purge failed; retrying next interval"),
        }
    }
}
