//! GET /setup/choose: with a monday and a Salesforce connection chosen, the boards and the
//! objects they reach, and a name; the form goes on to the mapping editor.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tandem_proto::v1 as pb;

use super::Problems;
use super::connections::{Selected, render, view};
use crate::error::Error;
use crate::server::{AppState, SignedIn};
use crate::templates;

/// What the page shows.
pub struct View {
    pub selected: Selected,
    pub boards: Vec<pb::BoardSummary>,
    pub objects: Vec<pb::SObjectSummary>,
}

pub async fn page(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(selected): Query<Selected>,
) -> Result<Response, Error> {
    let mut problems = Problems::default();
    if selected.monday.is_empty() {
        problems.add(
            "monday_connection_id",
            "choose a monday connection, or connect monday first",
        );
    }
    if selected.salesforce.is_empty() {
        problems.add(
            "salesforce_connection_id",
            "choose a Salesforce connection, or connect Salesforce first",
        );
    }
    if problems.is_empty() {
        let calls = state.backend.as_user(&signed.user);
        let (boards, objects) = tokio::join!(
            calls.boards(&selected.monday),
            calls.objects(&selected.salesforce)
        );
        match (boards, objects) {
            (Ok(boards), Ok(objects)) => {
                let view = View {
                    selected,
                    boards,
                    objects,
                };
                return Ok(templates::setup::choose::page(&signed, &view).into_response());
            }
            (boards, objects) => {
                for (answer, field) in [
                    (boards.err(), "monday_connection_id"),
                    (objects.err(), "salesforce_connection_id"),
                ] {
                    if let Some(error) = answer {
                        for (_, messages) in Problems::from_refusal(error, field)?.0 {
                            for m in messages {
                                // The service names the setting itself: keep one prefix.
                                let m = m
                                    .strip_prefix(&format!("{field}: "))
                                    .unwrap_or(&m)
                                    .to_owned();
                                problems.add(field, m);
                            }
                        }
                    }
                }
            }
        }
    }
    render(
        &state,
        &signed,
        view(selected, problems),
        StatusCode::BAD_REQUEST,
    )
    .await
}
