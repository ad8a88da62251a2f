//! GET /setup: the user's connections and the forms that add one — monday by API token,
//! Salesforce by My Domain subdomain and environment over OAuth, whose redirect lands back on
//! GET /setup/salesforce/callback. The OAuth `state` is kept in the session and must come
//! back to the same browser; mapping-config binds it to the user as well. A token is only
//! ever in a POST body: never in a URL, a page or a log.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde::Deserialize;
use tandem_proto::v1 as pb;

use super::Problems;
use crate::csrf;
use crate::error::Error;
use crate::server::{AppState, SignedIn};
use crate::templates;

/// Where Salesforce sends the browser back to (its connected app must allow this URL).
pub const CALLBACK: &str = "/setup/salesforce/callback";

#[derive(Debug, Default, Deserialize)]
pub struct Selected {
    #[serde(default)]
    pub monday: String,
    #[serde(default)]
    pub salesforce: String,
}

/// What the connections page shows.
pub struct View {
    pub connections: Vec<pb::Connection>,
    pub selected: Selected,
    pub problems: Problems,
    /// The subdomain and environment typed (shown again after a refusal; never a token).
    pub subdomain: String,
    pub environment: String,
}

pub(super) async fn render(
    state: &AppState,
    signed: &SignedIn,
    mut view: View,
    status: StatusCode,
) -> Result<Response, Error> {
    view.connections = state.backend.as_user(&signed.user).connections().await?;
    Ok((status, templates::setup::connections::page(signed, &view)).into_response())
}

pub(super) fn view(selected: Selected, problems: Problems) -> View {
    View {
        connections: Vec::new(),
        selected,
        problems,
        subdomain: String::new(),
        environment: "production".to_owned(),
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(selected): Query<Selected>,
) -> Result<Response, Error> {
    render(
        &state,
        &signed,
        view(selected, Problems::default()),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct MondayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    monday_token: String,
}

/// POST /setup/monday: checks the token with monday (through mapping-config) and keeps it
/// as the user's connection; a refused token is shown at its field and nothing is kept.
pub async fn connect_monday(
    State(state): State<AppState>,
    signed: SignedIn,
    Form(form): Form<MondayForm>,
) -> Result<Response, Error> {
    csrf::check(&signed.session, &form.csrf)?;
    let token = form.monday_token.trim();
    let outcome = if token.is_empty() {
        Err(Error::bad_input(
            "monday_token",
            "paste an API token (monday: your avatar → Developers → My access tokens)",
        ))
    } else {
        state
            .backend
            .as_user(&signed.user)
            .connect_monday(token)
            .await
    };
    match outcome {
        Ok(connection) => {
            Ok(Redirect::to(&format!("/setup?monday={}", connection.id)).into_response())
        }
        Err(error) => {
            let problems = Problems::from_refusal(error, "monday_token")?;
            let view = view(Selected::default(), problems);
            render(&state, &signed, view, StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Deserialize)]
pub struct SalesforceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subdomain: String,
    #[serde(default)]
    environment: String,
}

/// The environment a form names, or the problem at its field.
pub fn parse_environment(text: &str) -> Result<pb::SalesforceEnvironment, Error> {
    match text {
        "production" => Ok(pb::SalesforceEnvironment::Production),
        "sandbox" => Ok(pb::SalesforceEnvironment::Sandbox),
        "developer" => Ok(pb::SalesforceEnvironment::Developer),
        other => Err(Error::bad_input(
            "environment",
            format!("`{other}` is not an environment: choose production, sandbox or developer"),
        )),
    }
}

/// POST /setup/salesforce: starts the OAuth flow and sends the browser on to Salesforce.
pub async fn connect_salesforce(
    State(state): State<AppState>,
    mut signed: SignedIn,
    Form(form): Form<SalesforceForm>,
) -> Result<Response, Error> {
    csrf::check(&signed.session, &form.csrf)?;
    let subdomain = form.subdomain.trim().to_owned();
    let redirect = format!("{}{CALLBACK}", state.config.public_base());
    let started = match parse_environment(&form.environment) {
        Ok(environment) => {
            state
                .backend
                .as_user(&signed.user)
                .start_salesforce(&subdomain, environment, &redirect)
                .await
        }
        Err(e) => Err(e),
    };
    match started {
        Ok(started) => {
            signed.session.data.pending_salesforce = Some(started.state);
            state
                .sessions
                .save(&signed.session.id, &signed.session.data)
                .await?;
            Ok(
                templates::setup::connections::to_salesforce(&started.authorize_url)
                    .into_response(),
            )
        }
        Err(error) => {
            let message = error.to_string();
            let field = if message.contains("environment") {
                "environment"
            } else {
                "subdomain"
            };
            let problems = Problems::from_refusal(error, field)?;
            let mut view = view(Selected::default(), problems);
            view.subdomain = subdomain;
            view.environment = form.environment;
            render(&state, &signed, view, StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// GET /setup/salesforce/callback: Salesforce's redirect. The state must be the one this
/// browser's session started; the connection is completed through mapping-config as the
/// signed-in user.
pub async fn callback(
    State(state): State<AppState>,
    mut signed: SignedIn,
    Query(query): Query<Callback>,
) -> Result<Response, Error> {
    let pending = signed.session.data.pending_salesforce.take();
    if pending.is_some() {
        // Used up whatever happens next.
        state
            .sessions
            .save(&signed.session.id, &signed.session.data)
            .await?;
    }
    let refused = |message: String| {
        let mut problems = Problems::default();
        problems.add("subdomain", message);
        problems
    };
    let problems = if let Some(error) = query.error {
        refused(format!(
            "Salesforce answered `{error}`: {}",
            query.error_description.unwrap_or_default()
        ))
    } else {
        let sent = query.state.unwrap_or_default();
        match pending {
            Some(expected) if crate::csrf::same(sent.as_bytes(), expected.as_bytes()) => {
                let code = query.code.unwrap_or_default();
                match state
                    .backend
                    .as_user(&signed.user)
                    .complete_salesforce(&sent, &code)
                    .await
                {
                    Ok(connection) => {
                        return Ok(Redirect::to(&format!(
                            "/setup?salesforce={}",
                            connection.id
                        ))
                        .into_response());
                    }
                    Err(error) => Problems::from_refusal(error, "subdomain")?,
                }
            }
            _ => refused(
                "this browser did not start that Salesforce connection (or it expired): connect again".to_owned(),
            ),
        }
    };
    let view = view(Selected::default(), problems);
    render(&state, &signed, view, StatusCode::BAD_REQUEST).await
}
