//! Step 8 of a run: what happened, for run history — counters and one event per record
//! outcome (created, updated, skipped with its reason, failed with the remote's message,
//! conflict, unlinked), and the run's start and finish.

use tandem_core::merge::Side as CoreSide;
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
        }
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
        e
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
        values: &std::collections::HashMap<String, String>,
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
        e.changes = values
            .iter()
            .map(|(k, v)| pb::FieldChange {
                field: k.clone(),
                after: v.clone(),
                ..Default::default()
            })
            .collect();
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
        let key = format!("{}-{}-{}", self.events.len(), side.as_str_name(), source_id);
        self.events.push(pb::RecordEvent {
            key,
            source_side: side as i32,
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
        Err(e) => (pb::RunStatus::Failed, e.to_string()),
    };
    for chunk in outcome.events.chunks(EVENTS_PER_CALL) {
        history
            .append_events(pb::AppendEventsRequest {
                run_id: run.id.clone(),
                events: chunk.to_vec(),
            })
            .await?;
    }
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
