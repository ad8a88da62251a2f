//! Step 1b: deletions the polls cannot see. monday's `items_page` never returns a deleted or
//! archived item, so, on a slower cadence than the polls (`--deletion-sweep-seconds`), a cycle
//! reads every linked monday item by id (100 per call) and gives the pairs whose item is gone
//! a deleted monday side: the plan then ends their links with an event, and nothing is written
//! to them again. Salesforce needs no sweep: its polls (`queryAll`) return deleted records.

use std::collections::HashMap;

use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::history::Outcome;
use crate::pairs::Pair;
use crate::run::CycleError;
use crate::settings::Settings;

/// Linked item ids per GetItems call.
const IDS_PER_CALL: usize = 10_000;

/// When a sweep is due, adds a pair with a deleted monday side for every linked item monday no
/// longer has (or has archived); returns whether it swept (to be noted with the commit).
pub async fn deleted_partners(
    deps: &Deps,
    settings: &Settings,
    pairs: &mut Vec<Pair>,
    outcome: &mut Outcome,
) -> Result<bool, CycleError> {
    let id = settings.id();
    let now = time::OffsetDateTime::now_utc();
    if let Some(at) = deps.store.swept_at(id).await?
        && now - at < deps.sweep_every
    {
        return Ok(false);
    }
    let links = deps.store.active_links(id).await?;
    let mut gone: Vec<String> = Vec::new();
    let ids: Vec<String> = links.iter().map(|l| l.monday_item_id.clone()).collect();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let got = deps
            .peers
            .monday
            .clone()
            .get_items(pb::GetItemsRequest {
                connection_id: settings.spec.monday_connection_id.clone(),
                board_id: settings.spec.board_id.clone(),
                ids: chunk.to_vec(),
                columns: Vec::new(),
            })
            .await?
            .into_inner();
        outcome.counters.monday_api_calls += u64::from(got.api_calls);
        gone.extend(got.missing_ids);
        gone.extend(got.items.into_iter().filter(|i| i.deleted).map(|i| i.id));
    }
    if gone.is_empty() {
        return Ok(true);
    }
    let by_item: HashMap<String, usize> = pairs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.monday_id.clone().map(|m| (m, i)))
        .collect();
    let deleted = |id: &str| pb::Record {
        id: id.to_owned(),
        deleted: true,
        ..Default::default()
    };
    let mut added = Vec::new();
    for item in &gone {
        match by_item.get(item) {
            Some(&i) => pairs[i].monday = Some(deleted(item)),
            None => {
                let Some(link) = links.iter().find(|l| &l.monday_item_id == item) else {
                    continue;
                };
                added.push(Pair {
                    salesforce_id: Some(link.salesforce_id.clone()),
                    monday_id: Some(item.clone()),
                    salesforce: Some(pb::Record {
                        id: link.salesforce_id.clone(),
                        ..Default::default()
                    }),
                    monday: Some(deleted(item)),
                    shadow: serde_json::from_value(link.shadow.0.clone()).ok(),
                    ..Pair::default()
                });
            }
        }
    }
    pairs.extend(added);
    Ok(true)
}
