//! GET /: the account's integrations with their state, owner, runs, failing records, lag and
//! each side's API budget, a page at a time; filters failing, paused and mine.
//!
//! mapping-config filters by state and owner and pages with its own tokens. Failing counts
//! live in the orchestrator (its `failing_records` table, read one integration at a time by
//! GetIntegrationStatus, which every row needs anyway), so "failing" keeps the rows of
//! mapping-config's pages that the orchestrator reports failing, reading pages until one page
//! of them is found or [`FAILING_SCAN`] integrations were looked at; the next-page link
//! continues where that stopped.

use axum::extract::{Query, State};
use futures_util::future::join_all;
use maud::Markup;
use serde::Deserialize;
use tandem_proto::v1 as pb;

use crate::backend::Calls;
use crate::error::Error;
use crate::server::{AppState, SignedIn};
use crate::templates;

/// Integrations shown on one page.
pub const PAGE: usize = 50;

/// With "failing", the most integrations one request looks at (a status call each) before it
/// shows what it found and links to the rest.
pub const FAILING_SCAN: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub failing: Option<String>,
    pub paused: Option<String>,
    pub mine: Option<String>,
    /// mapping-config's token of the page to show.
    #[serde(default)]
    pub page: String,
}

impl Filters {
    pub fn any(&self) -> bool {
        self.failing.is_some() || self.paused.is_some() || self.mine.is_some()
    }

    /// The query of the page after this one: the same filters from `token` on.
    pub fn next_query(&self, token: &str) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, on) in [
            ("failing", self.failing.is_some()),
            ("paused", self.paused.is_some()),
            ("mine", self.mine.is_some()),
        ] {
            if on {
                query.append_pair(name, "on");
            }
        }
        query.append_pair("page", token).finish()
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

/// One page of the list.
pub struct Listing {
    pub rows: Vec<Row>,
    /// Integrations looked at (more than `rows` when "failing" left some out).
    pub scanned: usize,
    /// mapping-config's token of the next page; empty on the last.
    pub next: String,
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(filters): Query<Filters>,
) -> Result<Markup, Error> {
    let calls = state.backend.as_user(&signed.user);
    let listing = fetch(&calls, &filters, &signed.user.email).await?;
    Ok(templates::integrations::page(&signed, &filters, &listing))
}

/// The page `filters` asks for, as `email`.
pub async fn fetch(calls: &Calls<'_>, filters: &Filters, email: &str) -> Result<Listing, Error> {
    let state = match filters.paused {
        Some(_) => pb::IntegrationState::Paused,
        None => pb::IntegrationState::Unspecified,
    };
    let owner = if filters.mine.is_some() { email } else { "" };
    let mut listing = Listing {
        rows: Vec::new(),
        scanned: 0,
        next: filters.page.clone(),
    };
    loop {
        // Never more than a page in all: ask only for the rows still missing.
        let want = PAGE - listing.rows.len();
        let page = calls
            .integrations(state, owner, want as u32, std::mem::take(&mut listing.next))
            .await?;
        listing.next = page.page.map(|p| p.next_page_token).unwrap_or_default();
        listing.scanned += page.integrations.len();
        let statuses = join_all(page.integrations.iter().map(|i| calls.status(&i.id))).await;
        let rows = page
            .integrations
            .into_iter()
            .zip(statuses)
            .map(|(integration, status)| Row {
                integration,
                status: status.map_err(|e| e.to_string()),
            });
        listing
            .rows
            .extend(rows.filter(|row| filters.failing.is_none() || row.failing()));
        if filters.failing.is_none()
            || listing.rows.len() >= PAGE
            || listing.next.is_empty()
            || listing.scanned >= FAILING_SCAN
        {
            return Ok(listing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_filters() {
        let on = || Some("on".to_owned());
        let filters = Filters {
            failing: on(),
            mine: on(),
            page: "old".into(),
            ..Default::default()
        };
        assert_eq!(
            filters.next_query("a+b/c="),
            "failing=on&mine=on&page=a%2Bb%2Fc%3D"
        );
        assert_eq!(Filters::default().next_query("t"), "page=t");
    }
}
