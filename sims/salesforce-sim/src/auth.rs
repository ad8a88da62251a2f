//! OAuth 2.0 (web-server flow, refresh, revoke), bearer checks, userinfo and identity.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};

use crate::Shared;
use crate::clock;
use crate::errors::ApiError;
use crate::http::{Req, empty, json_response};
use crate::ids;
use crate::store::{AccessGrant, AuthCode, RefreshGrant, State};

const DEFAULT_SCOPE: &str = "api refresh_token id";
const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

pub fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// Who a token pair is issued to.
pub struct Issue<'a> {
    pub org: &'a str,
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub with_refresh: bool,
}

/// Issues an access token (and a refresh token when asked) for a user of an org.
pub fn issue(state: &mut State, ttl: Duration, i: &Issue) -> (String, Option<String>) {
    let access = format!("{}!{}", ids::short(i.org_id), random_token(96));
    let refresh = i
        .with_refresh
        .then(|| format!("5Aep861{}", random_token(80)));
    if let Some(r) = &refresh {
        state.refresh.insert(
            r.clone(),
            RefreshGrant {
                org: i.org.to_string(),
                user_id: i.user_id.to_string(),
                client_id: i.client_id.to_string(),
                scope: i.scope.to_string(),
            },
        );
    }
    state.access.insert(
        access.clone(),
        AccessGrant {
            org: i.org.to_string(),
            user_id: i.user_id.to_string(),
            expires_at: Instant::now() + ttl,
            refresh_token: refresh.clone(),
        },
    );
    (access, refresh)
}

/// The grant behind the request's bearer token, if valid for the org the Host names.
pub fn check_bearer(shared: &Shared, req: &Req) -> Option<AccessGrant> {
    let auth = req.header("authorization")?;
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("OAuth "))?
        .trim();
    let state = shared.state();
    let grant = state.access.get(token)?;
    if grant.expires_at <= Instant::now() {
        return None;
    }
    if req.host_org.as_ref().is_some_and(|o| *o != grant.org) {
        return None;
    }
    Some(grant.clone())
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// RFC 7636's alphabet and length (43 to 128 characters) for a verifier or a challenge.
fn valid_pkce_text(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// Whether the token request's `code_verifier` fits the authorize request's challenge
/// (BASE64URL(SHA-256(verifier)) = challenge); a code issued without one needs none.
fn pkce_matches(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    let Some(challenge) = challenge else {
        return true;
    };
    let Some(verifier) = verifier.filter(|v| valid_pkce_text(v)) else {
        return false;
    };
    use sha2::Digest as _;
    let digest = Sha256::digest(verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
}

/// `GET /services/oauth2/authorize`: approves at once as the org's admin user.
pub fn authorize(shared: &Shared, req: &Req) -> (Response, Option<String>) {
    let form = req.form();
    let org = req
        .host_org
        .clone()
        .unwrap_or_else(|| shared.config.default_org.clone());
    let (Some(client_id), Some(redirect_uri)) =
        (param(&form, "client_id"), param(&form, "redirect_uri"))
    else {
        return (
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "missing required parameter client_id or redirect_uri",
            ),
            Some(org),
        );
    };
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return (
            oauth_error(
                StatusCode::BAD_REQUEST,
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ),
            Some(org),
        );
    };
    let challenge = param(&form, "code_challenge");
    let method = param(&form, "code_challenge_method").unwrap_or("S256");
    {
        let mut pairs = target.query_pairs_mut();
        if param(&form, "response_type") != Some("code") {
            pairs.append_pair("error", "unsupported_response_type");
            pairs.append_pair("error_description", "response type not supported");
        } else if challenge.is_some() && method != "S256" {
            pairs.append_pair("error", "invalid_request");
            pairs.append_pair("error_description", "invalid code_challenge_method");
        } else if challenge.is_some_and(|c| !valid_pkce_text(c)) {
            pairs.append_pair("error", "invalid_request");
            pairs.append_pair("error_description", "invalid code_challenge");
        } else {
            let admin = shared.with_org(&org, |o, _| o.admin_user_id.clone());
            let code = format!("aPrx{}==", random_token(60));
            shared.state().codes.insert(
                code.clone(),
                AuthCode {
                    org: org.clone(),
                    user_id: admin,
                    client_id: client_id.to_string(),
                    redirect_uri: redirect_uri.to_string(),
                    scope: param(&form, "scope").unwrap_or(DEFAULT_SCOPE).to_string(),
                    issued: Instant::now(),
                    code_challenge: challenge.map(str::to_owned),
                },
            );
            pairs.append_pair("code", &code);
        }
        if let Some(state) = param(&form, "state") {
            pairs.append_pair("state", state);
        }
    }
    let mut r = empty(StatusCode::FOUND);
    if let Ok(v) = HeaderValue::from_str(target.as_str()) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    (r, Some(org))
}

