//! The authorization code flow: the sign-in page (`GET /authorize`), its form (`POST
//! /authorize`, which redirects back with a code), and the token endpoint (a code once, with its
//! PKCE verifier; or a refresh token, which is replaced by a new one).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::{Grant, Shared, page, random_token, unix_now};

/// How long a code may wait for its exchange.
const CODE_LIFETIME_SECS: u64 = 60;
/// At most this many codes or refresh tokens are held; beyond it new ones are refused.
const MAX_GRANTS: usize = 10_000;

type Params = HashMap<String, String>;

/// An authorization request, checked.
pub(crate) struct Request {
    pub redirect_uri: String,
    pub state: String,
    pub nonce: Option<String>,
    pub challenge: String,
    /// Every parameter, carried through the form as hidden fields.
    pub params: Vec<(String, String)>,
}

fn checked(shared: &Shared, params: &Params) -> Result<Request, String> {
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    if get("client_id") != shared.config.client_id {
        return Err(format!(
            "client_id `{}` is not this provider's client (`{}`)",
            get("client_id"),
            shared.config.client_id
        ));
    }
    let redirect_uri = get("redirect_uri");
    if !redirect_allowed(&shared.config.redirect_uris, redirect_uri) {
        return Err(format!(
            "redirect_uri `{redirect_uri}` is not registered (loopback http URLs and the configured ones are)"
        ));
    }
    if get("response_type") != "code" {
        return Err("response_type must be `code`".to_owned());
    }
    let challenge = get("code_challenge");
    if get("code_challenge_method") != "S256" || !(43..=128).contains(&challenge.len()) {
        return Err(
            "PKCE is required: code_challenge (S256) and code_challenge_method=S256".to_owned(),
        );
    }
    let keep = [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ];
    Ok(Request {
        redirect_uri: redirect_uri.to_owned(),
        state: get("state").to_owned(),
        nonce: params.get("nonce").filter(|n| !n.is_empty()).cloned(),
        challenge: challenge.to_owned(),
        params: keep
            .iter()
            .filter_map(|k| params.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect(),
    })
}

/// A registered redirect URI exactly, or a loopback one on any port (RFC 8252 §7.3).
fn redirect_allowed(registered: &[String], uri: &str) -> bool {
    if registered.iter().any(|r| r == uri) {
        return true;
    }
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    url.scheme() == "http"
        && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        && url.fragment().is_none()
}

pub(crate) async fn sign_in_page(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<Params>,
) -> Response {
    match checked(&shared, &params) {
        Ok(request) => page::sign_in(&request, None, "", "").into_response(),
        Err(problem) => (StatusCode::BAD_REQUEST, page::refused(&problem)).into_response(),
    }
}

pub(crate) async fn signed_in(
    State(shared): State<Arc<Shared>>,
    Form(params): Form<Params>,
) -> Response {
    let request = match checked(&shared, &params) {
        Ok(request) => request,
        Err(problem) => return (StatusCode::BAD_REQUEST, page::refused(&problem)).into_response(),
    };
    let account = params.get("account").map_or("", |a| a.trim());
    let email = params.get("email").map_or("", |e| e.trim());
    let problem = if !valid_account(account) {
        Some((
            "account",
            "Account: letters, digits, `.`, `_` or `-`, at most 64",
        ))
    } else if !valid_email(email) {
        Some(("email", "Email: an address such as ada@example.com"))
    } else {
        None
    };
    if let Some(problem) = problem {
        return (
            StatusCode::BAD_REQUEST,
            page::sign_in(&request, Some(problem), account, email),
        )
            .into_response();
    }
    let code = random_token();
    let grant = Grant {
        redirect_uri: request.redirect_uri.clone(),
        challenge: request.challenge,
        nonce: request.nonce,
        account: account.to_owned(),
        email: email.to_owned(),
        expires: unix_now() + CODE_LIFETIME_SECS,
    };
    if !hold(&shared.codes, code.clone(), grant) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many sign-ins in flight",
        )
            .into_response();
    }
    let mut back = match url::Url::parse(&request.redirect_uri) {
        Ok(url) => url,
        Err(_) => return (StatusCode::BAD_REQUEST, "redirect_uri").into_response(),
    };
    back.query_pairs_mut().append_pair("code", &code);
    if !request.state.is_empty() {
        back.query_pairs_mut().append_pair("state", &request.state);
    }
    Redirect::to(back.as_str()).into_response()
}

