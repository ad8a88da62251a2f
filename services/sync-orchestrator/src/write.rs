//! Step 7 of a run: write. Creates are recorded as intents first (so a crash between the
//! write and the link never duplicates); then the writes go to the connectors in batches
//! within their caps (each connector batches further per its remote's limits); what a create
//! made is noted at once.

use futures_util::StreamExt as _;
use tandem_core::Shadow;
use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::history::Outcome;
use crate::lease::Lease;
use crate::plan::{Planned, Write};
use crate::run::CycleError;
use crate::settings::Settings;

/// Most writes one WriteRecords may carry (connector-salesforce's cap).
const SALESFORCE_WRITES_PER_CALL: usize = 10_000;
/// Records per sObject Collections request (Salesforce's cap; the connector's batches).
const COLLECTION: usize = 200;
/// Writes per WriteItems call: within connector-monday's cap of 5,000, and a multiple of the
/// 499 mutations monday's per-request complexity cap allows, so splitting a run's writes
/// into calls costs no extra request.
const MONDAY_WRITES_PER_CALL: usize = 4_990;

/// What became of one write.
#[derive(Debug, Clone)]
pub struct Done {
    /// The side the change came from (the write went to the other).
    pub source: CoreSide,
    pub pair: usize,
    /// The written record: the one updated, or the one a create made (empty if it failed).
    pub target_id: String,
    /// The create's idempotency key; empty for an update.
    pub key: String,
    pub success: bool,
    /// The updated record is deleted or archived on its remote: its link ends.
    pub gone: bool,
    pub errors: Vec<pb::RemoteError>,
    pub shadow: Shadow,
    /// What the write changed (or was to change), field by field.
    pub changes: Vec<pb::FieldChange>,
    /// A create's target fields left out (could not be converted); see [`read_back_left_out`].
    pub left_out: Vec<String>,
}

/// What a connector answered for one write.
struct Answer {
    id: String,
    success: bool,
    gone: bool,
    errors: Vec<pb::RemoteError>,
}

impl Done {
    pub fn is_create(&self) -> bool {
        !self.key.is_empty()
    }

    fn of<W>(source: CoreSide, w: &Write<W>, id: &str, key: &str, answer: Answer) -> Done {
        Done {
            source,
            pair: w.pair,
            target_id: if id.is_empty() {
                answer.id
            } else {
                id.to_owned()
            },
            key: key.to_owned(),
            success: answer.success,
            gone: answer.gone && !id.is_empty(),
            errors: answer.errors,
            shadow: w.shadow.clone(),
            changes: w.changes.clone(),
            left_out: w.left_out.clone(),
        }
    }
}