/// `POST /services/oauth2/token`: `authorization_code` and `refresh_token` grants.
pub fn token(shared: &Shared, req: &Req) -> (Response, Option<String>) {
    let form = req.form();
    let Some(client_id) = param(&form, "client_id") else {
        return (
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_id",
                "client identifier invalid",
            ),
            None,
        );
    };
    let secret = param(&form, "client_secret").unwrap_or("");
    let (org, user_id, scope, refresh) = match param(&form, "grant_type") {
        Some("authorization_code") => {
            let code = param(&form, "code").unwrap_or("");
            let grant = shared.state().codes.remove(code);
            match grant {
                Some(g)
                    if g.issued.elapsed() < CODE_LIFETIME
                        && g.client_id == client_id
                        && param(&form, "redirect_uri").is_none_or(|u| u == g.redirect_uri)
                        && !pkce_matches(
                            g.code_challenge.as_deref(),
                            param(&form, "code_verifier"),
                        ) =>
                {
                    return (
                        oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "invalid code verifier",
                        ),
                        Some(g.org),
                    );
                }
                Some(g)
                    if g.issued.elapsed() < CODE_LIFETIME
                        && g.client_id == client_id
                        && param(&form, "redirect_uri").is_none_or(|u| u == g.redirect_uri) =>
                {
                    let with_refresh = g
                        .scope
                        .split_whitespace()
                        .any(|s| s == "refresh_token" || s == "offline_access");
                    (g.org, g.user_id, g.scope, with_refresh)
                }
                Some(g) if g.issued.elapsed() >= CODE_LIFETIME => {
                    return (
                        oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "authorization code expired",
                        ),
                        Some(g.org),
                    );
                }
                _ => {
                    return (
                        oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "invalid authorization code",
                        ),
                        None,
                    );
                }
            }
        }
        Some("refresh_token") => {
            let rt = param(&form, "refresh_token").unwrap_or("");
            let grant = shared.state().refresh.get(rt).cloned();
            match grant {
                Some(g) if g.client_id == client_id || g.client_id.is_empty() => {
                    (g.org, g.user_id, g.scope, false)
                }
                _ => {
                    return (
                        oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "expired access/refresh token",
                        ),
                        None,
                    );
                }
            }
        }
        Some(_) => {
            return (
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "grant type not supported",
                ),
                None,
            );
        }
        None => {
            return (
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "grant type is missing",
                ),
                None,
            );
        }
    };
    let org_id = shared.with_org(&org, |o, _| o.org_id.clone());
    let (access, refresh_token) = {
        let mut state = shared.state();
        let grant = Issue {
            org: &org,
            org_id: &org_id,
            user_id: &user_id,
            client_id,
            scope: &scope,
            with_refresh: refresh,
        };
        issue(&mut state, shared.config.token_ttl, &grant)
    };
    let issued_at = clock::epoch_ms(clock::now()).to_string();
    let id = format!("{}/id/{org_id}/{user_id}", req.instance_url);
    let signature = sign(secret, &id, &issued_at);
    let mut body = json!({
        "access_token": access,
        "signature": signature,
        "scope": scope,
        "instance_url": req.instance_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let Some(r) = refresh_token {
        body["refresh_token"] = json!(r);
    }
    (json_response(StatusCode::OK, &body), Some(org))
}

/// Base64(HMAC-SHA256(client secret, id + issued_at)).
pub fn sign(secret: &str, id: &str, issued_at: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `POST /services/oauth2/revoke`: a refresh token takes its access tokens with it.
pub fn revoke(shared: &Shared, req: &Req) -> (Response, Option<String>) {
    let form = req.form();
    let token = param(&form, "token").unwrap_or("").to_string();
    let mut state = shared.state();
    if let Some(g) = state.refresh.remove(&token) {
        state
            .access
            .retain(|_, a| a.refresh_token.as_deref() != Some(token.as_str()));
        return (empty(StatusCode::OK), Some(g.org));
    }
    if let Some(g) = state.access.remove(&token) {
        return (empty(StatusCode::OK), Some(g.org));
    }
    (
        oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            "this token type is not supported",
        ),
        None,
    )
}

fn user_doc(shared: &Shared, req: &Req, grant: &AccessGrant, identity: bool) -> Value {
    let base = req.instance_url.clone();
    shared.with_org(&grant.org, |org, schema| {
        let user = org.record(schema, &grant.user_id);
        let get = |f: &str| user.map(|u| u.get(f).clone()).unwrap_or(Value::Null);
        let org15 = ids::short(&org.org_id).to_string();
        let soap = |kind: &str| format!("{base}/services/Soap/{kind}/{{version}}/{org15}");
        let rest = |p: &str| format!("{base}/services/data/v{{version}}/{p}");
        let urls = json!({
            "enterprise": soap("c"), "metadata": soap("m"), "partner": soap("u"),
            "rest": rest(""), "sobjects": rest("sobjects/"), "search": rest("search/"),
            "query": rest("query/"), "recent": rest("recent/"), "tooling_soap": soap("T"),
            "tooling_rest": rest("tooling/"), "profile": format!("{base}/{}", grant.user_id),
            "feeds": rest("chatter/feeds"), "groups": rest("chatter/groups"), "users": rest("chatter/users"),
            "feed_items": rest("chatter/feed-items"), "feed_elements": rest("chatter/feed-elements"),
            "custom_domain": base,
        });
        let id_url = format!("{base}/id/{}/{}", org.org_id, grant.user_id);
        let photos = json!({"picture": format!("{base}/profilephoto/005/F"), "thumbnail": format!("{base}/profilephoto/005/T")});
        let updated = get("SystemModstamp")
            .as_str()
            .and_then(clock::parse_datetime)
            .map(|t| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default())
            .unwrap_or_default();
        if identity {
            json!({
                "id": id_url, "asserted_user": true, "user_id": grant.user_id, "organization_id": org.org_id,
                "username": get("Username"), "nick_name": get("Alias"), "display_name": get("Name"),
                "email": get("Email"), "email_verified": true, "first_name": get("FirstName"),
                "last_name": get("LastName"), "timezone": get("TimeZoneSidKey"), "photos": photos,
                "addr_street": null, "addr_city": null, "addr_state": null, "addr_country": null, "addr_zip": null,
                "mobile_phone": null, "mobile_phone_verified": false, "is_lightning_login_user": false,
                "status": {"created_date": null, "body": null}, "urls": urls,
                "active": get("IsActive"), "user_type": "STANDARD", "language": "en_US", "locale": "en_US",
                "utcOffset": 0, "last_modified_date": get("SystemModstamp"), "is_app_installed": true,
            })
        } else {
            json!({
                "sub": id_url, "user_id": grant.user_id, "organization_id": org.org_id,
                "preferred_username": get("Username"), "nickname": get("Alias"), "name": get("Name"),
                "email": get("Email"), "email_verified": true, "given_name": get("FirstName"),
                "family_name": get("LastName"), "zoneinfo": get("TimeZoneSidKey"), "photos": photos.clone(),
                "profile": format!("{base}/{}", grant.user_id), "picture": photos["picture"],
                "address": {}, "is_salesforce_integration_user": false, "urls": urls,
                "active": get("IsActive"), "user_type": "STANDARD", "language": "en_US", "locale": "en_US",
                "utcOffset": 0, "updated_at": updated,
            })
        }
    })
}

/// `GET /services/oauth2/userinfo`.
pub fn userinfo(shared: &Shared, req: &Req) -> (Response, Option<String>) {
    match check_bearer(shared, req) {
        Some(g) => (
            json_response(StatusCode::OK, &user_doc(shared, req, &g, false)),
            Some(g.org),
        ),
        None => (
            ApiError::invalid_session().into_response(),
            req.host_org.clone(),
        ),
    }
}

/// `GET /id/{orgId}/{userId}`: the identity document of the token's user.
pub fn identity(shared: &Shared, req: &Req, rest: &str) -> (Response, Option<String>) {
    let Some(g) = check_bearer(shared, req) else {
        return (
            ApiError::invalid_session().into_response(),
            req.host_org.clone(),
        );
    };
    let (org_id, user_id) = rest.split_once('/').unwrap_or((rest, ""));
    let real_org = shared.with_org(&g.org, |o, _| o.org_id.clone());
    if ids::normalize(org_id) != Some(real_org)
        || ids::normalize(user_id) != ids::normalize(&g.user_id)
    {
        return (ApiError::not_found().into_response(), Some(g.org));
    }
    (
        json_response(StatusCode::OK, &user_doc(shared, req, &g, true)),
        Some(g.org),
    )
}
