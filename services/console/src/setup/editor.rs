//! GET and POST /setup/mapping: the mapping editor. GET starts from mapping-config's
//! suggestion for the chosen board and object; each POST carries the whole draft (plain form
//! fields, no script), applies the button pressed (add or remove a mapping, a rule, a group),
//! and on Validate or Create asks mapping-config to check it against the live board and
//! object, showing every problem at its field. Create makes the integration PAUSED and goes
//! to its page, where the first import is previewed (a dry run) and run. GET
//! /integrations/{id}/edit opens the same editor on an existing integration (its owner's);
//! Save replaces its settings at the version read.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde::Deserialize;
use tandem_proto::v1 as pb;

use super::Problems;
use super::draft::{Action, Draft, Kinds};
use crate::csrf;
use crate::error::Error;
use crate::server::{AppState, SignedIn};
use crate::templates;

/// What the editor shows.
pub struct View {
    pub draft: Draft,
    /// The suggestion, with the board's columns and the object's fields to choose from.
    pub choices: pb::SuggestMappingResponse,
    pub problems: Problems,
    pub warnings: Vec<pb::ValidationProblem>,
    /// Validated with no problem.
    pub valid: bool,
}

#[derive(Debug, Deserialize)]
pub struct Start {
    #[serde(default)]
    monday: String,
    #[serde(default)]
    salesforce: String,
    #[serde(default)]
    board: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    name: String,
}

fn request_of(draft: &Draft) -> pb::SuggestMappingRequest {
    pb::SuggestMappingRequest {
        monday_connection_id: draft.monday_connection_id.clone(),
        board_id: draft.board_id.clone(),
        salesforce_connection_id: draft.salesforce_connection_id.clone(),
        salesforce_object: draft.salesforce_object.clone(),
    }
}

pub async fn start(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(start): Query<Start>,
) -> Result<Response, Error> {
    if start.board.trim().is_empty() {
        return Err(Error::bad_input("board_id", "choose a board"));
    }
    if start.object.trim().is_empty() {
        return Err(Error::bad_input("salesforce_object", "choose an object"));
    }
    let request = pb::SuggestMappingRequest {
        monday_connection_id: start.monday.trim().to_owned(),
        board_id: start.board.trim().to_owned(),
        salesforce_connection_id: start.salesforce.trim().to_owned(),
        salesforce_object: start.object.trim().to_owned(),
    };
    let choices = state
        .backend
        .as_user(&signed.user)
        .suggest(request.clone())
        .await?;
    let name = match start.name.trim() {
        "" => format!("Board {} ↔ {}", request.board_id, request.salesforce_object),
        name => name.to_owned(),
    };
    let view = View {
        draft: Draft::suggested(name, &request, &choices),
        choices,
        problems: Problems::default(),
        warnings: Vec::new(),
        valid: false,
    };
    Ok(templates::setup::editor::page(&signed, &view).into_response())
}

/// GET /integrations/{id}/edit: the editor on an integration's current settings.
pub async fn edit(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let calls = state.backend.as_user(&signed.user);
    let integration = calls.integration(&id).await?;
    if !tandem_service::same_email(&integration.owner, &signed.user.email) {
        return Err(Error::Service(tonic::Status::permission_denied(format!(
            "integration {id} belongs to {}; only its owner may change it",
            integration.owner
        ))));
    }
    let draft = Draft::of_integration(&integration);
    let choices = calls.suggest(request_of(&draft)).await?;
    let view = View {
        draft,
        choices,
        problems: Problems::default(),
        warnings: Vec::new(),
        valid: false,
    };
    Ok(templates::setup::editor::page(&signed, &view).into_response())
}

/// POST /setup/mapping: applies the button pressed; validates or creates on those buttons.
pub async fn submit(
    State(state): State<AppState>,
    signed: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let sent = pairs
        .iter()
        .find(|(k, _)| k == csrf::FIELD)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    csrf::check(&signed.session, sent)?;
    let (mut draft, action) = Draft::from_form(&pairs)?;
    let calls = state.backend.as_user(&signed.user);
    let choices = calls.suggest(request_of(&draft)).await?;
    draft.apply(&action);
    let mut view = View {
        draft,
        choices,
        problems: Problems::default(),
        warnings: Vec::new(),
        valid: false,
    };
    if matches!(action, Action::Validate | Action::Create | Action::Save) {
        // Blank rows go, so the service's `mappings[i]` are the page's rows.
        view.draft
            .mappings
            .retain(|r| !(r.column.is_empty() && r.field.is_empty()));
        let spec = match view.draft.spec(&Kinds::of(&view.choices)) {
            Ok(spec) => spec,
            Err(error) => {
                view.problems = Problems::from_refusal(error, "form")?;
                return Ok(respond(&signed, &view));
            }
        };
        let checked = calls.validate(spec.clone()).await?;
        for p in checked.problems {
            view.problems.add(p.field, p.message);
        }
        view.warnings = checked.warnings;
        view.valid = view.problems.is_empty();
        if view.valid && action == Action::Save {
            let id = view.draft.integration_id.clone();
            let version = view.draft.version.parse::<i64>().map_err(|_| {
                Error::bad_input(
                    "version",
                    "the page is out of date: reload it and try again",
                )
            })?;
            match calls.update(&id, spec.clone(), version).await {
                Ok(_) => return Ok(Redirect::to(&format!("/integrations/{id}")).into_response()),
                Err(error) => {
                    view.valid = false;
                    view.problems = Problems::from_refusal(error, "spec")?;
                }
            }
        }
        if view.valid && action == Action::Create {
            match calls.create_paused(spec).await {
                Ok(created) => {
                    return Ok(
                        Redirect::to(&format!("/integrations/{}", created.id)).into_response()
                    );
                }
                Err(error) => {
                    view.valid = false;
                    view.problems = Problems::from_refusal(error, "spec")?;
                }
            }
        }
    }
    Ok(respond(&signed, &view))
}

/// The page: 400 while it has problems.
fn respond(signed: &SignedIn, view: &View) -> Response {
    let status = if view.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, templates::setup::editor::page(signed, view)).into_response()
}
