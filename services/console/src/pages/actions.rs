//! The owner's actions: POST /integrations/{id}/sync, /pause and /resume. Each checks the
//! session's CSRF token, then asks the service as the signed-in user: a user who does not own
//! the integration is refused by the service itself (PERMISSION_DENIED, shown as 403), whatever
//! the page they came from showed. An import's preview (a dry run) is open to every user of
//! the account, as the orchestrator allows; a writing import and a transfer are the owner's.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use serde::Deserialize;
use tandem_proto::v1 as pb;

use crate::backend::Calls;
use crate::csrf;
use crate::error::Error;
use crate::server::{AppState, SignedIn};

/// Runs a cycle now and shows its run.
pub async fn sync_now(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<csrf::TokenOnly>,
) -> Result<Response, Error> {
    csrf::check(&signed.session, &form.csrf)?;
    let calls = state.backend.as_user(&signed.user);
    refuse_if_paused(&calls, &id, "a paused integration does not sync").await?;
    let run_id = calls.sync_now(&id).await?;
    Ok(Redirect::to(&format!("/runs/{run_id}")).into_response())
}

pub async fn pause(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<csrf::TokenOnly>,
) -> Result<Response, Error> {
    csrf::check(&signed.session, &form.csrf)?;
    state.backend.as_user(&signed.user).pause(&id).await?;
    Ok(Redirect::to(&format!("/integrations/{id}")).into_response())
}

pub async fn resume(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<csrf::TokenOnly>,
) -> Result<Response, Error> {
    csrf::check(&signed.session, &form.csrf)?;
    state.backend.as_user(&signed.user).resume(&id).await?;
    Ok(Redirect::to(&format!("/integrations/{id}")).into_response())
}

/// The orchestrator runs a cycle or a writing import only on an active integration, and a
/// preview (dry run) on a paused one too (its `settings::Needs`). The console refuses the
/// same first, saying what to do instead rather than the orchestrator's bare refusal; the
/// orchestrator still refuses one that was paused in between.
async fn refuse_if_paused(calls: &Calls<'_>, id: &str, what: &str) -> Result<(), Error> {
    let integration = calls.integration(id).await?;
    if integration.state != pb::IntegrationState::Paused as i32 {
        return Ok(());
    }
    let why = match integration.state_reason.as_str() {
        "" => String::new(),
        reason => format!(" ({reason})"),
    };
    Err(Error::Refused(format!(
        "it is paused{why}: {what}. Resume it first (its owner), or preview an import (a dry run), which writes nothing and works while it is paused."
    )))
}

#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    source: String,
    /// `preview` (a dry run) or `import`.
    #[serde(default)]
    mode: String,
}

/// The side a form names, or the field at fault.
pub fn parse_source(source: &str) -> Result<pb::Side, Error> {
    match source {
        "salesforce" => Ok(pb::Side::Salesforce),
        "monday" => Ok(pb::Side::Monday),
        other => Err(Error::bad_input(
            "source",
            format!("`{other}` is not a side: choose salesforce or monday"),
        )),
    }
}

/// Previews (dry run) or runs an import, and shows its run.
pub async fn import(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ImportForm>,
) -> Result<Response, Error> {
    csrf::check(&signed.session, &form.csrf)?;
    let source = parse_source(&form.source)?;
    let dry_run = match form.mode.as_str() {
        "preview" => true,
        "import" => false,
        other => {
            return Err(Error::bad_input(
                "mode",
                format!("`{other}` is neither preview nor import"),
            ));
        }
    };
    let calls = state.backend.as_user(&signed.user);
    if !dry_run {
        refuse_if_paused(&calls, &id, "a paused integration imports nothing").await?;
    }
    let run_id = calls.import(&id, source, dry_run).await?;
    Ok(Redirect::to(&format!("/runs/{run_id}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    new_owner: String,
    #[serde(default)]
    version: String,
}

/// Hands the integration to another user of the account.
pub async fn transfer(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<TransferForm>,
) -> Result<Response, Error> {
    csrf::check(&signed.session, &form.csrf)?;
    let new_owner = crate::signin::dev::valid_email(&form.new_owner)
        .map_err(|message| Error::bad_input("new_owner", message))?;
    let version = form.version.trim().parse::<i64>().map_err(|_| {
        Error::bad_input(
            "version",
            "the page is out of date: reload it and try again",
        )
    })?;
    state
        .backend
        .as_user(&signed.user)
        .transfer(&id, &new_owner, version)
        .await?;
    Ok(Redirect::to(&format!("/integrations/{id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_is_salesforce_or_monday_and_anything_else_names_the_field() {
        assert_eq!(parse_source("salesforce").unwrap(), pb::Side::Salesforce);
        assert_eq!(parse_source("monday").unwrap(), pb::Side::Monday);
        let error = parse_source("excel").unwrap_err().to_string();
        assert!(error.starts_with("source: "), "{error}");
    }
}
