//! Step 8 of a run: what happened, for run history — counters and one event per record
//! outcome (created, updated, skipped with its reason, failed with the remote's message,
//! conflict, unlinked), and the run's start and finish.

use std::collections::BTreeSet;

use tandem_catalog::Rules;
use tandem_core::merge::{Action, Record, Side as CoreSide};
use tandem_core::{MergePlan, Shadow, SideState, Value};
use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::run::CycleError;

/// Events sent to run history per AppendEvents call.
const EVENTS_PER_CALL: usize = 5_000;

/// A record's outcome as a step decided it, before it becomes a run-history event.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub source: CoreSide,
    pub source_id: String,
    /// The partner's id; empty when there is none (yet).
    pub target_id: String,
    pub action: pb::EventAction,
    pub reason: String,
    pub errors: Vec<pb::RemoteError>,
    /// What moved (or was to move), field by field; for a conflict, both sides and the winner.
    pub changes: Vec<pb::FieldChange>,
}

impl Note {
    pub fn new(
        source: CoreSide,
        source_id: &str,
        target_id: &str,
        action: pb::EventAction,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            source,
            source_id: source_id.to_owned(),
            target_id: target_id.to_owned(),
            action,
            reason: reason.into(),
            errors: Vec::new(),
            changes: Vec::new(),
        }
    }

    pub fn with_changes(mut self, changes: Vec<pb::FieldChange>) -> Self {
        self.changes = changes;
        self
    }

    /// Values that could not be converted, by field: one `CONVERSION` error each.
    pub fn with_conversion_errors(mut self, errors: Vec<(String, String)>) -> Self {
        self.errors = errors
            .into_iter()
            .map(|(field, message)| pb::RemoteError {
                code: "CONVERSION".to_owned(),
                message,
                fields: vec![field],
                ..Default::default()
            })
            .collect();
        self
    }
}

/// Counters and events of the run being recorded.
#[derive(Default)]
pub struct Outcome {
    pub counters: pb::RunCounters,
    pub events: Vec<pb::RecordEvent>,
}

impl Outcome {
    /// Records what a step decided about one record.
    pub fn note(&mut self, note: Note) -> &mut pb::RecordEvent {
        let e = self.event(
            note.source,
            &note.source_id,
            &note.target_id,
            note.action,
            note.reason,
        );
        e.errors = note.errors;
        e.changes = note.changes;
        e
    }

    /// Gives every error of every event the kinds of the mapping it concerns (the field it
    /// names, on the target or the source side), so run history suggests a fix that fits; a
    /// field no mapping supplies keeps an empty source kind.
    pub fn kind_errors(&mut self, rules: &Rules) {
        for e in &mut self.events {
            let from_monday = e.source_side == pb::Side::Monday as i32;
            // A write of one field: an error that names none is about that one.
            let only = match e.changes.as_slice() {
                [one] => Some(one.field.clone()),
                _ => None,
            };
            for error in &mut e.errors {
                if error.fields.is_empty()
                    && let Some(field) = &only
                {
                    error.fields.push(field.clone());
                }
                let mapping = rules.mappings.iter().find(|m| {
                    error
                        .fields
                        .iter()
                        .any(|f| f.as_str() == m.salesforce_key() || f.as_str() == m.monday_key())
                });
                if let Some(m) = mapping {
                    let (sf, mo) = (m.salesforce.kind.name(), m.monday.kind.name());
                    let (source, target) = if from_monday { (mo, sf) } else { (sf, mo) };
                    error.source_kind = source.to_owned();
                    error.target_kind = target.to_owned();
                }
            }
        }
    }

