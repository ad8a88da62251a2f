//! GET /integrations/{id}: one integration — its settings, mapping, conditions, status, recent
//! runs, failing records and conflicts, and its owner's actions.

use axum::extract::{Path, State};
use maud::Markup;
use tandem_proto::v1 as pb;

use crate::error::Error;
use crate::server::{AppState, SignedIn};
use crate::templates;

/// How many recent runs the page lists.
const RECENT_RUNS: u32 = 10;
/// How many of the recent runs with failures (or conflicts) are read for their records.
const RUNS_READ_FOR_PROBLEMS: usize = 3;

/// How many of the latest run's conflicts the page shows (the run's page has them all).
pub const CONFLICTS_SHOWN: u32 = 20;

/// The run whose conflicts the page shows: the latest one that wrote or would have written
/// (a preview's are what an import would meet, shown on its own run page), if it had any. An
/// older run's conflicts were settled then; they are on that run's page.
pub fn latest_conflicts(runs: &[pb::Run]) -> Option<&pb::Run> {
    runs.iter()
        .find(|r| r.trigger != pb::Trigger::DryRun as i32)
        .filter(|r| r.counters.unwrap_or_default().conflicts > 0)
}

/// What the page shows.
pub struct View {
    pub integration: pb::Integration,
    pub status: Result<pb::IntegrationStatus, String>,
    pub runs: Vec<pb::Run>,
    /// Failed events of recent runs, newest first, one per record.
    pub failures: Vec<pb::RecordEvent>,
    /// The latest run's conflicts (at most [`CONFLICTS_SHOWN`]), and the run, when it had any.
    pub conflicts: Option<(pb::Run, Vec<pb::RecordEvent>)>,
    /// Whether the signed-in user owns it (and so may act on it).
    pub owner: bool,
    /// The mappings as the board and object describe them (the owner's), or why not.
    pub described: Option<Result<pb::DescribeMappingsResponse, String>>,
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, Error> {
    let calls = state.backend.as_user(&signed.user);
    let integration = calls.integration(&id).await?;
    let (status, runs) = tokio::join!(calls.status(&id), calls.runs(&id, RECENT_RUNS));
    let runs = runs?;
    let mut failures = Vec::new();
    let counters = |run: &pb::Run| run.counters.unwrap_or_default();
    for run in runs
        .iter()
        .filter(|r| counters(r).failed > 0)
        .take(RUNS_READ_FOR_PROBLEMS)
    {
        let page = calls
            .events(&run.id, pb::EventAction::Failed, 50, String::new())
            .await?;
        for event in page.events {
            let seen = failures.iter().any(|f: &pb::RecordEvent| {
                f.source_record_id == event.source_record_id && f.source_side == event.source_side
            });
            if !seen {
                failures.push(event);
            }
        }
    }
    let conflicts = match latest_conflicts(&runs) {
        Some(run) => {
            let events = calls
                .events(
                    &run.id,
                    pb::EventAction::Conflict,
                    CONFLICTS_SHOWN,
                    String::new(),
                )
                .await?
                .events;
            Some((run.clone(), events))
        }
        None => None,
    };
    let owner = tandem_service::same_email(&integration.owner, &signed.user.email);
    let described = if owner {
        Some(
            calls
                .describe_mappings(&id)
                .await
                .map_err(|e| e.to_string()),
        )
    } else {
        None
    };
    let view = View {
        integration,
        status: status.map_err(|e| e.to_string()),
        runs,
        failures,
        conflicts,
        owner,
        described,
    };
    Ok(templates::integration::page(&signed, &view))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, trigger: pb::Trigger, conflicts: u64) -> pb::Run {
        pb::Run {
            id: id.into(),
            trigger: trigger as i32,
            counters: Some(pb::RunCounters {
                conflicts,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_the_latest_runs_conflicts_are_shown() {
        use pb::Trigger::{DryRun, Manual, Schedule};
        let cases: &[(&[pb::Run], Option<&str>)] = &[
            (&[], None),
            (
                &[run("new", Schedule, 2), run("old", Schedule, 5)],
                Some("new"),
            ),
            // The latest had none: an older run's are not shown as if current.
            (&[run("new", Schedule, 0), run("old", Manual, 5)], None),
            // A preview is skipped: the latest run that writes decides.
            (
                &[run("preview", DryRun, 3), run("cycle", Manual, 1)],
                Some("cycle"),
            ),
            (&[run("preview", DryRun, 3), run("cycle", Manual, 0)], None),
        ];
        for (runs, want) in cases {
            let got = latest_conflicts(runs).map(|r| r.id.as_str());
            assert_eq!(got, *want, "{runs:?}");
        }
    }
}
