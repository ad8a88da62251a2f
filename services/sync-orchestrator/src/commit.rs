//! Step 8 of a run: record. Links and shadows of what succeeded, ended links, and the
//! watermarks, in one transaction under the lease fence (a holder whose lease was taken over
//! commits nothing). A pair whose write failed on either side keeps its old shadow, so what
//! did move is seen again and what did not is retried; a create is linked whatever else
//! happened.

use std::collections::BTreeSet;

use tandem_core::merge::Side as CoreSide;
use tandem_proto::timestamp::to_offset;
use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::detect::{Polled, modified_ms};
use crate::history::{Note, Outcome};
use crate::lease::Lease;
use crate::pairs::{Pair, other};
use crate::plan::Planned;
use crate::run::CycleError;
use crate::store::{Fenced, Side};
use crate::write::Done;

/// Records the outcome of every write, the ended links and the re-links in a fenced
/// transaction, returned open for the caller to add its watermarks and commit.
pub async fn record(
    deps: &Deps,
    lease: &Lease,
    pairs: &[Pair],
    planned: &Planned,
    done: &[Done],
    outcome: &mut Outcome,
) -> Result<Fenced<'static>, CycleError> {
    // A partner found deleted or archived by the write itself: the link ends (deletions are
    // not propagated), and nothing is written to it again.
    let mut gone: BTreeSet<usize> = BTreeSet::new();
    let mut unlink: Vec<(String, String, String)> = Vec::new();
    for d in done.iter().filter(|d| d.gone) {
        if !gone.insert(d.pair) {
            continue;
        }
        let pair = &pairs[d.pair];
        let remote = match d.source {
            CoreSide::Monday => "Salesforce",
            CoreSide::Salesforce => "monday",
        };
        let reason = format!(
            "the partner was deleted or archived in {remote}; deletions are not propagated, the pair is unlinked"
        );
        let source_id = pair.id_on(d.source).unwrap_or_default();
        outcome.note(Note::new(
            other(d.source),
            &d.target_id,
            source_id,
            pb::EventAction::Unlinked,
            reason.clone(),
        ));
        if let (Some(sf), Some(mo)) = (&pair.salesforce_id, &pair.monday_id) {
            unlink.push((sf.clone(), mo.clone(), reason));
        }
    }
    let mut failed: BTreeSet<usize> = BTreeSet::new();
    for d in done
        .iter()
        .filter(|d| !d.success && !gone.contains(&d.pair))
    {
        failed.insert(d.pair);
        let remote = match d.source {
            CoreSide::Monday => "Salesforce",
            CoreSide::Salesforce => "monday",
        };
        let source_id = pairs[d.pair].id_on(d.source).unwrap_or_default();
        let mut note = Note::new(
            d.source,
            source_id,
            &d.target_id,
            pb::EventAction::Failed,
            format!("{remote} refused the write"),
        );
        note.errors = d.errors.clone();
        note.changes = d.changes.clone();
        outcome.note(note);
    }
    let mut tx = deps.store.begin(lease).await?;
    for d in done.iter().filter(|d| d.success && !gone.contains(&d.pair)) {
        let pair = &pairs[d.pair];
        let source_id = pair.id_on(d.source).unwrap_or_default().to_owned();
        let (sf_id, mo_id) = match d.source {
            CoreSide::Monday => (d.target_id.clone(), source_id.clone()),
            CoreSide::Salesforce => (source_id.clone(), d.target_id.clone()),
        };
        let shadow = serde_json::to_value(&d.shadow).unwrap_or_default();
        let action = if d.is_create() {
            tx.upsert_link(&sf_id, &mo_id, &shadow).await?;
            tx.close_intent(&d.key).await?;
            pb::EventAction::Created
        } else {
            if !failed.contains(&d.pair) {
                tx.upsert_link(&sf_id, &mo_id, &shadow).await?;
                if let Some(key) = &pair.adopted_intent {
                    tx.close_intent(key).await?;
                }
            }
            pb::EventAction::Updated
        };
        outcome.note(
            Note::new(d.source, &source_id, &d.target_id, action, String::new())
                .with_changes(d.changes.clone()),
        );
    }
    for (sf_id, mo_id, reason) in planned.unlink.iter().chain(&unlink) {
        tx.unlink(sf_id, mo_id, reason).await?;
    }
    for (index, shadow) in &planned.relinks {
        let pair = &pairs[*index];
        if let (Some(s), Some(m)) = (&pair.salesforce_id, &pair.monday_id) {
            tx.upsert_link(s, m, &serde_json::to_value(shadow).unwrap_or_default())
                .await?;
            if let Some(key) = &pair.adopted_intent {
                tx.close_intent(key).await?;
            }
        }
    }
    Ok(tx)
}

/// Notes the records that failed in this run for a retry, and forgets those of `pairs` that
/// did not fail (they crossed, were skipped on purpose, or needed nothing).
pub async fn record_failing(
    tx: &mut Fenced<'_>,
    version: i64,
    pairs: &[Pair],
    outcome: &Outcome,
) -> Result<(), CycleError> {
    let mut failed: Vec<(Side, String, String)> = Vec::new();
    let mut failed_ids: BTreeSet<(Side, String)> = BTreeSet::new();
    for e in outcome
        .events
        .iter()
        .filter(|e| e.action == pb::EventAction::Failed as i32)
    {
        let side = match pb::Side::try_from(e.source_side) {
            Ok(pb::Side::Salesforce) => Side::Salesforce,
            Ok(pb::Side::Monday) => Side::Monday,
            _ => continue,
        };
        failed_ids.insert((side, e.source_record_id.clone()));
        failed.push((side, e.source_record_id.clone(), e.reason.clone()));
    }
    // Only a record this run read can have crossed: a side the cycle took as unchanged
    // without reading it (its partner changed) says nothing of a field that failed on it.
    let read = |r: &Option<pb::Record>| {
        r.as_ref()
            .is_some_and(|r| r.deleted || !r.fields.is_empty())
    };
    let resolved: Vec<(Side, String)> = pairs
        .iter()
        .flat_map(|p| {
            [
                (Side::Salesforce, &p.salesforce_id, read(&p.salesforce)),
                (Side::Monday, &p.monday_id, read(&p.monday)),
            ]
            .into_iter()
            .filter(|(_, _, read)| *read)
            .filter_map(|(side, id, _)| id.as_ref().map(|id| (side, id.clone())))
        })
        .filter(|record| !failed_ids.contains(record))
        .collect();
    tx.clear_failing(&resolved).await?;
    tx.mark_failing(&failed, version).await?;
    Ok(())
}

/// Moves both watermarks to where the polls ended (Salesforce with the records seen at its
/// watermark, to skip them next time).
pub async fn set_watermarks(tx: &mut Fenced<'_>, polled: &Polled) -> Result<(), CycleError> {
    if let Some(mark) = polled.salesforce.watermark.as_ref().and_then(to_offset) {
        let seen: Vec<(String, i64)> = polled
            .salesforce
            .records
            .iter()
            .map(|r| (r.id.clone(), modified_ms(r)))
            .collect();
        tx.set_watermark(
            Side::Salesforce,
            mark,
            &serde_json::to_value(seen).unwrap_or_default(),
        )
        .await?;
    }
    if let Some(mark) = polled.monday.watermark.as_ref().and_then(to_offset) {
        tx.set_watermark(Side::Monday, mark, &serde_json::json!([]))
            .await?;
    }
    Ok(())
}
