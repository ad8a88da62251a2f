//! The three-way merge of one linked record pair.
//!
//! The *shadow* holds, per mapping, the last values both sides agreed on — each in its own
//! side's canonical shape (Salesforce field name → value, monday column id → value). A side
//! changed a field when its current value differs from its shadow. Only changed fields move;
//! when both changed, the [`ConflictPolicy`] decides. A value equal to its shadow is no
//! change: Tandem's own write, read back on the next poll, moves nothing (echo suppression).
//!
//! How the orchestrator uses it:
//! 1. read both sides into [`SideState`]s (fields not read count as unchanged);
//! 2. `let plan = merge(&shadow, &sf, &monday, &mappings, policy, &ctx);`
//! 3. send [`MergePlan::salesforce_payload`] and [`MergePlan::monday_column_values`] (already
//!    checked by each side's writer: field length, restricted picklist, labels on the board,
//!    known people) and report [`MergePlan::failures`] per record;
//! 4. once the writes succeeded, store [`MergePlan::next_shadow`].

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use serde_json::{Map, Value as Json};

use crate::convert::{ConvertContext, monday, salesforce, to_monday, to_salesforce};
use crate::{CoreError, Direction, FieldMapping, Value};

/// Field values keyed by Salesforce field name or monday column id.
pub type Record = BTreeMap<String, Value>;

/// The last agreed values of a linked pair, one record per side.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Shadow {
    pub salesforce: Record,
    pub monday: Record,
}

/// One side's current values and when they changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SideState {
    /// Current values; a key missing here counts as unchanged since the shadow.
    pub values: Record,
    /// Per-field change times, where the side reports them (monday `changed_at`, coalesced
    /// changes).
    #[serde(default)]
    pub changed_at: BTreeMap<String, Timestamp>,
    /// The record's change time (Salesforce `SystemModstamp`, monday `updated_at`), used
    /// when a field has no time of its own.
    #[serde(default)]
    pub record_changed_at: Option<Timestamp>,
}

impl SideState {
    /// Current values, all changed at `at`.
    pub fn new(values: Record, at: Option<Timestamp>) -> Self {
        Self {
            values,
            changed_at: BTreeMap::new(),
            record_changed_at: at,
        }
    }

    fn time_of(&self, key: &str) -> Option<Timestamp> {
        self.changed_at.get(key).copied().or(self.record_changed_at)
    }
}

/// Who wins when both sides changed one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The side whose change is newer (per-field time, else record time). On a tie, or when
    /// neither side has a time, Salesforce wins.
    #[default]
    NewestWins,
    SalesforceWins,
    MondayWins,
}

/// A side of the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Salesforce,
    Monday,
}

/// What to do with one mapped field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    NoOp,
    /// Write to the Salesforce field: `value` is canonical (Salesforce-shaped), `json` what
    /// goes into the sObject body (already checked by the Salesforce writer).
    PushToSalesforce {
        value: Value,
        json: Json,
    },
    /// Write to the monday column: `value` is canonical (monday-shaped), `json` what goes
    /// under the column id in `column_values` (already checked by the monday writer).
    PushToMonday {
        value: Value,
        json: Json,
    },
    /// The value could not be converted; report it for this record.
    Failed(CoreError),
}

/// The decision for one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDecision {
    pub salesforce_field: String,
    pub monday_column: String,
    pub action: Action,
    /// `Some(winner)` when both sides had changed the field differently.
    pub conflict: Option<Side>,
    /// The side whose changed value the field takes (or failed to take); `None` when neither
    /// side changed it.
    pub from: Option<Side>,
}

/// The result of [`merge()`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// One decision per mapping, in mapping order.
    pub fields: Vec<FieldDecision>,
    /// The shadow to store once the pushes are written.
    pub next_shadow: Shadow,
}