    /// Gives every event the display names of its records, where `names` knows them (by side
    /// and record id) and the event has none yet.
    pub fn name_records(&mut self, names: &Names) {
        for e in &mut self.events {
            let source = pb::Side::try_from(e.source_side).unwrap_or_default();
            let target = pb::Side::try_from(e.target_side).unwrap_or_default();
            if e.source_name.is_empty() {
                e.source_name = names.get(source, &e.source_record_id);
            }
            if e.target_name.is_empty() {
                e.target_name = names.get(target, &e.target_record_id);
            }
            if e.target_name.is_empty() && e.action == pb::EventAction::Created as i32 {
                e.target_name = names.written(target, &e.changes);
            }
        }
    }

    pub fn notes(&mut self, notes: impl IntoIterator<Item = Note>) {
        for note in notes {
            self.note(note);
        }
    }

    /// What a dry run would have written: a create (no `target_id`) or an update, with values.
    pub fn dry_run(
        &mut self,
        source: CoreSide,
        source_id: &str,
        target_id: &str,
        where_: &str,
        changes: &[pb::FieldChange],
    ) {
        let (action, verb) = if target_id.is_empty() {
            (pb::EventAction::Created, "create")
        } else {
            (pb::EventAction::Updated, "update")
        };
        let e = self.event(
            source,
            source_id,
            target_id,
            action,
            format!("dry run: would {verb} {where_}"),
        );
        e.changes = changes.to_vec();
    }

    pub fn event(
        &mut self,
        source: CoreSide,
        source_id: &str,
        target_id: &str,
        action: pb::EventAction,
        reason: String,
    ) -> &mut pb::RecordEvent {
        let side = pb::Side::from(crate::store::Side::from(source));
        let target = pb::Side::from(crate::store::Side::from(crate::pairs::other(source)));
        let key = format!("{}-{}-{}", self.events.len(), side.as_str_name(), source_id);
        self.events.push(pb::RecordEvent {
            key,
            source_side: side as i32,
            target_side: target as i32,
            source_record_id: source_id.to_owned(),
            target_record_id: target_id.to_owned(),
            action: action as i32,
            reason,
            ..Default::default()
        });
        match action {
            pb::EventAction::Created => self.counters.created += 1,
            pb::EventAction::Updated => self.counters.updated += 1,
            pb::EventAction::Skipped => self.counters.skipped += 1,
            pb::EventAction::Failed => self.counters.failed += 1,
            pb::EventAction::Conflict => self.counters.conflicts += 1,
            _ => {}
        }
        self.events
            .last_mut()
            .unwrap_or_else(|| unreachable!("just pushed"))
    }
}

/// Opens the run in run history.
pub async fn start(
    deps: &Deps,
    integration: &pb::Integration,
    trigger: pb::Trigger,
) -> Result<pb::Run, CycleError> {
    Ok(deps
        .peers
        .history
        .clone()
        .start_run(pb::StartRunRequest {
            integration_id: integration.id.clone(),
            owner: integration.owner.clone(),
            trigger: trigger as i32,
            account: integration.account.clone(),
        })
        .await?
        .into_inner())
}

/// Sends the run's events and closes it with its status: failed when the work failed,
/// partially failed when a record did.
pub async fn finish(
    deps: &Deps,
    run: &pb::Run,
    outcome: Outcome,
    result: &Result<(), CycleError>,
) -> Result<pb::Run, CycleError> {
    let mut history = deps.peers.history.clone();
    let (status, error) = match result {
        Ok(()) if outcome.counters.failed > 0 => (pb::RunStatus::PartiallyFailed, String::new()),
        Ok(()) => (pb::RunStatus::Succeeded, String::new()),
        Err(e) => (pb::RunStatus::Failed, run_error(e)),
    };
    append(deps, &run.id, &outcome.events).await?;
    Ok(history
        .finish_run(pb::FinishRunRequest {
            run_id: run.id.clone(),
            status: status as i32,
            counters: Some(outcome.counters),
            error,
        })
        .await?
        .into_inner())
}

