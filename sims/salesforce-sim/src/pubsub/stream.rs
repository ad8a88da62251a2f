//! One Subscribe stream: the first FetchRequest sets topic and replay; later ones only add
//! `num_requested` (at most 100 outstanding). Events go out as they are committed, up to
//! what was requested; an empty batch (keepalive) after `keepalive` without one. Each
//! delivered event counts toward the org's rolling-24h delivery allocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::{Code, Status, Streaming};

use super::errors::{self, rpc_id, status};
use super::proto;
use super::service::Caller;
use super::topics::Topic;
use crate::Shared;

/// At most this many events requested and not yet delivered, per stream.
pub const MAX_OUTSTANDING: i32 = 100;

/// A replay id: opaque bytes for clients (here a position on the org's log, which has gaps).
pub fn replay_id(position: u64) -> Vec<u8> {
    let mut v = position.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v
}

/// The position of a replay id this simulator handed out.
pub fn position(replay_id: &[u8]) -> Option<u64> {
    match replay_id {
        [p @ .., 0, 0] if p.len() == 8 => Some(u64::from_be_bytes(p.try_into().ok()?)),
        _ => None,
    }
}

/// Counts a stream as live while it exists.
struct Live<'a>(&'a AtomicUsize);

impl<'a> Live<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Live(n)
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type Tx = mpsc::Sender<Result<proto::FetchResponse, Status>>;

pub async fn run(
    shared: Arc<Shared>,
    caller: Caller,
    inbound: Streaming<proto::FetchRequest>,
    tx: Tx,
) {
    if let Err(st) = serve(&shared, &caller, inbound, &tx).await {
        let _ = tx.send(Err(st)).await;
    }
}

fn add(pending: i32, n: i32) -> i32 {
    pending.saturating_add(n.max(0)).min(MAX_OUTSTANDING)
}

/// Where the stream starts, from the first request's replay option.
fn start(shared: &Shared, caller: &Caller, first: &proto::FetchRequest) -> Result<u64, Status> {
    let now = shared.bus.now();
    let retention = shared.config.pubsub.retention;
    shared.with_org(&caller.org, |org, _| {
        org.cdc.expire(now, retention);
        if org.cdc.delivered_today(now) >= org.cdc.allocation_max {
            return Err(errors::limit_exceeded());
        }
        match proto::ReplayPreset::try_from(first.replay_preset) {
            Ok(proto::ReplayPreset::Latest) => Ok(org.cdc.head),
            Ok(proto::ReplayPreset::Earliest) => Ok(org.cdc.expired_through),
            Ok(proto::ReplayPreset::Custom) => match position(&first.replay_id) {
                // The event a replay id names must still be retained (position 0: the
                // start of an org's log, before any event).
                Some(p)
                    if (p > org.cdc.expired_through || p == 0 && org.cdc.expired_through == 0)
                        && p <= org.cdc.head =>
                {
                    Ok(p)
                }
                _ => Err(errors::replay_invalid()),
            },
            Err(_) => Err(status(
                Code::InvalidArgument,
                errors::REPLAY_CORRUPTED,
                "The replay_preset value is not valid.",
            )),
        }
    })
}

/// The next batch after `cursor`: at most `want` events of the topic, within the allocation.
/// Returns the events and the new cursor.
fn next_batch(
    shared: &Shared,
    caller: &Caller,
    topic: &Topic,
    cursor: u64,
    want: i32,
) -> Result<(Vec<proto::ConsumerEvent>, u64), Status> {
    let now = shared.bus.now();
    let retention = shared.config.pubsub.retention;
    shared.with_org(&caller.org, |org, _| {
        org.cdc.expire(now, retention);
        let left = org
            .cdc
            .allocation_max
            .saturating_sub(org.cdc.delivered_today(now));
        let cap = (want.max(0) as u64).min(left) as usize;
        let mut out = Vec::new();
        let mut new_cursor = org.cdc.head.max(cursor);
        for e in org.cdc.log.iter().filter(|e| e.position > cursor) {
            if !topic.carries(e) {
                continue;
            }
            if out.len() >= cap {
                if left == 0 && out.is_empty() {
                    return Err(errors::limit_exceeded());
                }
                new_cursor = out.last().map(|(p, _)| *p).unwrap_or(cursor);
                break;
            }
            out.push((
                e.position,
                proto::ConsumerEvent {
                    event: Some(proto::ProducerEvent {
                        id: e.id.clone(),
                        schema_id: e.schema_id.clone(),
                        payload: e.payload.clone(),
                        headers: vec![],
                    }),
                    replay_id: replay_id(e.position),
                },
            ));
        }
        if !out.is_empty() {
            org.cdc.deliveries.push_back((now, out.len() as u64));
        }
        Ok((out.into_iter().map(|(_, e)| e).collect(), new_cursor))
    })
}

