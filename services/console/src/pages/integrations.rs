//! GET /: the account's integrations with their state, owner, runs, failing records, lag and
//! each side's API budget; filters failing, paused and mine.

use axum::extract::{Query, State};
use futures_util::future::join_all;
use maud::Markup;
use serde::Deserialize;
use tandem_proto::v1 as pb;

use crate::error::Error;
use crate::server::{AppState, SignedIn};
use crate::templates;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub failing: Option<String>,
    pub paused: Option<String>,
    pub mine: Option<String>,
    /// The page token of the page to show.
    #[serde(default)]
    pub page: String,
}

impl Filters {
    pub fn any(&self) -> bool {
        self.failing.is_some() || self.paused.is_some() || self.mine.is_some()
    }
}

/// One integration with what the orchestrator says about it (or why it could not).
pub struct Row {
    pub integration: pb::Integration,
    pub status: Result<pb::IntegrationStatus, String>,
}

impl Row {
    pub fn failing(&self) -> bool {
        self.status.as_ref().is_ok_and(|s| s.failing_records > 0)
    }
}

/// Whether `row` passes `filters` for the user `email`.
pub fn keep(row: &Row, filters: &Filters, email: &str) -> bool {
    (filters.failing.is_none() || row.failing())
        && (filters.paused.is_none()
            || row.integration.state == pb::IntegrationState::Paused as i32)
        && (filters.mine.is_none() || tandem_service::same_email(&row.integration.owner, email))
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(filters): Query<Filters>,
) -> Result<Markup, Error> {
    let calls = state.backend.as_user(&signed.user);
    let page = calls.integrations(filters.page.clone()).await?;
    let statuses = join_all(
        page.integrations
            .iter()
            .map(|integration| calls.status(&integration.id)),
    )
    .await;
    let total = page.integrations.len();
    let rows: Vec<Row> = page
        .integrations
        .into_iter()
        .zip(statuses)
        .map(|(integration, status)| Row {
            integration,
            status: status.map_err(|e| e.to_string()),
        })
        .filter(|row| keep(row, &filters, &signed.user.email))
        .collect();
    let next = page.page.map(|p| p.next_page_token).unwrap_or_default();
    Ok(templates::integrations::page(
        &signed, &filters, &rows, total, &next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(owner: &str, state: pb::IntegrationState, failing: u64) -> Row {
        Row {
            integration: pb::Integration {
                owner: owner.into(),
                state: state as i32,
                ..Default::default()
            },
            status: Ok(pb::IntegrationStatus {
                failing_records: failing,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn filters_keep_failing_paused_and_mine() {
        let rows = [
            row("ada@acme.test", pb::IntegrationState::Active, 0),
            row("ada@acme.test", pb::IntegrationState::Paused, 2),
            row("bob@acme.test", pb::IntegrationState::Active, 1),
        ];
        let on = || Some("on".to_owned());
        let count = |filters: Filters| {
            rows.iter()
                .filter(|r| keep(r, &filters, "Ada@acme.test"))
                .count()
        };
        assert_eq!(count(Filters::default()), 3);
        assert_eq!(
            count(Filters {
                failing: on(),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            count(Filters {
                paused: on(),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            count(Filters {
                mine: on(),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            count(Filters {
                mine: on(),
                failing: on(),
                ..Default::default()
            }),
            1
        );
    }
}