/// Sends events of a run still open (an import sends each page's as the page is committed).
pub async fn append(
    deps: &Deps,
    run_id: &str,
    events: &[pb::RecordEvent],
) -> Result<(), CycleError> {
    let mut history = deps.peers.history.clone();
    for chunk in events.chunks(EVENTS_PER_CALL) {
        history
            .append_events(pb::AppendEventsRequest {
                run_id: run_id.to_owned(),
                events: chunk.to_vec(),
            })
            .await?;
    }
    Ok(())
}

/// Closes a run whose replica stopped before it could (found when its lease was taken over).
/// A run that was closed after all is left as it is.
pub async fn abandon(deps: &Deps, run_id: &str) -> Result<(), CycleError> {
    let closed = deps
        .peers
        .history
        .clone()
        .finish_run(pb::FinishRunRequest {
            run_id: run_id.to_owned(),
            status: pb::RunStatus::Failed as i32,
            counters: None,
            error: "abandoned: the replica running it stopped before it finished; the next run \
                    replays what it had begun"
                .to_owned(),
        })
        .await;
    match closed {
        Ok(_) => Ok(()),
        Err(s) if s.code() == tonic::Code::FailedPrecondition => Ok(()),
        Err(s) => Err(s.into()),
    }
}

/// Display names of the records a run saw, by side and id: a Salesforce record's name field
/// (`Name`, or `Subject`/`CaseNumber` where the object has no `Name`), a monday item's name.
#[derive(Debug, Default)]
pub struct Names {
    by_id: std::collections::HashMap<(i32, String), String>,
    /// The Salesforce field that names a record, when the object has one.
    salesforce_field: Option<String>,
}

impl Names {
    pub fn of(pairs: &[crate::pairs::Pair], salesforce_field: Option<&str>) -> Self {
        let mut names = Names {
            by_id: Default::default(),
            salesforce_field: salesforce_field.map(str::to_owned),
        };
        for pair in pairs {
            if let (Some(r), Some(field)) = (&pair.salesforce, salesforce_field) {
                names.add(pb::Side::Salesforce, &r.id, r.fields.get(field));
            }
            if let Some(r) = &pair.monday {
                names.add(pb::Side::Monday, &r.id, r.fields.get("name"));
            }
        }
        names
    }

    fn add(&mut self, side: pb::Side, id: &str, json: Option<&String>) {
        if let Some(name) = json.and_then(|j| serde_json::from_str::<String>(j).ok()) {
            self.by_id.insert((side as i32, id.to_owned()), name);
        }
    }

