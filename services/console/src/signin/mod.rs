//! Signing in and out. Development mode (`TANDEM_DEV_AUTH=1`) signs in with an account and an
//! email and mints the same HS256 token `tandem token` mints; otherwise the identity
//! provider's authorization code flow with PKCE, whose ID token the services accept.
//! Signing in replaces the session (a new id and CSRF token), so an id planted before
//! sign-in is worth nothing after it.

pub mod dev;
pub mod oidc;
pub mod refresh;

use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::header;
use tandem_service::TokenSigner;

use crate::csrf;
use crate::error::Error;
use crate::server::{AppState, MaybeSession};
use crate::session::{self, Session, SessionData, User, unix_now};
use crate::templates;

/// How this console signs users in.
#[derive(Clone)]
pub enum SignIn {
    Development(TokenSigner),
    Oidc(Arc<oidc::Client>),
}

/// The session of a request that may not have one yet: the one it has, or a new anonymous
/// one (whose cookie the response must set: `Some(set-cookie)`).
pub async fn ensure_session(
    state: &AppState,
    session: Option<Session>,
) -> Result<(Session, Option<String>), Error> {
    if let Some(session) = session {
        return Ok((session, None));
    }
    let data = SessionData::anonymous();
    let id = state.sessions.create(&data).await?;
    let cookie = session::set_cookie(&id, session::ANONYMOUS_TTL, state.config.secure_cookies());
    Ok((Session { id, data }, Some(cookie)))
}

/// GET /sign-in: the form (development mode) or the way to the identity provider.
pub async fn page(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
) -> Result<Response, Error> {
    if session.as_ref().is_some_and(|s| s.data.user.is_some()) {
        return Ok(Redirect::to("/").into_response());
    }
    let (session, cookie) = ensure_session(&state, session).await?;
    let form = dev::FormValues {
        account: state.config.options.dev_account.clone().unwrap_or_default(),
        email: state.config.options.dev_email.clone().unwrap_or_default(),
        problem: None,
    };
    let body = match &state.signin {
        SignIn::Development(_) => templates::sign_in::development(&session, &form),
        SignIn::Oidc(_) => templates::sign_in::provider(None),
    };
    Ok(with_cookie(body.into_response(), cookie))
}

/// A response with `Set-Cookie` added when there is one.
pub fn with_cookie(mut response: Response, cookie: Option<String>) -> Response {
    if let Some(value) = cookie.and_then(|c| c.parse().ok()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Replaces the anonymous session `old` by a signed-in one for `user` and sends the browser to
/// the integrations. The session lasts the configured session length, or only as long as the
/// user's token when nothing can renew it (no refresh token).
pub async fn complete(state: &AppState, old: &Session, user: User) -> Result<Response, Error> {
    let longest = unix_now() + state.config.options.session_hours * 3600;
    let expires_at = match user.refresh_token {
        Some(_) => longest,
        None => user.token_expires_at,
    };
    let data = SessionData {
        csrf: session::random_token(),
        user: Some(user),
        pending: None,
        pending_salesforce: None,
        expires_at: expires_at.min(longest),
    };
    state.sessions.delete(&old.id).await?;
    let id = state.sessions.create(&data).await?;
    let lifetime = Duration::from_secs(data.expires_at.saturating_sub(unix_now()));
    tracing::info!("console sign-in");
    let cookie = session::set_cookie(&id, lifetime, state.config.secure_cookies());
    Ok(with_cookie(Redirect::to("/").into_response(), Some(cookie)))
}

/// POST /sign-out: ends the session (CSRF-checked, like every POST).
pub async fn sign_out(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Form(form): Form<csrf::TokenOnly>,
) -> Result<Response, Error> {
    let session = session.ok_or(Error::Csrf)?;
    csrf::check(&session, &form.csrf)?;
    state.sessions.delete(&session.id).await?;
    Ok(with_cookie(
        Redirect::to("/sign-in").into_response(),
        Some(session::clear_cookie(state.config.secure_cookies())),
    ))
}
