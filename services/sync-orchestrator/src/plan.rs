//! Steps 4–6 for a whole run: from its pairs, the writes of each side (with the pair they
//! belong to and the shadow to store once they succeed), the creates to record as intents,
//! the pairs to unlink or to link without a write, and a note of every record's outcome.
//! Pure: no IO and no run-history calls; the notes become events in the history step.

use tandem_catalog::Rules;
use tandem_core::merge::{Action, Side as CoreSide};
use tandem_core::{ConvertContext, Shadow, UserDirectory};
use tandem_proto::v1 as pb;

use crate::history::{self, Note};
use crate::merge::{self, Decision, PendingWrite};
use crate::pairs::Pair;
use crate::records;
use crate::store::Side;

/// One write to a remote, for the pair at `pair`; `shadow` is stored with the link once it
/// succeeded.
#[derive(Debug, Clone)]
pub struct Write<W> {
    pub write: W,
    pub pair: usize,
    pub shadow: Shadow,
    /// What the write changes, field by field (for run history).
    pub changes: Vec<pb::FieldChange>,
    /// A create's target fields that could not be converted and were left out: the remote
    /// may fill them with its default (Salesforce's owner), which is read back after the
    /// create so it is not taken for a user's edit.
    pub left_out: Vec<String>,
}

/// A create, recorded as an intent before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub key: String,
    pub target: Side,
    pub source_id: String,
}

#[derive(Debug, Default)]
pub struct Planned {
    pub salesforce: Vec<Write<pb::RecordWrite>>,
    pub monday: Vec<Write<pb::ItemWrite>>,
    /// Links to end: (Salesforce id, monday id, reason).
    pub unlink: Vec<(String, String, String)>,
    pub intents: Vec<Intent>,
    /// Pairs to link that need no write (re-linked or adopted, already equal).
    pub relinks: Vec<(usize, Shadow)>,
    /// What the writes to linked pairs will lead to, by Salesforce id: recorded before they
    /// are sent.
    pub pending: Vec<(String, PendingWrite)>,
    pub notes: Vec<Note>,
}

/// The decision for every pair. `rules.policy` may be forced by the caller (an import's source
/// side wins).
pub fn plan(
    integration: &str,
    rules: &Rules,
    pairs: &[Pair],
    users: &dyn UserDirectory,
    ctx: &ConvertContext<'_>,
) -> Planned {
    let mut planned = Planned::default();
    for (index, pair) in pairs.iter().enumerate() {
        match (&pair.salesforce_id, &pair.monday_id) {
            (Some(s), Some(m)) => plan_linked(&mut planned, rules, index, pair, (s, m), users, ctx),
            (Some(_), None) | (None, Some(_)) => {
                plan_unlinked(&mut planned, integration, rules, index, pair, users, ctx)
            }
            (None, None) => {}
        }
    }
    planned
}