    fn get(&self, side: pb::Side, id: &str) -> String {
        self.by_id
            .get(&(side as i32, id.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The name a write gave a record on `side`, from the event's changes (a create).
    fn written(&self, side: pb::Side, changes: &[pb::FieldChange]) -> String {
        let field = match side {
            pb::Side::Monday => Some("name"),
            _ => self.salesforce_field.as_deref(),
        };
        changes
            .iter()
            .find(|c| Some(c.field.as_str()) == field && !c.redacted)
            .and_then(|c| serde_json::from_str::<String>(&c.after).ok())
            .unwrap_or_default()
    }
}

/// The run's error as a sentence a user can act on: what failed and the remote's own message,
/// never a debug print of a gRPC status.
pub fn run_error(error: &CycleError) -> String {
    let CycleError::Remote(status) = error else {
        return error.to_string();
    };
    let what = match status.code() {
        tonic::Code::ResourceExhausted => {
            "a remote's API budget is spent; the next run picks up where this one stopped"
        }
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
            "a service or remote could not be reached; the next run retries"
        }
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
            "a connection's credentials were refused; reconnect it"
        }
        tonic::Code::NotFound => "something the integration uses no longer exists",
        tonic::Code::FailedPrecondition | tonic::Code::InvalidArgument => {
            "the integration's settings no longer fit the board or the object"
        }
        _ => "the run failed",
    };
    let message = status.message().trim();
    if message.is_empty() {
        format!("{what}.")
    } else {
        format!("{what}: {message}")
    }
}

/// JSON text of a value as its side shows it: a JSON string, or `null` when empty.
pub fn shown(value: &Value) -> String {
    serde_json::to_string(&value.display_text()).unwrap_or_default()
}

/// What moved in one linked pair's merge, by the side it goes to: (to Salesforce, to monday).
/// `salesforce` and `monday` are what each side holds now (a field not read holds its
/// shadow). A conflict's change carries both sides' values and the winner; a failed field's
/// `after` is the value that could not be written, as its source holds it.
pub fn field_changes(
    plan: &MergePlan,
    shadow: &Shadow,
    salesforce: &SideState,
    monday: &SideState,
    sensitive: &BTreeSet<String>,
) -> (Vec<pb::FieldChange>, Vec<pb::FieldChange>) {
    let (mut to_salesforce, mut to_monday) = (Vec::new(), Vec::new());
    for d in &plan.fields {
        let (sk, mk) = (d.salesforce_field.as_str(), d.monday_column.as_str());
        let now = |state: &SideState, agreed: &Record, key: &str| {
            state
                .values
                .get(key)
                .or_else(|| agreed.get(key))
                .cloned()
                .unwrap_or_default()
        };
        let sf = now(salesforce, &shadow.salesforce, sk);
        let mo = now(monday, &shadow.monday, mk);
        let (target, field, source_field, before, after) = match (&d.action, d.from) {
            (Action::PushToSalesforce { value, .. }, _) => (&mut to_salesforce, sk, mk, &sf, value),
            (Action::PushToMonday { value, .. }, _) => (&mut to_monday, mk, sk, &mo, value),
            (Action::Failed(_), Some(CoreSide::Monday)) => (&mut to_salesforce, sk, mk, &sf, &mo),
            (Action::Failed(_), Some(CoreSide::Salesforce)) => (&mut to_monday, mk, sk, &mo, &sf),
            _ => continue,
        };
        let mut change = pb::FieldChange {
            field: field.to_owned(),
            source_field: source_field.to_owned(),
            before: shown(before),
            after: shown(after),
            ..Default::default()
        };
        if let Some(winner) = d.conflict {
            change.salesforce_value = shown(&sf);
            change.monday_value = shown(&mo);
            change.winner = pb::Side::from(crate::store::Side::from(winner)) as i32;
        }
        target.push(redacted(
            change,
            sensitive.contains(sk) || sensitive.contains(mk),
        ));
    }
    (to_salesforce, to_monday)
}

/// What a create writes: every field of `written` (the target's values in the create's
/// shadow) from the source's, nothing before.
pub fn created_changes(
    rules: &Rules,
    target: CoreSide,
    shadow: &Shadow,
    payload_keys: impl Fn(&str) -> bool,
) -> Vec<pb::FieldChange> {
    rules
        .mappings
        .iter()
        .filter_map(|m| {
            let (sk, mk) = (m.salesforce_key(), m.monday_key());
            let (field, source_field, written) = match target {
                CoreSide::Salesforce => (sk, mk, shadow.salesforce.get(sk)?),
                CoreSide::Monday => (mk, sk, shadow.monday.get(mk)?),
            };
            if !payload_keys(field) {
                return None;
            }
            let change = pb::FieldChange {
                field: field.to_owned(),
                source_field: source_field.to_owned(),
                before: shown(&Value::Null),
                after: shown(written),
                ..Default::default()
            };
            Some(redacted(
                change,
                rules.sensitive.contains(sk) || rules.sensitive.contains(mk),
            ))
        })
        .collect()
}

/// The change without its values when the mapping is sensitive (they are never sent).
fn redacted(change: pb::FieldChange, sensitive: bool) -> pb::FieldChange {
    if !sensitive {
        return change;
    }
    pb::FieldChange {
        field: change.field,
        source_field: change.source_field,
        winner: change.winner,
        redacted: true,
        ..Default::default()
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