async fn serve(
    shared: &Shared,
    caller: &Caller,
    mut inbound: Streaming<proto::FetchRequest>,
    tx: &Tx,
) -> Result<(), Status> {
    let Ok(Some(first)) = inbound.message().await else {
        return Ok(());
    };
    let topic_name = first.topic_name.clone();
    let topic = Topic::parse(&shared.schema, &topic_name)
        .filter(|t| match t {
            Topic::Platform(n) => shared.bus.platform.get(n).is_some(),
            _ => true,
        })
        .ok_or_else(|| errors::topic_not_found(&topic_name))?;
    let mut cursor = start(shared, caller, &first)?;
    let _live = Live::new(&shared.bus.live);
    let mut pending = add(0, first.num_requested);
    let mut added = shared.bus.added.subscribe();
    let mut drops = shared.bus.drops.subscribe();
    let keepalive = shared.config.pubsub.keepalive;
    let mut last_sent = Instant::now();
    let mut inbound_open = true;
    loop {
        if pending > 0 {
            let (events, new_cursor) = next_batch(shared, caller, &topic, cursor, pending)?;
            cursor = new_cursor;
            if !events.is_empty() {
                let delay = shared.bus.delay();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                pending -= events.len() as i32;
                let batch = proto::FetchResponse {
                    events,
                    latest_replay_id: replay_id(cursor),
                    rpc_id: rpc_id(),
                    pending_num_requested: pending,
                };
                if tx.send(Ok(batch)).await.is_err() {
                    return Ok(());
                }
                last_sent = Instant::now();
                continue;
            }
        }
        tokio::select! {
            _ = shared.bus.shutdown.cancelled() => return Ok(()),
            _ = tx.closed() => return Ok(()),
            r = drops.changed() => {
                if r.is_ok() {
                    return Err(errors::unavailable());
                }
            }
            r = added.changed() => {
                if r.is_err() {
                    return Ok(());
                }
            }
            msg = inbound.message(), if inbound_open => match msg {
                Ok(Some(req)) => {
                    if !req.topic_name.is_empty() && req.topic_name != topic_name {
                        return Err(status(
                            Code::InvalidArgument,
                            errors::TOPIC_MISMATCH,
                            &format!("The topic {} does not match the topic of the subscription, {topic_name}.", req.topic_name),
                        ));
                    }
                    pending = add(pending, req.num_requested);
                }
                // The client closed its side: keep delivering what it asked for.
                Ok(None) => inbound_open = false,
                Err(_) => return Ok(()),
            },
            _ = tokio::time::sleep_until(last_sent + keepalive) => {
                let cursor_now = next_cursor_when_idle(shared, caller, &topic, cursor);
                cursor = cursor_now;
                let empty = proto::FetchResponse {
                    events: vec![],
                    latest_replay_id: replay_id(cursor),
                    rpc_id: rpc_id(),
                    pending_num_requested: pending,
                };
                if tx.send(Ok(empty)).await.is_err() {
                    return Ok(());
                }
                last_sent = Instant::now();
            }
        }
    }
}

/// With nothing of the topic left after `cursor`, the keepalive may report the log's head.
fn next_cursor_when_idle(shared: &Shared, caller: &Caller, topic: &Topic, cursor: u64) -> u64 {
    shared.with_org(&caller.org, |org, _| {
        let undelivered = org
            .cdc
            .log
            .iter()
            .any(|e| e.position > cursor && topic.carries(e));
        if undelivered {
            cursor
        } else {
            org.cdc.head.max(cursor)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_ids_round_trip_and_reject_foreign_bytes() {
        for p in [0u64, 1, 487_259, u64::MAX] {
            assert_eq!(position(&replay_id(p)), Some(p));
        }
        assert_eq!(position(b"12907414"), None);
        assert_eq!(position(&[]), None);
    }

    #[test]
    fn requests_add_up_to_a_cap() {
        assert_eq!(add(0, 5), 5);
        assert_eq!(add(5, 10), 15);
        assert_eq!(add(90, 50), 100);
        assert_eq!(add(3, -4), 3);
    }
}
