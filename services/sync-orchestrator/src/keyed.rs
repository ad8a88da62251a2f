//! Step 3a: partners found by the link key. A record never linked whose link-key value names a
//! record of the other side that is not among this cycle's records (it did not change, so no
//! poll returned it) is looked up there by that value, so the existing partner is paired by
//! `pairs::relink_by_key`, not duplicated by a create. Looked-up records nobody pairs leave
//! again: they are not changes.

use std::collections::BTreeSet;

use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::history::Outcome;
use crate::pairs::{Pair, key_text};
use crate::run::CycleError;
use crate::settings::{LinkKey, Settings};
use crate::store::Side;

/// The most values looked up per side in one cycle (a connector's cap).
const MAX_VALUES: usize = 1_000;

/// Adds the other side's records that the unlinked pairs' key values name, marked
/// `found_by_key`.
pub async fn find_partners(
    deps: &Deps,
    settings: &Settings,
    pairs: &mut Vec<Pair>,
    link_key: Option<&LinkKey>,
    (fields, columns): (&[String], &[String]),
    outcome: &mut Outcome,
) -> Result<(), CycleError> {
    let Some((column, field)) = link_key else {
        return Ok(());
    };
    let is_id = field == "Id";
    let alone = |p: &&Pair, side: CoreSide| {
        p.shadow.is_none()
            && p.id_on(side).is_some()
            && p.id_on(crate::pairs::other(side)).is_none()
    };
    // Salesforce records alone: the monday items whose key column shows their value.
    let mut sf_values: BTreeSet<String> = BTreeSet::new();
    for r in pairs
        .iter()
        .filter(|p| alone(p, CoreSide::Salesforce))
        .filter_map(|p| p.salesforce.as_ref())
        .filter(|r| !r.deleted)
    {
        if is_id {
            sf_values.insert(r.id.clone());
            sf_values.insert(r.id.chars().take(15).collect());
        } else if let Some(v) = r.fields.get(field.as_str()).and_then(|raw| key_text(raw)) {
            sf_values.insert(v);
        }
    }
    // monday items alone: the Salesforce records whose key field holds their value.
    let mut mo_values: BTreeSet<String> = BTreeSet::new();
    for r in pairs
        .iter()
        .filter(|p| alone(p, CoreSide::Monday))
        .filter_map(|p| p.monday.as_ref())
        .filter(|r| !r.deleted)
    {
        if let Some(v) = r.fields.get(column.as_str()).and_then(|raw| key_text(raw)) {
            mo_values.insert(v);
        }
    }
    let spec = &settings.spec;
    let mut found: Vec<(CoreSide, pb::Record)> = Vec::new();
    if !sf_values.is_empty() && column != "name" {
        let got = deps
            .peers
            .monday
            .clone()
            .find_items(pb::FindItemsRequest {
                connection_id: spec.monday_connection_id.clone(),
                board_id: spec.board_id.clone(),
                column_id: column.clone(),
                values: sf_values.into_iter().take(MAX_VALUES).collect(),
                columns: columns.to_vec(),
            })
            .await?
            .into_inner();
        outcome.counters.monday_api_calls += u64::from(got.api_calls);
        found.extend(got.items.into_iter().map(|r| (CoreSide::Monday, r)));
    }
    if !mo_values.is_empty() {
        let got = deps
            .peers
            .salesforce
            .clone()
            .find_records(pb::FindRecordsRequest {
                connection_id: spec.salesforce_connection_id.clone(),
                object: spec.salesforce_object.clone(),
                field: field.clone(),
                values: mo_values.into_iter().take(MAX_VALUES).collect(),
                fields: fields.to_vec(),
            })
            .await?
            .into_inner();
        outcome.counters.salesforce_api_calls += u64::from(got.api_calls);
        found.extend(got.records.into_iter().map(|r| (CoreSide::Salesforce, r)));
    }
    for side in [CoreSide::Salesforce, CoreSide::Monday] {
        let known: BTreeSet<String> = pairs
            .iter()
            .filter_map(|p| p.id_on(side).map(str::to_owned))
            .collect();
        let fresh: Vec<pb::Record> = found
            .iter()
            .filter(|(s, r)| *s == side && !r.deleted && !known.contains(&r.id))
            .map(|(_, r)| r.clone())
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let ids: Vec<String> = fresh.iter().map(|r| r.id.clone()).collect();
        let linked = deps
            .store
            .linked_ids(settings.id(), Side::from(side), &ids)
            .await?;
        pairs.extend(
            fresh
                .into_iter()
                .filter(|r| !linked.contains(&r.id))
                .map(|r| Pair {
                    found_by_key: true,
                    ..Pair::unlinked(side, r)
                }),
        );
    }
    Ok(())
}
