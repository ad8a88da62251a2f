//! Steps 1–2 of a cycle: detect and coalesce. Poll both sides since their watermarks, put what
//! changed into the coalescing buffer beside what webhooks brought, and claim every record
//! that is pending.

use std::collections::BTreeSet;

use tandem_proto::timestamp::{from_millis, from_offset, now_millis, to_millis};
use tandem_proto::v1 as pb;

use crate::coalesce::{Pending, RecordKey};
use crate::deps::Deps;
use crate::history::Outcome;
use crate::run::CycleError;
use crate::settings::Settings;
use crate::store::Side;

/// Records claimed from the buffer per cycle.
pub const CLAIM_LIMIT: usize = 50_000;

/// What both polls returned.
pub struct Polled {
    pub salesforce: pb::SalesforcePollResponse,
    pub monday: pb::MondayPollResponse,
}

impl Polled {
    pub fn records(&self, side: Side) -> &[pb::Record] {
        match side {
            Side::Salesforce => &self.salesforce.records,
            Side::Monday => &self.monday.items,
        }
    }
}

/// Polls both sides since their watermarks (Salesforce with the records it saw at its
/// watermark, so the overlap is not read twice). A side that has none yet is polled since the
/// integration was created: like the original app, an integration syncs the changes made
/// from then on, and records that existed before cross only through an import (which links
/// existing pairs by key, or creates them, as the user asked — a first cycle that created
/// every record would leave the import nothing to link, only duplicates).
pub async fn poll(
    deps: &Deps,
    settings: &Settings,
    (fields, columns): (&[String], &[String]),
    outcome: &mut Outcome,
) -> Result<Polled, CycleError> {
    let (id, spec) = (settings.id(), &settings.spec);
    let sf_mark = deps.store.watermark(id, Side::Salesforce).await?;
    let mo_mark = deps.store.watermark(id, Side::Monday).await?;
    let seen: Vec<pb::SeenRecord> = sf_mark
        .as_ref()
        .and_then(|w| serde_json::from_value::<Vec<(String, i64)>>(w.seen.0.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(id, ms)| pb::SeenRecord {
            id,
            modified_at: Some(from_millis(ms)),
        })
        .collect();
    let since =
        |mark: &Option<crate::store::Watermark>| match mark.as_ref().and_then(|w| w.watermark) {
            Some(at) => Some(from_offset(at)),
            None => settings.integration.created_at,
        };
    let (mut salesforce, mut monday) = (deps.peers.salesforce.clone(), deps.peers.monday.clone());
    let (sf_poll, mo_poll) = tokio::try_join!(
        salesforce.poll_changes(pb::SalesforcePollRequest {
            connection_id: spec.salesforce_connection_id.clone(),
            object: spec.salesforce_object.clone(),
            fields: fields.to_vec(),
            watermark: since(&sf_mark),
            seen,
            max_records: 0,
            ..Default::default()
        }),
        monday.poll_changes(pb::MondayPollRequest {
            connection_id: spec.monday_connection_id.clone(),
            board_id: spec.board_id.clone(),
            columns: columns.to_vec(),
            watermark: since(&mo_mark),
            max_items: 0,
            ..Default::default()
        }),
    )?;
    let mut polled = Polled {
        salesforce: sf_poll.into_inner(),
        monday: mo_poll.into_inner(),
    };
    // A connector reads a little before its watermark (an overlap against clock skew); before
    // the integration existed, nothing is a change to sync. Both remotes keep change times to
    // the second, so the creation time is too.
    if let Some(created) = settings
        .integration
        .created_at
        .as_ref()
        .map(|t| t.seconds * 1_000)
    {
        if sf_mark.is_none() {
            polled
                .salesforce
                .records
                .retain(|r| modified_ms(r) >= created);
        }
        if mo_mark.is_none() {
            polled.monday.items.retain(|r| modified_ms(r) >= created);
        }
    }
    outcome.counters.read += (polled.salesforce.records.len() + polled.monday.items.len()) as u64;
    outcome.counters.salesforce_api_calls += u64::from(polled.salesforce.api_calls);
    outcome.counters.monday_api_calls += u64::from(polled.monday.api_calls);
    Ok(polled)
}

/// When a record changed (ms), or now when the remote did not say.
pub fn modified_ms(record: &pb::Record) -> i64 {
    record
        .modified_at
        .as_ref()
        .map_or_else(now_millis, to_millis)
}

/// Coalesces the polled records with what webhooks brought.
pub async fn submit(deps: &Deps, settings: &Settings, polled: &Polled) -> Result<(), CycleError> {
    let now = now_millis();
    let window = settings.window();
    for side in [Side::Salesforce, Side::Monday] {
        for r in polled.records(side) {
            let at = modified_ms(r);
            let fields: Vec<(String, String, i64)> = r
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), at))
                .collect();
            let record = RecordKey::new(side, r.id.clone());
            deps.buffer
                .submit(settings.id(), &record, &fields, now, window)
                .await?;
        }
    }
    Ok(())
}

/// Records that failed earlier retried per cycle, at most.
const RETRY_LIMIT: i64 = 5_000;

/// What a cycle works on: the claimed records, and the failing records due for a retry.
pub struct Claimed {
    /// Everything pending in the buffer (a cycle ends the window of whatever it reads), or an
    /// unfinished earlier claim replayed; then the due retries not among them.
    pub records: Vec<Pending>,
    pub retries: BTreeSet<(Side, String)>,
}

/// Claims everything pending and adds the failing records that are due.
pub async fn claim(deps: &Deps, settings: &Settings) -> Result<Claimed, CycleError> {
    let mut records = deps
        .buffer
        .claim(settings.id(), i64::MAX / 2, CLAIM_LIMIT)
        .await?;
    let due = deps
        .store
        .due_failing(settings.id(), settings.integration.version, RETRY_LIMIT)
        .await?;
    let claimed: BTreeSet<RecordKey> = records.iter().map(|p| p.record.clone()).collect();
    for (side, id) in &due {
        let record = RecordKey::new(*side, id.clone());
        if !claimed.contains(&record) {
            records.push(Pending::retry(record));
        }
    }
    Ok(Claimed {
        records,
        retries: due.into_iter().collect(),
    })
}
