//! One subscription, run by the replica holding its lease: opens connector-salesforce's
//! `StreamChanges` from the stored replay position (none: from the next event), hands each
//! batch's changes to the coalescing buffer of the active integrations on the object, and only
//! then stores the batch's position, so a restart — here or on another replica — resumes
//! without losing a change (at worst one is handed over twice: they are hints). The lease is
//! renewed while it streams; a lost lease stops it.
//!
//! Where the stream cannot vouch for every change, the integrations fall back to a poll (a
//! cycle always polls from its watermarks, so waking them is the fallback): when a stream
//! starts without a position, on a gap event (`GAP_*`, `GAP_OVERFLOW`), on a stale replay id
//! (the stream then restarts from the next event) and when the stream drops.

use std::collections::BTreeMap;
use std::time::Duration;

use tandem_proto::v1 as pb;
use tokio_util::sync::CancellationToken;
use tonic::Code;

use super::position::{Positions, StreamLease};
use crate::coalesce::{DELETED, RecordKey};
use crate::deps::Deps;
use crate::store::Side;
use crate::submit::{self, Change};

/// The first wait after a stream failed; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The `Sforce-Call-Options` client of Tandem's writes without an integration id.
const TANDEM_CLIENT: &str = "tandem";

pub struct Subscription {
    pub deps: Deps,
    pub positions: Positions,
    pub lease: StreamLease,
    pub ttl: Duration,
    /// The connection whose credentials open the stream.
    pub connection_id: String,
}

/// Why a subscription stopped.
enum Stop {
    /// Shut down, or no longer wanted.
    Asked,
    /// The lease was lost (expired, or another replica holds the epoch now).
    Lost,
}

impl Subscription {
    /// Streams until `stop` fires or the lease is lost; gives the lease back when asked to stop.
    pub async fn run(self, stop: CancellationToken) {
        let key = self.lease.key.clone();
        let mut renew = tokio::time::interval(self.ttl / 3);
        renew.reset();
        let mut backoff = FIRST_BACKOFF;
        let outcome = loop {
            match self.stream_once(&stop, &mut renew, &mut backoff).await {
                Ok(stop) => break stop,
                Err(wait) => {
                    if let Some(stopped) = self.wait(&stop, &mut renew, wait).await {
                        break stopped;
                    }
                }
            }
        };
        match outcome {
            Stop::Asked => {
                if let Err(error) = self.positions.release(&self.lease).await {
                    tracing::warn!(org_id = %key.org_id, object = %key.object, %error, "change stream lease not given back; it expires");
                }
            }
            Stop::Lost => {
                tracing::info!(org_id = %key.org_id, object = %key.object, "change stream lease lost; another replica streams it")
            }
        }
    }

