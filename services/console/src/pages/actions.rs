//! The owner's actions: POST /integrations/{id}/sync, /pause and /resume. Each checks the
//! session's CSRF token, then asks the service as the signed-in user: a user who does not own
//! the integration is refused by the service itself (PERMISSION_DENIED, shown as 403), whatever
//! the page they came from showed.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

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
    let run_id = state.backend.as_user(&signed.user).sync_now(&id).await?;
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
