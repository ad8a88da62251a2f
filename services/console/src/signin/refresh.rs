//! Keeping a signed-in user's token fresh. The services are called with the identity
//! provider's ID token, which lives minutes; when it ends within [`REFRESH_BEFORE`] and the
//! provider issued a refresh token, a new one is fetched at its token endpoint (checked by the
//! services' verifier, for the same account and email) before the request goes on. When that
//! cannot be done, the user keeps the token while it is valid and is then sent to sign in
//! again — never an error page.

use tandem_service::Identity;

use super::SignIn;
use super::oidc::{TokenError, Tokens, expires_at, payload};
use crate::error::Error;
use crate::server::AppState;
use crate::session::{Bearer, Session, User, unix_now};

/// A token is renewed when it ends within this many seconds.
pub const REFRESH_BEFORE: u64 = 60;

/// The session with a token the services accept now, renewed if due;
/// [`Error::NotSignedIn`] (the sign-in page) when its token ended and cannot be renewed.
pub async fn fresh(state: &AppState, mut session: Session) -> Result<Session, Error> {
    let user = session.data.user.clone().ok_or(Error::NotSignedIn)?;
    let now = unix_now();
    // 0: a session stored before expiry was kept, which lasts only as long as its token.
    if user.token_expires_at == 0 || user.token_expires_at > now + REFRESH_BEFORE {
        return Ok(session);
    }
    let (SignIn::Oidc(client), Some(refresh_token)) = (&state.signin, &user.refresh_token) else {
        return still_valid(state, session, now).await;
    };
    match client.refresh(refresh_token.secret()).await {
        Ok(tokens) => match renewed(state, &user, tokens).await {
            Ok(user) => {
                session.data.user = Some(user);
                state.sessions.save(&session.id, &session.data).await?;
                tracing::info!("console token refreshed");
                Ok(session)
            }
            Err(reason) => {
                tracing::warn!(%reason, "console token refresh gave an unusable token");
                forget_refresh(state, session, now).await
            }
        },
        Err(error) => {
            // Another request of this session may have renewed it first (a provider that
            // rotates refresh tokens refuses the old one then).
            if let Some(current) = state.sessions.load(&session.id).await?
                && current
                    .data
                    .user
                    .as_ref()
                    .is_some_and(|u| u.token_expires_at > now + REFRESH_BEFORE)
            {
                return Ok(current);
            }
            tracing::info!(%error, "console token refresh failed");
            match error {
                TokenError::Refused(_) => forget_refresh(state, session, now).await,
                TokenError::Failed(_) => still_valid(state, session, now).await,
            }
        }
    }
}

/// The user with the new tokens, if they are for the same person and the services accept them.
async fn renewed(state: &AppState, user: &User, tokens: Tokens) -> Result<User, String> {
    let identity = state
        .config
        .auth
        .verifier
        .identify(&tokens.id_token)
        .await
        .map_err(|e| format!("the new ID token: {e}"))?;
    let Identity::User { account, email } = identity else {
        return Err("the new ID token names a service".to_owned());
    };
    if account != user.account || !tandem_service::same_email(&email, &user.email) {
        return Err("the new ID token names another user".to_owned());
    }
    let claims = payload(&tokens.id_token).ok_or("the new ID token is malformed")?;
    Ok(User {
        account: user.account.clone(),
        email: user.email.clone(),
        token_expires_at: expires_at(&claims),
        token: Bearer::new(tokens.id_token),
        // A provider that does not rotate refresh tokens sends none: the old one stays good.
        refresh_token: tokens.refresh_token.or_else(|| user.refresh_token.clone()),
    })
}

/// The refresh token will not work again: drop it, and carry on while the token lasts.
async fn forget_refresh(
    state: &AppState,
    mut session: Session,
    now: u64,
) -> Result<Session, Error> {
    if let Some(user) = session.data.user.as_mut() {
        user.refresh_token = None;
        session.data.expires_at = session.data.expires_at.min(user.token_expires_at);
    }
    state.sessions.save(&session.id, &session.data).await?;
    still_valid(state, session, now).await
}

/// The session while its token is valid; once it is not, the session ends and the user is
/// sent to sign in.
async fn still_valid(state: &AppState, session: Session, now: u64) -> Result<Session, Error> {
    let valid = session
        .data
        .user
        .as_ref()
        .is_some_and(|u| u.token_expires_at > now);
    if valid {
        return Ok(session);
    }
    state.sessions.delete(&session.id).await?;
    Err(Error::NotSignedIn)
}
