//! GET /runs/{id}: a run and its events — record names, direction, before/after values as
//! run history shows them to this user (hidden for non-owners and sensitive mappings).

use axum::extract::{Path, Query, State};
use maud::Markup;
use serde::Deserialize;
use tandem_proto::v1 as pb;

use crate::error::Error;
use crate::server::{AppState, SignedIn};
use crate::templates;

/// Events per page.
const PAGE: u32 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct RunQuery {
    /// The page token of older events.
    #[serde(default)]
    pub page: String,
}

pub async fn show(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<RunQuery>,
) -> Result<Markup, Error> {
    let calls = state.backend.as_user(&signed.user);
    let run = calls.run(&id).await?;
    let integration = calls.integration(&run.integration_id).await.ok();
    let page = calls
        .events(&id, pb::EventAction::Unspecified, PAGE, query.page.clone())
        .await?;
    let next = page.page.map(|p| p.next_page_token).unwrap_or_default();
    Ok(templates::run::page(
        &signed,
        &run,
        integration.as_ref(),
        &page.events,
        &next,
    ))
}
