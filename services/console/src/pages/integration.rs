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

/// What the page shows.
pub struct View {
    pub integration: pb::Integration,
    pub status: Result<pb::IntegrationStatus, String>,
    pub runs: Vec<pb::Run>,
    /// Failed events of recent runs, newest first, one per record.
    pub failures: Vec<pb::RecordEvent>,
    /// Conflicts of recent runs, newest first.
    pub conflicts: Vec<pb::RecordEvent>,
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
    let mut conflicts = Vec::new();
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
    if let Some(run) = runs.iter().find(|r| counters(r).conflicts > 0) {
        conflicts = calls
            .events(&run.id, pb::EventAction::Conflict, 20, String::new())
            .await?
            .events;
    }
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