fn plan_linked(
    planned: &mut Planned,
    rules: &Rules,
    index: usize,
    pair: &Pair,
    (s, m): (&String, &String),
    users: &dyn UserDirectory,
    ctx: &ConvertContext<'_>,
) {
    let sf_deleted = pair.salesforce.as_ref().is_none_or(|r| r.deleted);
    let mo_deleted = pair.monday.as_ref().is_none_or(|r| r.deleted);
    if sf_deleted || mo_deleted {
        let (side, source, target) = if sf_deleted {
            (CoreSide::Salesforce, s, m)
        } else {
            (CoreSide::Monday, m, s)
        };
        let reason = "the record was deleted or archived; deletions are not propagated, the pair is unlinked";
        planned.notes.push(Note::new(
            side,
            source,
            target,
            pb::EventAction::Unlinked,
            reason,
        ));
        planned
            .unlink
            .push((s.clone(), m.clone(), reason.to_owned()));
        return;
    }
    let (Some(sf), Some(mo)) = (&pair.salesforce, &pair.monday) else {
        return;
    };
    let sf_read = records::read_salesforce(&rules.mappings, sf);
    let mo_read = records::read_monday(&rules.mappings, mo, users);
    let mut shadow = pair.shadow.clone().unwrap_or_default();
    if let Some(pending) = &pair.pending {
        shadow = merge::with_landed_writes(&shadow, pending, &sf_read.state, &mo_read.state, rules);
    }
    let plan = merge::plan_linked(
        rules,
        &shadow,
        sf_read.state.clone(),
        mo_read.state.clone(),
        ctx,
    );
    // A pair re-linked, adopted or corrected for an earlier run's writes is stored, and so is
    // a shadow that moved without a write (values that agree, a conflict's overruled side).
    let store_shadow =
        pair.relink || pair.pending.is_some() || pair.shadow.as_ref() != Some(&plan.next_shadow);
    if plan.is_noop() {
        if store_shadow {
            planned.relinks.push((index, plan.next_shadow));
        }
        return;
    }
    let (to_salesforce, to_monday) = history::field_changes(
        &plan,
        &shadow,
        &sf_read.state,
        &mo_read.state,
        &rules.sensitive,
    );
    // A field that cannot be converted fails that field, not the record: the others still
    // move, and the failed one keeps its old shadow so it is tried again. The failure is the
    // target's, of a change coming from the side whose value it was.
    for from in [CoreSide::Salesforce, CoreSide::Monday] {
        let failures: Vec<(String, String)> = plan
            .failures()
            .filter(|(d, _)| d.from == Some(from))
            .map(|(d, e)| {
                let field = match from {
                    CoreSide::Monday => &d.salesforce_field,
                    CoreSide::Salesforce => &d.monday_column,
                };
                (field.clone(), format!("{field}: {e}"))
            })
            .collect();
        if failures.is_empty() {
            continue;
        }
        let reason = failures
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let (source, target, changes) = match from {
            CoreSide::Salesforce => (s, m, &to_monday),
            CoreSide::Monday => (m, s, &to_salesforce),
        };
        let failed: Vec<pb::FieldChange> = changes
            .iter()
            .filter(|c| failures.iter().any(|(f, _)| *f == c.field))
            .cloned()
            .collect();
        planned.notes.push(
            Note::new(from, source, target, pb::EventAction::Failed, reason)
                .with_conversion_errors(failures)
                .with_changes(failed),
        );
    }
    for d in plan.fields.iter().filter(|d| d.conflict.is_some()) {
        let (winner, name, source, target, changes) = match d.conflict {
            Some(CoreSide::Salesforce) => (CoreSide::Salesforce, "Salesforce", s, m, &to_monday),
            _ => (CoreSide::Monday, "monday", m, s, &to_salesforce),
        };
        let change: Vec<pb::FieldChange> = changes
            .iter()
            .filter(|c| c.field == d.salesforce_field || c.field == d.monday_column)
            .cloned()
            .collect();
        planned.notes.push(
            Note::new(
                winner,
                source,
                target,
                pb::EventAction::Conflict,
                format!(
                    "{} ↔ {} changed on both sides; {name} won ({:?} policy)",
                    d.salesforce_field, d.monday_column, rules.policy
                ),
            )
            .with_changes(change),
        );
    }
    let sf_payload = plan.salesforce_payload();
    let mo_payload = plan.monday_column_values();
    if sf_payload.is_empty() && mo_payload.is_empty() {
        if store_shadow {
            planned.relinks.push((index, plan.next_shadow));
        }
        return;
    }
    planned.pending.push((
        s.clone(),
        PendingWrite {
            shadow: plan.next_shadow.clone(),
            salesforce: sf_payload.keys().cloned().collect(),
            monday: mo_payload.keys().cloned().collect(),
        },
    ));
    if !sf_payload.is_empty() {
        planned.salesforce.push(Write {
            write: pb::RecordWrite {
                id: s.clone(),
                fields: records::as_json_text(&sf_payload),
                idempotency_key: String::new(),
            },
            pair: index,
            shadow: plan.next_shadow.clone(),
            changes: written(&to_salesforce, &sf_payload),
            left_out: Vec::new(),
        });
    }
    if !mo_payload.is_empty() {
        planned.monday.push(Write {
            write: pb::ItemWrite {
                id: m.clone(),
                columns: records::as_json_text(&mo_payload),
                idempotency_key: String::new(),
            },
            pair: index,
            shadow: plan.next_shadow.clone(),
            changes: written(&to_monday, &mo_payload),
            left_out: Vec::new(),
        });
    }
    let changes = plan
        .fields
        .iter()
        .filter(|d| !matches!(d.action, Action::NoOp))
        .count();
    tracing::debug!(salesforce_id = %s, monday_id = %m, changes, "pair planned");
}