fn valid_account(account: &str) -> bool {
    (1..=64).contains(&account.len())
        && account
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.splitn(2, '@');
    let (local, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Keeps a grant, dropping expired ones first; false when full.
fn hold(grants: &std::sync::Mutex<HashMap<String, Grant>>, key: String, grant: Grant) -> bool {
    let mut grants = grants.lock().unwrap_or_else(|p| p.into_inner());
    let now = unix_now();
    grants.retain(|_, g| g.expires > now);
    if grants.len() >= MAX_GRANTS {
        return false;
    }
    grants.insert(key, grant);
    true
}

fn take(grants: &std::sync::Mutex<HashMap<String, Grant>>, key: &str) -> Option<Grant> {
    let grant = grants
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(key)?;
    (grant.expires > unix_now()).then_some(grant)
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(http::header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(crate) async fn token(State(shared): State<Arc<Shared>>, Form(form): Form<Params>) -> Response {
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if get("client_id") != shared.config.client_id {
        return oauth_error("invalid_client", "client_id is not this provider's client");
    }
    let grant = match get("grant_type") {
        "authorization_code" => {
            let Some(grant) = take(&shared.codes, get("code")) else {
                return oauth_error("invalid_grant", "the code is unknown, used or expired");
            };
            let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
                &ring::digest::SHA256,
                get("code_verifier").as_bytes(),
            ));
            if grant.redirect_uri != get("redirect_uri") {
                return oauth_error("invalid_grant", "redirect_uri differs from the request's");
            }
            if challenge != grant.challenge {
                return oauth_error(
                    "invalid_grant",
                    "code_verifier does not match the challenge",
                );
            }
            grant
        }
        "refresh_token" => {
            let Some(grant) = take(&shared.refresh, get("refresh_token")) else {
                return oauth_error(
                    "invalid_grant",
                    "the refresh token is unknown, used or expired",
                );
            };
            Grant {
                nonce: None,
                ..grant
            }
        }
        other => {
            return oauth_error(
                "unsupported_grant_type",
                &format!("grant_type `{other}`: authorization_code or refresh_token"),
            );
        }
    };
    let id_token = match shared.id_token(&grant) {
        Ok(token) => token,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    let refresh_token = random_token();
    let kept = Grant {
        expires: unix_now() + shared.config.refresh_lifetime.as_secs(),
        nonce: None,
        ..grant
    };
    if !hold(&shared.refresh, refresh_token.clone(), kept) {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many sessions").into_response();
    }
    (
        [(http::header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({
            "access_token": id_token,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": shared.config.token_lifetime.as_secs(),
            "refresh_token": refresh_token,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_on_any_port_and_registered_ones_exactly() {
        let registered = vec!["https://console.example/auth/callback".to_owned()];
        assert!(redirect_allowed(
            &registered,
            "http://127.0.0.1:53111/callback"
        ));
        assert!(redirect_allowed(&registered, "http://localhost:8/cb"));
        assert!(redirect_allowed(
            &registered,
            "https://console.example/auth/callback"
        ));
        assert!(!redirect_allowed(
            &registered,
            "https://console.example/auth/callback/x"
        ));
        assert!(!redirect_allowed(
            &registered,
            "https://127.0.0.1:53111/callback"
        ));
        assert!(!redirect_allowed(&registered, "http://evil.example/cb"));
        assert!(!redirect_allowed(
            &registered,
            "http://127.0.0.1.evil.example/cb"
        ));
    }

    #[test]
    fn accounts_and_emails_are_checked() {
        assert!(valid_account("acme-1.eu_x"));
        assert!(!valid_account(""));
        assert!(!valid_account("a b"));
        assert!(valid_email("ada@acme.test"));
        assert!(!valid_email("ada"));
        assert!(!valid_email("ada@acme"));
        assert!(!valid_email("a da@acme.test"));
    }
}