    /// Waits `d` while keeping the lease; `Some` when the subscription must stop.
    async fn wait(
        &self,
        stop: &CancellationToken,
        renew: &mut tokio::time::Interval,
        d: Duration,
    ) -> Option<Stop> {
        let until = tokio::time::sleep(d);
        tokio::pin!(until);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Some(Stop::Asked),
                _ = &mut until => return None,
                _ = renew.tick() => {
                    if !self.renewed().await {
                        return Some(Stop::Lost);
                    }
                }
            }
        }
    }

    async fn renewed(&self) -> bool {
        match self.positions.renew(&self.lease, self.ttl).await {
            Ok(held) => held,
            Err(error) => {
                // Redis down: stop streaming, as the lease cannot be vouched for.
                tracing::warn!(%error, "change stream lease could not be renewed");
                false
            }
        }
    }

    /// Opens the stream and follows it; `Ok` when the subscription must stop, `Err(wait)` to
    /// open it again after `wait`.
    async fn stream_once(
        &self,
        stop: &CancellationToken,
        renew: &mut tokio::time::Interval,
        backoff: &mut Duration,
    ) -> Result<Stop, Duration> {
        let key = &self.lease.key;
        let failed = |backoff: &mut Duration| {
            let wait = *backoff;
            *backoff = (*backoff * 2).min(MAX_BACKOFF);
            wait
        };
        let replay = match self.positions.replay_id(key).await {
            Ok(r) => r,
            Err(error) => {
                tracing::warn!(%error, "change stream position unreadable");
                return Err(failed(backoff));
            }
        };
        let resumed = replay.is_some();
        let mut connector = self.deps.peers.salesforce.clone();
        let opening = connector.stream_changes(pb::StreamChangesRequest {
            connection_id: self.connection_id.clone(),
            object: key.object.clone(),
            replay_id: replay.unwrap_or_default(),
        });
        let opened = tokio::select! {
            _ = stop.cancelled() => return Ok(Stop::Asked),
            o = opening => o,
        };
        let mut stream = match opened {
            Ok(s) => s.into_inner(),
            // Nothing was streaming: the polls already cover the object, and waking its
            // integrations on every retry of a stream that cannot open (an unreachable
            // endpoint) would run them all every few seconds.
            Err(status) => return self.failed(status, failed(backoff), false).await,
        };
        tracing::info!(org_id = %key.org_id, object = %key.object, resumed, "streaming salesforce change events");
        if !resumed {
            // Changes between the integrations' last poll and now are not in this stream.
            self.fall_back("stream started without a position").await;
        }
        loop {
            let message = tokio::select! {
                _ = stop.cancelled() => return Ok(Stop::Asked),
                _ = renew.tick() => {
                    if !self.renewed().await {
                        return Ok(Stop::Lost);
                    }
                    continue;
                }
                m = stream.message() => m,
            };
            match message {
                Ok(Some(batch)) => match self.hand_over(batch).await {
                    Ok(true) => *backoff = FIRST_BACKOFF,
                    Ok(false) => return Ok(Stop::Lost),
                    Err(error) => {
                        // Not stored: the batch is streamed again from the last position.
                        tracing::warn!(%error, "change events not handed over; resuming from the stored position");
                        return Err(failed(backoff));
                    }
                },
                Ok(None) => {
                    return self
                        .failed(
                            tonic::Status::unavailable("the stream ended"),
                            failed(backoff),
                            true,
                        )
                        .await;
                }
                Err(status) => return self.failed(status, failed(backoff), true).await,
            }
        }
    }

    /// After the stream failed with `status`: what to do next. Only a stream that was
    /// streaming leaves a gap for a poll to cover now.
    async fn failed(
        &self,
        status: tonic::Status,
        wait: Duration,
        was_streaming: bool,
    ) -> Result<Stop, Duration> {
        let key = &self.lease.key;
        tracing::info!(org_id = %key.org_id, object = %key.object, code = ?status.code(), message = status.message(), "salesforce change stream stopped");
        match status.code() {
            Code::OutOfRange => {
                // The stored replay id is no longer retained: start again from the next event
                // (a start without a position falls back to a poll).
                match self.positions.store(&self.lease, None).await {
                    Ok(true) => Err(Duration::ZERO),
                    Ok(false) => Ok(Stop::Lost),
                    Err(_) => Err(wait),
                }
            }
            // The object has no change events, or the connection needs re-authentication:
            // polling carries on; ask again now and then.
            Code::NotFound | Code::FailedPrecondition | Code::InvalidArgument => Err(MAX_BACKOFF),
            _ => {
                if was_streaming {
                    self.fall_back("stream dropped").await;
                }
                Err(wait)
            }
        }
    }

    /// Wakes the integrations on the object for a cycle now: it polls from their watermarks.
    async fn fall_back(&self, why: &'static str) {
        let key = &self.lease.key;
        let found =
            submit::on_object(&self.deps.peers.mapping_config, &key.org_id, &key.object).await;
        let ids: Vec<String> = match found {
            Ok(list) => list.into_iter().map(|i| i.id).collect(),
            Err(status) => {
                tracing::warn!(code = ?status.code(), why, "integrations to poll not found; their next poll catches up");
                return;
            }
        };
        tracing::info!(org_id = %key.org_id, object = %key.object, why, integrations = ids.len(), "falling back to a poll");
        if let Err(error) = self
            .deps
            .due
            .wake(&ids, time::OffsetDateTime::now_utc())
            .await
        {
            tracing::warn!(%error, why, "integrations not woken for a poll");
        }
    }

    /// Buffers a batch's changes for the integrations on the object (not for the one whose own
    /// write caused a change), wakes them for a poll on a gap, then stores the position.
    /// `Ok(false)` when the lease was lost.
    async fn hand_over(&self, batch: pb::ChangeEventBatch) -> Result<bool, super::HandOverError> {
        let key = &self.lease.key;
        if !batch.events.is_empty() {
            let integrations =
                submit::on_object(&self.deps.peers.mapping_config, &key.org_id, &key.object)
                    .await?;
            let (groups, gap) = group(&batch.events);
            let changes: usize = groups.values().map(Vec::len).sum();
            self.deps
                .metrics
                .submitted(Side::Salesforce.name(), changes);
            let now = tandem_proto::timestamp::now_millis();
            for (client, changes) in &groups {
                let to: Vec<pb::Integration> = integrations
                    .iter()
                    .filter(|i| !is_own(client, &i.id))
                    .cloned()
                    .collect();
                submit::buffer(&self.deps, &to, changes, now).await?;
            }
            if gap {
                let ids: Vec<String> = integrations.iter().map(|i| i.id.clone()).collect();
                tracing::info!(org_id = %key.org_id, object = %key.object, "gap event; falling back to a poll");
                self.deps
                    .due
                    .wake(&ids, time::OffsetDateTime::now_utc())
                    .await
                    .map_err(crate::run::CycleError::from)?;
            }
        }
        if batch.latest_replay_id.is_empty() {
            return Ok(true);
        }
        Ok(self
            .positions
            .store(&self.lease, Some(&batch.latest_replay_id))
            .await?)
    }
}