impl MergePlan {
    /// Fields to write to Salesforce (field name → Salesforce-shaped canonical value).
    pub fn salesforce_updates(&self) -> Record {
        self.fields
            .iter()
            .filter_map(|d| match &d.action {
                Action::PushToSalesforce { value, .. } => {
                    Some((d.salesforce_field.clone(), value.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Columns to write to monday (column id → monday-shaped canonical value).
    pub fn monday_updates(&self) -> Record {
        self.fields
            .iter()
            .filter_map(|d| match &d.action {
                Action::PushToMonday { value, .. } => {
                    Some((d.monday_column.clone(), value.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The Salesforce update body: field name → JSON value (add `attributes` and `id` for
    /// sObject Collections).
    pub fn salesforce_payload(&self) -> Map<String, Json> {
        self.fields
            .iter()
            .filter_map(|d| match &d.action {
                Action::PushToSalesforce { json, .. } => {
                    Some((d.salesforce_field.clone(), json.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// monday `column_values`: column id → JSON value. Serialise it to a string for the
    /// `column_values: JSON` argument of `change_multiple_column_values`.
    pub fn monday_column_values(&self) -> Map<String, Json> {
        self.fields
            .iter()
            .filter_map(|d| match &d.action {
                Action::PushToMonday { json, .. } => Some((d.monday_column.clone(), json.clone())),
                _ => None,
            })
            .collect()
    }

    /// Per-field failures, to report for this record.
    pub fn failures(&self) -> impl Iterator<Item = (&FieldDecision, &CoreError)> {
        self.fields.iter().filter_map(|d| match &d.action {
            Action::Failed(e) => Some((d, e)),
            _ => None,
        })
    }

    /// True when nothing is to be written and nothing failed.
    pub fn is_noop(&self) -> bool {
        self.fields.iter().all(|d| d.action == Action::NoOp)
    }
}

/// Merges the current values of a linked pair against their shadow, field by field.
///
/// Honours each mapping's [`FieldMapping::effective_direction`]: a change never flows against
/// the mapping's direction nor towards a read-only side (such changes are ignored and the
/// shadow keeps its old value). In a one-way mapping the source side always wins.
/// A missing shadow entry counts as `Null` (first sync of a pair: differing values are a
/// conflict resolved by the policy).
///
/// A mapping whose value cannot be converted fails alone ([`Action::Failed`], naming its
/// field and column); the others go ahead. The failed mapping's field and column keep their
/// old shadow values in [`MergePlan::next_shadow`] — even when another mapping shares the
/// field — so the next run sees the change again and retries it (the mappings that succeeded
/// then find their target already holding the value and write nothing). When the failed
/// mapping was a conflict, the loser's current value enters the shadow: the conflict stays
/// decided while the winner's value waits to be written.
pub fn merge(
    shadow: &Shadow,
    salesforce_now: &SideState,
    monday_now: &SideState,
    mappings: &[FieldMapping],
    policy: ConflictPolicy,
    ctx: &ConvertContext<'_>,
) -> MergePlan {
    let mut next = shadow.clone();
    let mut fields = Vec::with_capacity(mappings.len());
    // Keys of failed mappings: their old shadow is put back at the end, even when another
    // mapping of the same field or column succeeded, so the failed one is retried next run.
    let mut failed: Vec<(&str, &str)> = Vec::new();
    // Conflicts whose winner could not be written: the loser's value is taken as overruled
    // (stored in the shadow as it is now), so a retry sees only the winner's change and does
    // not resolve the conflict again — record times move with every write to the record, and
    // a second resolution could pick the other side and overwrite the winner.
    let mut overruled: Vec<(Side, &str, &Value)> = Vec::new();
    for m in mappings {
        let (sk, mk) = (m.salesforce_key(), m.monday_key());
        let sf_shadow = shadow.salesforce.get(sk).unwrap_or(&Value::Null);
        let mo_shadow = shadow.monday.get(mk).unwrap_or(&Value::Null);
        let sf = salesforce_now.values.get(sk).unwrap_or(sf_shadow);
        let mo = monday_now.values.get(mk).unwrap_or(mo_shadow);
        let sf_changed = sf != sf_shadow;
        let mo_changed = mo != mo_shadow;
        let dir = m.effective_direction();
        let can_to_monday = dir.is_some_and(Direction::to_monday);
        let can_to_sf = dir.is_some_and(Direction::to_salesforce);

        let mut decision = FieldDecision {
            salesforce_field: sk.to_owned(),
            monday_column: mk.to_owned(),
            action: Action::NoOp,
            conflict: None,
            from: None,
        };
        let winner = match (sf_changed && can_to_monday, mo_changed && can_to_sf) {
            (false, false) => None,
            (true, false) => Some(Side::Salesforce),
            (false, true) => Some(Side::Monday),
            (true, true) => {
                // Both moved: equal after conversion is agreement, not conflict.
                if to_monday(m, sf, ctx).is_ok_and(|t| &t == mo) {
                    next.salesforce.insert(sk.to_owned(), sf.clone());
                    next.monday.insert(mk.to_owned(), mo.clone());
                    fields.push(decision);
                    continue;
                }
                let w = resolve(policy, salesforce_now.time_of(sk), monday_now.time_of(mk));
                decision.conflict = Some(w);
                Some(w)
            }
        };
        decision.from = winner;
        match winner {
            None => {}
            Some(Side::Salesforce) => match push_to_monday(m, sf, mo, ctx) {
                Ok((t, json)) => {
                    if let Some(json) = json {
                        decision.action = Action::PushToMonday {
                            value: t.clone(),
                            json,
                        };
                    }
                    next.salesforce.insert(sk.to_owned(), sf.clone());
                    next.monday.insert(mk.to_owned(), t);
                }
                Err(e) => decision.action = Action::Failed(e),
            },
            Some(Side::Monday) => match push_to_salesforce(m, mo, sf, ctx) {
                Ok((t, json)) => {
                    if let Some(json) = json {
                        decision.action = Action::PushToSalesforce {
                            value: t.clone(),
                            json,
                        };
                    }
                    next.monday.insert(mk.to_owned(), mo.clone());
                    next.salesforce.insert(sk.to_owned(), t);
                }
                Err(e) => decision.action = Action::Failed(e),
            },
        }
        if matches!(decision.action, Action::Failed(_)) {
            failed.push((sk, mk));
            match decision.conflict {
                Some(Side::Salesforce) => overruled.push((Side::Monday, mk, mo)),
                Some(Side::Monday) => overruled.push((Side::Salesforce, sk, sf)),
                None => {}
            }
        }
        fields.push(decision);
    }
    for (sk, mk) in failed {
        restore(&mut next.salesforce, &shadow.salesforce, sk);
        restore(&mut next.monday, &shadow.monday, mk);
    }
    for (side, key, value) in overruled {
        let record = match side {
            Side::Salesforce => &mut next.salesforce,
            Side::Monday => &mut next.monday,
        };
        record.insert(key.to_owned(), value.clone());
    }
    MergePlan {
        fields,
        next_shadow: next,
    }
}

/// Puts `key` of `next` back to its value in `old` (or removes it when `old` has none).
fn restore(next: &mut Record, old: &Record, key: &str) {
    match old.get(key) {
        Some(v) => {
            next.insert(key.to_owned(), v.clone());
        }
        None => {
            next.remove(key);
        }
    }
}

/// The monday-shaped value for `sf`, and its JSON unless monday already holds it.
fn push_to_monday(
    m: &FieldMapping,
    sf: &Value,
    mo: &Value,
    ctx: &ConvertContext<'_>,
) -> Result<(Value, Option<Json>), CoreError> {
    let t = to_monday(m, sf, ctx)?;
    if &t == mo {
        return Ok((t, None));
    }
    let json = monday::write(&m.monday, &t, &m.options, ctx.users)?;
    Ok((t, Some(json)))
}

/// The Salesforce-shaped value for `mo`, and its JSON unless Salesforce already holds it.
fn push_to_salesforce(
    m: &FieldMapping,
    mo: &Value,
    sf: &Value,
    ctx: &ConvertContext<'_>,
) -> Result<(Value, Option<Json>), CoreError> {
    let t = to_salesforce(m, mo, ctx)?;
    if &t == sf {
        return Ok((t, None));
    }
    let json = salesforce::write(&m.salesforce, &t, &m.options)?;
    Ok((t, Some(json)))
}

fn resolve(policy: ConflictPolicy, sf: Option<Timestamp>, monday: Option<Timestamp>) -> Side {
    match policy {
        ConflictPolicy::SalesforceWins => Side::Salesforce,
        ConflictPolicy::MondayWins => Side::Monday,
        ConflictPolicy::NewestWins => {
            if monday > sf {
                Side::Monday
            } else {
                Side::Salesforce
            }
        }
    }
}
