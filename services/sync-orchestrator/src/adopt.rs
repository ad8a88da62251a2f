//! Step 3b: adopt lost creates. A create an earlier run made but never linked (its lease was
//! taken over, or the process died between the remote's answer and the commit) is found among
//! this run's unlinked records and paired with its source, so it is linked, not made twice:
//! by the id noted when the remote answered, else — for Salesforce creates, which cannot be
//! looked up by key on an object without an external-id field — by an unlinked record whose
//! every written field equals what the create wrote.

use std::collections::BTreeSet;

use tandem_core::ConvertContext;
use tandem_core::merge::Side as CoreSide;
use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::detect::Polled;
use crate::history::Note;
use crate::merge::{self, Decision};
use crate::pairs::Pair;
use crate::records;
use crate::run::CycleError;
use crate::settings::Settings;
use crate::store::{OpenIntent, Side};

/// Adopts the lost creates of the integration's open intents into `pairs`. `polled` are this
/// cycle's polled records: a lost create may be among them and not among the pairs (when the
/// cycle replays a claimed buffer first); they join as candidates and leave again unless
/// adopted (their own turn comes with the buffer's next claim).
pub async fn adopt_lost_creates(
    deps: &Deps,
    settings: &Settings,
    pairs: &mut Vec<Pair>,
    polled: Option<&Polled>,
) -> Result<Vec<Note>, CycleError> {
    let intents = deps.store.open_intents(settings.id()).await?;
    if intents.is_empty() {
        return Ok(Vec::new());
    }
    let first_extra = pairs.len();
    if let Some(polled) = polled {
        for side in [Side::Salesforce, Side::Monday] {
            let core = CoreSide::from(side);
            let in_pairs: BTreeSet<&str> = pairs.iter().filter_map(|p| p.id_on(core)).collect();
            let fresh: Vec<&pb::Record> = polled
                .records(side)
                .iter()
                .filter(|r| !r.deleted && !in_pairs.contains(r.id.as_str()))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let ids: Vec<String> = fresh.iter().map(|r| r.id.clone()).collect();
            let linked = deps.store.linked_ids(settings.id(), side, &ids).await?;
            pairs.extend(
                fresh
                    .into_iter()
                    .filter(|r| !linked.contains(&r.id))
                    .map(|r| Pair::unlinked(core, r.clone())),
            );
        }
    }
    let ctx = settings.convert_context()?;
    Ok(adopt(pairs, first_extra, &intents, settings, &ctx))
}

/// The pure half: pairs each intent's source with the record its create made, drops the
/// adopted records' own pairs and the candidates from `first_extra` on that nobody adopted.
pub fn adopt(
    pairs: &mut Vec<Pair>,
    first_extra: usize,
    intents: &[OpenIntent],
    settings: &Settings,
    ctx: &ConvertContext<'_>,
) -> Vec<Note> {
    let mut notes = Vec::new();
    let mut taken: BTreeSet<usize> = BTreeSet::new();
    // Never linked, never adopted, and holding a record on `side` only.
    let alone_on = |p: &Pair, side: CoreSide| {
        p.shadow.is_none()
            && p.adopted_intent.is_none()
            && match side {
                CoreSide::Salesforce => p.monday_id.is_none() && p.salesforce.is_some(),
                CoreSide::Monday => p.salesforce_id.is_none() && p.monday.is_some(),
            }
    };
    for intent in intents {
        let Some(target) = Side::from_code(intent.target_side).map(CoreSide::from) else {
            continue;
        };
        let source_side = crate::pairs::other(target);
        let Some(source) = pairs.iter().position(|p| {
            alone_on(p, source_side)
                && p.id_on(source_side) == Some(intent.source_record_id.as_str())
        }) else {
            continue;
        };
        let candidate = |i: usize, p: &Pair| !taken.contains(&i) && alone_on(p, target);
        let found = match (&intent.target_record_id, target) {
            (Some(made), _) => pairs
                .iter()
                .enumerate()
                .position(|(i, p)| candidate(i, p) && p.id_on(target) == Some(made.as_str())),
            (None, CoreSide::Salesforce) => {
                let Some(item) = &pairs[source].monday else {
                    continue;
                };
                let read = records::read_monday(&settings.rules.mappings, item, &settings.users);
                let Decision::Create { payload, .. } =
                    merge::plan_unlinked(&settings.rules, CoreSide::Monday, read.state, ctx)
                else {
                    continue;
                };
                pairs.iter().enumerate().position(|(i, p)| {
                    candidate(i, p)
                        && p.salesforce.as_ref().is_some_and(|r| {
                            records::carries_mapped(&settings.rules.mappings, r, &payload)
                        })
                })
            }
            (None, CoreSide::Monday) => None,
        };
        let Some(found) = found else { continue };
        taken.insert(found);
        let adopted = std::mem::take(&mut pairs[found]);
        let pair = &mut pairs[source];
        match target {
            CoreSide::Salesforce => {
                pair.salesforce_id = adopted.salesforce_id;
                pair.salesforce = adopted.salesforce;
            }
            CoreSide::Monday => {
                pair.monday_id = adopted.monday_id;
                pair.monday = adopted.monday;
            }
        }
        pair.relink = true;
        pair.adopted_intent = Some(intent.idempotency_key.clone());
        notes.push(Note::new(
            source_side,
            &intent.source_record_id,
            pair.id_on(target).unwrap_or_default(),
            pb::EventAction::Skipped,
            "created by an earlier attempt whose link was lost; linked, not created again",
        ));
    }
    let mut index = 0;
    pairs.retain(|p| {
        let keep = !taken.contains(&index) && (index < first_extra || p.adopted_intent.is_some());
        index += 1;
        keep
    });
    notes
}