/// Whether a change whose writer was `client` is integration `id`'s own write.
fn is_own(client: &str, id: &str) -> bool {
    client == TANDEM_CLIENT
        || client
            .strip_prefix("tandem-")
            .is_some_and(|written_by| written_by == id)
}

/// The changes of a batch grouped by the writer's client (hints: record id, commit time and,
/// for a deletion, the deleted mark), and whether any event was a gap.
fn group(events: &[pb::ChangeEvent]) -> (BTreeMap<String, Vec<Change>>, bool) {
    let mut groups: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    let mut gap = false;
    for e in events {
        if e.change_type.starts_with("GAP_") {
            gap = true;
            continue;
        }
        let at = e.commit_timestamp.as_ref().map_or_else(
            tandem_proto::timestamp::now_millis,
            tandem_proto::timestamp::to_millis,
        );
        let fields = match e.change_type.as_str() {
            "DELETE" => vec![(DELETED.to_owned(), "true".to_owned(), at)],
            _ => Vec::new(),
        };
        let changes = groups.entry(e.origin_client.clone()).or_default();
        for id in &e.record_ids {
            changes.push((RecordKey::new(Side::Salesforce, id.clone()), fields.clone()));
        }
    }
    (groups, gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, client: &str, ids: &[&str]) -> pb::ChangeEvent {
        pb::ChangeEvent {
            change_type: kind.to_owned(),
            origin_client: client.to_owned(),
            record_ids: ids.iter().map(|s| s.to_string()).collect(),
            commit_timestamp: Some(tandem_proto::timestamp::from_millis(1_000)),
            ..Default::default()
        }
    }

    #[test]
    fn an_integrations_own_write_is_its_echo_and_no_one_elses() {
        let cases = [
            ("tandem-int-1", "int-1", true),
            ("tandem-int-1", "int-2", false),
            ("tandem", "int-2", true),
            ("", "int-1", false),
            ("SfdxCLI", "int-1", false),
            ("tandem-int-10", "int-1", false),
        ];
        for (client, id, own) in cases {
            assert_eq!(is_own(client, id), own, "{client} / {id}");
        }
    }

    #[test]
    fn groups_changes_by_writer_and_notes_gaps() {
        let (groups, gap) = group(&[
            event("UPDATE", "", &["a1", "a2"]),
            event("DELETE", "tandem-x", &["a3"]),
            event("UPDATE", "", &["a4"]),
        ]);
        assert!(!gap);
        let ids =
            |c: &str| -> Vec<String> { groups[c].iter().map(|(k, _)| k.id.clone()).collect() };
        assert_eq!(ids(""), ["a1", "a2", "a4"]);
        assert_eq!(ids("tandem-x"), ["a3"]);
        assert_eq!(
            groups["tandem-x"][0].1,
            [(DELETED.to_owned(), "true".to_owned(), 1_000)]
        );
        assert!(groups[""][0].1.is_empty());
        let (groups, gap) = group(&[
            event("GAP_OVERFLOW", "", &[]),
            event("GAP_UPDATE", "", &["a5"]),
        ]);
        assert!(gap && groups.is_empty());
    }
}
