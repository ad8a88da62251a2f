//! The HTTP side: routes, the security headers every response carries, and the extractors
//! that find a request's session.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::header::{self, HeaderValue};
use http::request::Parts;

use crate::backend::Backend;
use crate::config::Config;
use crate::error::Error;
use crate::session::{Session, SessionStore, User, cookie_id};
use crate::signin::SignIn;
use crate::{pages, setup, signin, templates};

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub sessions: SessionStore,
    pub backend: Backend,
    pub signin: SignIn,
}

/// Content-Security-Policy: nothing but the console's own origin; no framing, no inline script
/// or style, forms post only to the console.
pub const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::integrations::list))
        .route("/integrations/{id}", get(pages::integration::show))
        .route("/integrations/{id}/sync", post(pages::actions::sync_now))
        .route("/integrations/{id}/pause", post(pages::actions::pause))
        .route("/integrations/{id}/resume", post(pages::actions::resume))
        .route("/integrations/{id}/import", post(pages::actions::import))
        .route(
            "/integrations/{id}/transfer",
            post(pages::actions::transfer),
        )
        .route("/integrations/{id}/edit", get(setup::editor::edit))
        .route("/runs/{id}", get(pages::run::show))
        .route("/setup", get(setup::connections::page))
        .route("/setup/monday", post(setup::connections::connect_monday))
        .route(
            "/setup/salesforce",
            post(setup::connections::connect_salesforce),
        )
        .route(
            setup::connections::CALLBACK,
            get(setup::connections::callback),
        )
        .route("/setup/choose", get(setup::choose::page))
        .route(
            "/setup/mapping",
            get(setup::editor::start).post(setup::editor::submit),
        )
        .route("/sign-in", get(signin::page).post(signin::dev::submit))
        .route("/auth/login", get(signin::oidc::start))
        .route("/auth/callback", get(signin::oidc::callback))
        .route("/sign-out", post(signin::sign_out))
        .route("/static/console.css", get(stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/console.css"),
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        http::StatusCode::NOT_FOUND,
        templates::error_page("Not found", "There is no such page in the console."),
    )
        .into_response()
}

/// Adds the security headers to every response (pages, errors, redirects, the stylesheet).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

/// The request's session, if its cookie names a live one.
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        match cookie_id(&parts.headers) {
            Some(id) => Ok(MaybeSession(state.sessions.load(&id).await?)),
            None => Ok(MaybeSession(None)),
        }
    }
}

/// A signed-in request: its session and user. Anything else is sent to the sign-in page.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let MaybeSession(session) = MaybeSession::from_request_parts(parts, state).await?;
        let session = session.ok_or(Error::NotSignedIn)?;
        let session = signin::refresh::fresh(state, session).await?;
        let user = session.data.user.clone().ok_or(Error::NotSignedIn)?;
        Ok(SignedIn { session, user })
    }
}