/// Records, under the lease fence and before anything is sent, the creates as intents and
/// what the writes to linked pairs will lead to: a run that fails after its writes went out
/// leaves the next one enough to recognise them.
pub async fn record_before_sending(
    deps: &Deps,
    lease: &Lease,
    planned: &Planned,
) -> Result<(), CycleError> {
    if planned.intents.is_empty() && planned.pending.is_empty() {
        return Ok(());
    }
    let mut tx = deps.store.begin(lease).await?;
    for intent in &planned.intents {
        tx.record_intent(&intent.key, intent.target, &intent.source_id)
            .await?;
    }
    let pending: Vec<(String, serde_json::Value)> = planned
        .pending
        .iter()
        .map(|(id, p)| (id.clone(), serde_json::to_value(p).unwrap_or_default()))
        .collect();
    tx.set_pending(&pending).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends the planned writes and notes what the creates made (unfenced: should the fenced
/// commit be refused or never happen, the next run links these records instead of
/// duplicating them).
/// Before every batch the lease is checked: a holder that lost it stops before writing
/// anything more to a remote (which cannot check our fence).
pub async fn send(
    deps: &Deps,
    lease: &Lease,
    settings: &Settings,
    planned: &Planned,
    outcome: &mut Outcome,
) -> Result<Vec<Done>, CycleError> {
    send_via(deps, lease, settings, planned, Via::Collections, outcome).await
}

/// How the writes to Salesforce go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// sObject Collections through WriteRecords, a few calls in flight.
    Collections,
    /// One Bulk API 2.0 ingest job per page through BulkWrite (a large import).
    Bulk,
}

/// [`send`], with the Salesforce writes going `via` collections or Bulk API 2.0.
pub async fn send_via(
    deps: &Deps,
    lease: &Lease,
    settings: &Settings,
    planned: &Planned,
    via: Via,
    outcome: &mut Outcome,
) -> Result<Vec<Done>, CycleError> {
    let spec = &settings.spec;
    let mut done = Vec::with_capacity(planned.salesforce.len() + planned.monday.len());
    // Salesforce takes many short requests at once: the writes go as up to
    // `salesforce_concurrency` WriteRecords calls in flight, each a whole number of
    // 200-record collections. Every answer that came back is noted, even when another call
    // failed, so a create that succeeded is linked, never made again.
    let concurrency = deps.salesforce_concurrency.max(1);
    let per_call = planned
        .salesforce
        .len()
        .div_ceil(concurrency)
        .div_ceil(COLLECTION)
        .max(1)
        .saturating_mul(COLLECTION)
        .min(SALESFORCE_WRITES_PER_CALL);
    let per_call = match via {
        Via::Collections => per_call,
        // One ingest job takes a page whole.
        Via::Bulk => planned.salesforce.len().max(1),
    };
    let calls: Vec<_> = planned
        .salesforce
        .chunks(per_call)
        .map(|chunk| async move {
            deps.leases.check(lease).await?;
            let answer = to_salesforce(deps, settings, chunk, via).await?;
            Ok::<_, CycleError>((chunk, answer))
        })
        .collect();
    let answers: Vec<_> = futures_util::stream::iter(calls)
        .buffered(concurrency)
        .collect()
        .await;
    let mut failure = None;
    for answer in answers {
        let (chunk, (results, api_calls)) = match answer {
            Ok(answered) => answered,
            Err(e) => {
                failure.get_or_insert(e);
                continue;
            }
        };
        outcome.counters.salesforce_api_calls += u64::from(api_calls);
        done.extend(chunk.iter().zip(results).map(|(w, r)| {
            Done::of(
                CoreSide::Monday,
                w,
                &w.write.id,
                &w.write.idempotency_key,
                Answer {
                    id: r.id,
                    success: r.success,
                    gone: r.gone,
                    errors: r.errors,
                },
            )
        }));
    }
    if let Some(failure) = failure {
        note_created(deps, settings, &done).await?;
        return Err(failure);
    }
    // Only mappings that opted in let labels through that the board lacks.
    let create_labels = settings
        .rules
        .mappings
        .iter()
        .any(|m| m.options.create_labels);
    for chunk in planned.monday.chunks(MONDAY_WRITES_PER_CALL) {
        deps.leases.check(lease).await?;
        let response = deps
            .peers
            .monday
            .clone()
            .write_items(pb::WriteItemsRequest {
                connection_id: spec.monday_connection_id.clone(),
                board_id: spec.board_id.clone(),
                group_id: spec.group_id.clone(),
                writes: chunk.iter().map(|w| w.write.clone()).collect(),
                create_labels_if_missing: create_labels,
            })
            .await?
            .into_inner();
        outcome.counters.monday_api_calls += u64::from(response.api_calls);
        done.extend(chunk.iter().zip(response.results).map(|(w, r)| {
            Done::of(
                CoreSide::Salesforce,
                w,
                &w.write.id,
                &w.write.idempotency_key,
                Answer {
                    id: r.id,
                    success: r.success,
                    gone: r.gone,
                    errors: r.errors,
                },
            )
        }));
    }
    // Labels monday added for these writes are not in the board this run read: the next
    // run reads the board again, so a status holding one is read as its label.
    if create_labels && !planned.monday.is_empty() {
        deps.catalogs.forget(settings.id());
    }
    note_created(deps, settings, &done).await?;
    // After the creates are noted: should the read fail, the next run still links them.
    read_back_left_out(deps, settings, &mut done, outcome).await?;
    Ok(done)
}

/// One call's writes to Salesforce: their results in order, and the API calls it took.
async fn to_salesforce(
    deps: &Deps,
    settings: &Settings,
    chunk: &[Write<pb::RecordWrite>],
    via: Via,
) -> Result<(Vec<pb::WriteResult>, u32), CycleError> {
    let spec = &settings.spec;
    let mut salesforce = deps.peers.salesforce.clone();
    let (connection_id, object) = (
        spec.salesforce_connection_id.clone(),
        spec.salesforce_object.clone(),
    );
    let writes: Vec<pb::RecordWrite> = chunk.iter().map(|w| w.write.clone()).collect();
    let integration_id = settings.id().to_owned();
    Ok(match via {
        Via::Collections => {
            let r = salesforce
                .write_records(pb::WriteRecordsRequest {
                    connection_id,
                    object,
                    writes,
                    integration_id,
                })
                .await?
                .into_inner();
            (r.results, r.api_calls)
        }
        Via::Bulk => {
            let r = salesforce
                .bulk_write(pb::BulkWriteRequest {
                    connection_id,
                    object,
                    writes,
                    integration_id,
                    operation: pb::BulkOperation::Unspecified as i32,
                })
                .await?
                .into_inner();
            (r.results, r.api_calls)
        }
    })
}

/// Salesforce fills a field a create left out with its default — the owner above all, when
/// the monday person has no Salesforce user. Read back, that value enters the shadow of the
/// Salesforce side, so the next run does not take it for a user's edit and write it over the
/// monday value it could not carry; the monday side keeps no shadow for it, so its value is
/// tried again every run (and crosses once Salesforce can hold it). One read for all such
/// creates of the run; monday columns have no defaults, so monday creates need none.
async fn read_back_left_out(
    deps: &Deps,
    settings: &Settings,
    done: &mut [Done],
    outcome: &mut Outcome,
) -> Result<(), CycleError> {
    let ids: Vec<String> = done
        .iter()
        .filter(|d| d.source == CoreSide::Monday && d.is_create() && d.success)
        .filter(|d| !d.left_out.is_empty() && !d.target_id.is_empty())
        .map(|d| d.target_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let spec = &settings.spec;
    let (fields, _) = settings.fields_to_read(None);
    let got = deps
        .peers
        .salesforce
        .clone()
        .get_records(pb::GetRecordsRequest {
            connection_id: spec.salesforce_connection_id.clone(),
            object: spec.salesforce_object.clone(),
            ids,
            fields,
        })
        .await?
        .into_inner();
    outcome.counters.salesforce_api_calls += u64::from(got.api_calls);
    let read: std::collections::HashMap<&str, _> = got
        .records
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                crate::records::read_salesforce(&settings.rules.mappings, r),
            )
        })
        .collect();
    for d in done.iter_mut().filter(|d| !d.left_out.is_empty()) {
        let Some(record) = read.get(d.target_id.as_str()) else {
            continue;
        };
        for field in &d.left_out {
            if let Some(value) = record.state.values.get(field) {
                d.shadow.salesforce.insert(field.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// Notes what the creates among `done` made, for the next run should this one not commit.
async fn note_created(deps: &Deps, settings: &Settings, done: &[Done]) -> Result<(), CycleError> {
    let created: Vec<(String, String)> = done
        .iter()
        .filter(|d| d.is_create() && d.success && !d.target_id.is_empty())
        .map(|d| (d.key.clone(), d.target_id.clone()))
        .collect();
    deps.store.note_created(settings.id(), &created).await?;
    Ok(())
}