fn plan_unlinked(
    planned: &mut Planned,
    integration: &str,
    rules: &Rules,
    index: usize,
    pair: &Pair,
    users: &dyn UserDirectory,
    ctx: &ConvertContext<'_>,
) {
    let source = if pair.salesforce_id.is_some() {
        CoreSide::Salesforce
    } else {
        CoreSide::Monday
    };
    let source_id = pair.id_on(source).unwrap_or_default();
    let Some(record) = pair.record_on(source).filter(|r| !r.deleted) else {
        return;
    };
    let read = match source {
        CoreSide::Salesforce => records::read_salesforce(&rules.mappings, record),
        CoreSide::Monday => records::read_monday(&rules.mappings, record, users),
    };
    let key = merge::idempotency_key(integration, source, source_id);
    match merge::plan_unlinked(rules, source, read.state, ctx) {
        Decision::Skip { reason } => {
            planned.notes.push(Note::new(
                source,
                source_id,
                "",
                pb::EventAction::Skipped,
                reason,
            ));
        }
        Decision::Fail { errors } => planned.notes.push(
            Note::new(
                source,
                source_id,
                "",
                pb::EventAction::Failed,
                "values could not be converted",
            )
            .with_conversion_errors(errors),
        ),
        Decision::Create {
            target,
            payload,
            shadow,
            errors,
        } => {
            let left_out: Vec<String> = errors.iter().map(|(f, _)| f.clone()).collect();
            if !errors.is_empty() {
                let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
                let reason = format!(
                    "created without {} (could not be converted); retried later",
                    fields.join(", ")
                );
                planned.notes.push(
                    Note::new(source, source_id, "", pb::EventAction::Failed, reason)
                        .with_conversion_errors(errors),
                );
            }
            let changes =
                history::created_changes(rules, target, &shadow, |f| payload.contains_key(f));
            let target_side = Side::from(target);
            planned.intents.push(Intent {
                key: key.clone(),
                target: target_side,
                source_id: source_id.to_owned(),
            });
            match target_side {
                Side::Monday => planned.monday.push(Write {
                    write: pb::ItemWrite {
                        id: String::new(),
                        columns: records::as_json_text(&payload),
                        idempotency_key: key,
                    },
                    pair: index,
                    shadow,
                    changes,
                    left_out,
                }),
                Side::Salesforce => planned.salesforce.push(Write {
                    write: pb::RecordWrite {
                        id: String::new(),
                        fields: records::as_json_text(&payload),
                        idempotency_key: key,
                    },
                    pair: index,
                    shadow,
                    changes,
                    left_out,
                }),
            }
        }
    }
}

/// The changes of `changes` whose field is in the write's payload.
fn written(
    changes: &[pb::FieldChange],
    payload: &serde_json::Map<String, serde_json::Value>,
) -> Vec<pb::FieldChange> {
    changes
        .iter()
        .filter(|c| payload.contains_key(&c.field))
        .cloned()
        .collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
