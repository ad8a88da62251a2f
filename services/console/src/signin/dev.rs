//! Development mode's local sign-in: an account and an email, no password. Only a console
//! whose services run with `TANDEM_DEV_AUTH=1` offers it; the token it mints is the one
//! `tandem token --account A --user E` mints, signed with `TANDEM_AUTH_SECRET`.

use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use tandem_service::Identity;

use super::SignIn;
use crate::csrf;
use crate::error::Error;
use crate::server::{AppState, MaybeSession};
use crate::session::{Bearer, User, unix_now};
use crate::templates;

/// The longest a development token lives (the services' default maximum).
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Deserialize)]
pub struct DevForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub email: String,
}

/// What the form shows again after a problem.
#[derive(Debug, Default)]
pub struct FormValues {
    pub account: String,
    pub email: String,
    /// The field at fault and why.
    pub problem: Option<(&'static str, String)>,
}

/// The account and email, checked; or the field at fault and why.
pub fn validate(account: &str, email: &str) -> Result<(String, String), (&'static str, String)> {
    let account = account.trim();
    let email = email.trim();
    if account.is_empty() {
        return Err((
            "account",
            "enter the account to sign in to, e.g. acme".to_owned(),
        ));
    }
    if account.len() > 64
        || !account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err((
            "account",
            "an account is at most 64 letters, digits, `-`, `_` or `.`".to_owned(),
        ));
    }
    let email = valid_email(email).map_err(|message| ("email", message))?;
    Ok((account.to_owned(), email))
}

/// `email`, trimmed, when it looks like an address; else why not.
pub fn valid_email(email: &str) -> Result<String, String> {
    let email = email.trim();
    let well_formed = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if well_formed {
        Ok(email.to_owned())
    } else {
        Err(format!(
            "`{email}` is not an email address, e.g. ada@acme.test"
        ))
    }
}

/// POST /sign-in (development mode only).
pub async fn submit(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Form(form): Form<DevForm>,
) -> Result<Response, Error> {
    let SignIn::Development(signer) = &state.signin else {
        return Err(Error::SignIn(
            "this console signs in through the identity provider only".to_owned(),
        ));
    };
    let session = session.ok_or(Error::Csrf)?;
    csrf::check(&session, &form.csrf)?;
    let (account, email) = match validate(&form.account, &form.email) {
        Ok(valid) => valid,
        Err(problem) => {
            let values = FormValues {
                account: form.account,
                email: form.email,
                problem: Some(problem),
            };
            return Ok((
                StatusCode::BAD_REQUEST,
                templates::sign_in::development(&session, &values),
            )
                .into_response());
        }
    };
    let ttl =
        Duration::from_secs(state.config.options.session_hours * 3600).min(MAX_TOKEN_LIFETIME);
    let identity = Identity::User {
        account: account.clone(),
        email: email.clone(),
    };
    let token = signer.mint(&identity, ttl);
    // The services will check it the same way: refuse here what they would refuse.
    state
        .config
        .auth
        .verifier
        .identify(&token)
        .await
        .map_err(|e| Error::SignIn(e.to_string()))?;
    let user = User {
        account,
        email,
        token: Bearer::new(token),
        token_expires_at: unix_now() + ttl.as_secs(),
        refresh_token: None,
    };
    super::complete(&state, &session, user).await
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn bad_input_names_the_field() {
        let cases = [
            ("", "ada@acme.test", "account"),
            ("ac me", "ada@acme.test", "account"),
            (&"a".repeat(65), "ada@acme.test", "account"),
            ("acme", "", "email"),
            ("acme", "ada", "email"),
            ("acme", "@acme.test", "email"),
            ("acme", "ada@localhost", "email"),
            ("acme", "ada @acme.test", "email"),
        ];
        for (account, email, field) in cases {
            let (named, _) = validate(account, email).unwrap_err();
            assert_eq!(named, field, "{account:?} {email:?}");
        }
        assert_eq!(
            validate(" acme ", "ada@acme.test ").unwrap(),
            ("acme".to_owned(), "ada@acme.test".to_owned())
        );
    }
}
