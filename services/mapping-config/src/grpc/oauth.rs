//! The Salesforce OAuth web-server flow: a single-use state bound to the requesting user,
//! the code exchange through connector-salesforce, and re-authentication of an existing
//! connection (which resumes the integrations paused for it).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest, Sha256};
use tandem_proto::v1 as pb;
use time::{Duration, OffsetDateTime};
use tonic::Status;
use uuid::Uuid;

use super::convert::{self, ACTIVE, PENDING, SALESFORCE};
use super::credentials::reauthentication_reason;
use super::{State, User, parse_id};
use crate::crypto::Purpose;
use crate::error::{internal, peer};
use crate::store::audit::{self, Entry};
use crate::store::connections::{self as rows, NewConnection, SalesforceIdentity};
use crate::store::integrations;

/// How long an OAuth state stays valid.
pub const STATE_TTL: Duration = Duration::minutes(10);

/// A PKCE code verifier (43 characters: 32 random bytes, base64url) and its S256 challenge.
fn pkce_pair() -> (SecretString, String) {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let verifier = B64.encode(raw);
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    (SecretString::from(verifier), challenge)
}

fn hash_state(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

fn check_subdomain(subdomain: &str) -> Result<(), Status> {
    let ok = !subdomain.is_empty()
        && subdomain.len() <= 100
        && subdomain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !subdomain.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "subdomain `{subdomain}` must be the My Domain name alone (letters, digits and dashes, e.g. `acme` for acme.my.salesforce.com), not a URL"
        )))
    }
}

/// The connection a re-authentication is for: the caller's own Salesforce connection.
async fn reconnecting(state: &State, user: &User, id: &str) -> Result<rows::ConnectionRow, Status> {
    let id = parse_id(id, "reconnect_id")?;
    let row = super::connections::load(state, id).await?;
    if row.account != user.account {
        return Err(Status::not_found(format!("connection {id} does not exist")));
    }
    if !tandem_service::same_email(&row.owner, &user.email) {
        return Err(Status::permission_denied(format!(
            "connection {id} belongs to another user; only its owner re-authenticates it"
        )));
    }
    if row.kind != SALESFORCE {
        return Err(Status::invalid_argument(format!(
            "reconnect_id {id} is a monday connection; for monday, create a connection with the new token"
        )));
    }
    Ok(row)
}

#[tracing::instrument(skip_all)]
pub async fn begin(
    state: &State,
    user: User,
    request: pb::CreateConnectionRequest,
) -> Result<pb::CreateConnectionResponse, Status> {
    let existing = if request.reconnect_id.is_empty() {
        None
    } else {
        Some(reconnecting(state, &user, &request.reconnect_id).await?)
    };
    let (subdomain, environment) = match &existing {
        Some(row) => (row.subdomain.clone(), i32::from(row.environment)),
        None => (request.subdomain.trim().to_owned(), request.environment),
    };
    check_subdomain(&subdomain)?;
    if pb::SalesforceEnvironment::try_from(environment).unwrap_or_default()
        == pb::SalesforceEnvironment::Unspecified
    {
        return Err(Status::invalid_argument(
            "environment is required: production, sandbox or developer",
        ));
    }
    let redirect_uri = request.redirect_uri.trim().to_owned();
    if !(redirect_uri.starts_with("https://") || redirect_uri.starts_with("http://")) {
        return Err(Status::invalid_argument(
            "redirect_uri must be an http(s) URL of the OAuth callback",
        ));
    }
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let oauth_state = B64.encode(raw);
    let (code_verifier, code_challenge) = pkce_pair();
    // Ask for the URL first: if the connector refuses, nothing is written.
    let url = state
        .peers
        .salesforce
        .clone()
        .authorize_url(pb::AuthorizeUrlRequest {
            subdomain: subdomain.clone(),
            environment,
            redirect_uri: redirect_uri.clone(),
            state: oauth_state.clone(),
            code_challenge,
        })
        .await
        .map_err(|s| peer("connector-salesforce", s))?
        .into_inner()
        .url;
    let id = existing.as_ref().map_or_else(Uuid::new_v4, |row| row.id);
    let mut tx = state.pool.begin().await.map_err(internal)?;
    if existing.is_none() {
        rows::insert(
            &mut *tx,
            &NewConnection {
                id,
                account: &user.account,
                owner: &user.email,
                kind: SALESFORCE,
                state: PENDING,
                subdomain: &subdomain,
                environment: environment as i16,
                access_token: None,
            },
        )
        .await
        .map_err(internal)?;
    }
    let (verifier_version, verifier_ct) =
        state
            .keys
            .encrypt(id, Purpose::PkceVerifier, code_verifier.expose_secret());
    rows::insert_oauth_state(
        &mut *tx,
        &rows::NewOAuthState {
            state_hash: &hash_state(&oauth_state),
            connection_id: id,
            account: &user.account,
            requested_by: &user.email,
            redirect_uri: &redirect_uri,
            expires_at: OffsetDateTime::now_utc() + STATE_TTL,
            code_verifier: (verifier_version, &verifier_ct),
        },
    )
    .await
    .map_err(internal)?;
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "connection",
            account: &user.account,
            actor: &user.email,
            action: if existing.is_some() {
                "reauthentication_started"
            } else {
                "created"
            },
            changes: vec![format!("salesforce subdomain {subdomain:?}")],
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let row = super::connections::load(state, id).await?;
    tracing::info!(connection_id = %id, reconnect = existing.is_some(), "salesforce oauth started");
    Ok(pb::CreateConnectionResponse {
        connection: Some(convert::connection(&row)),
        authorize_url: url,
        state: oauth_state,
    })
}

#[tracing::instrument(skip_all)]
pub async fn complete(
    state: &State,
    user: User,
    request: pb::CompleteSalesforceConnectionRequest,
) -> Result<pb::Connection, Status> {
    if request.state.is_empty() {
        return Err(Status::invalid_argument("state is required"));
    }
    if request.code.is_empty() {
        return Err(Status::invalid_argument("code is required"));
    }
    let hash = hash_state(&request.state);
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let Some(found) = rows::lock_oauth_state(&mut *tx, &hash)
        .await
        .map_err(internal)?
    else {
        return Err(Status::invalid_argument(
            "state is unknown: start again with CreateConnection",
        ));
    };
    if found.used_at.is_some() {
        return Err(Status::failed_precondition(
            "state was already used: start again with CreateConnection",
        ));
    }
    if found.expires_at <= OffsetDateTime::now_utc() {
        return Err(Status::failed_precondition(
            "state expired (it is valid for 10 minutes): start again with CreateConnection",
        ));
    }
    if !tandem_service::same_email(&found.requested_by, &user.email)
        || found.account != user.account
    {
        return Err(Status::failed_precondition(
            "state was issued to another user: the user who started the connection must complete it",
        ));
    }
    // Single use even when the exchange below fails.
    rows::use_oauth_state(&mut *tx, &hash)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;

    let id = found.connection_id;
    let code_verifier = match (found.code_verifier_key_version, &found.code_verifier_ct) {
        (Some(version), Some(ct)) => state
            .keys
            .decrypt(id, Purpose::PkceVerifier, version as u32, ct)
            .map_err(|e| {
                tracing::error!(connection_id = %id, version = e.version, "pkce verifier does not decrypt");
                Status::failed_precondition(
                    "state cannot be completed (its key is gone): start again with CreateConnection",
                )
            })?,
        _ => {
            return Err(Status::failed_precondition(
                "state was issued before PKCE: start again with CreateConnection",
            ));
        }
    };
    let row = super::connections::load(state, id).await?;
    let tokens = state
        .peers
        .salesforce
        .clone()
        .exchange_code(pb::ExchangeCodeRequest {
            subdomain: row.subdomain.clone(),
            environment: i32::from(row.environment),
            code: request.code,
            redirect_uri: found.redirect_uri,
            code_verifier: code_verifier.expose_secret().to_owned(),
        })
        .await
        .map_err(|s| peer("connector-salesforce", s))?
        .into_inner();
    if !row.salesforce_org_id.is_empty() && row.salesforce_org_id != tokens.org_id {
        // Someone signed in to another org: its integrations must not silently switch orgs.
        let revoked = state
            .peers
            .salesforce
            .clone()
            .revoke_token(pb::RevokeTokenRequest {
                subdomain: row.subdomain.clone(),
                environment: i32::from(row.environment),
                token: tokens.refresh_token.clone(),
            })
            .await;
        if let Err(status) = revoked {
            tracing::warn!(connection_id = %id, code = ?status.code(), "could not revoke the other org's token");
        }
        return Err(Status::failed_precondition(format!(
            "the sign-in was to org {}, but connection {id} belongs to org {}: sign in with a user of that org",
            tokens.org_id, row.salesforce_org_id
        )));
    }
    let (version, access_ct) = state
        .keys
        .encrypt(id, Purpose::Access, &tokens.access_token);
    let (_, refresh_ct) = state
        .keys
        .encrypt(id, Purpose::Refresh, &tokens.refresh_token);
    let reconnect = row.state != PENDING;
    let mut tx = state.pool.begin().await.map_err(internal)?;
    rows::activate_salesforce(
        &mut *tx,
        id,
        ACTIVE,
        &SalesforceIdentity {
            instance_url: &tokens.instance_url,
            org_id: &tokens.org_id,
            user_id: &tokens.user_id,
            username: &tokens.username,
            scopes: &tokens.scopes,
            key_version: version as i32,
            access_token_ct: access_ct,
            refresh_token_ct: refresh_ct,
        },
    )
    .await
    .map_err(internal)?;
    let resumed = integrations::resume_paused(&mut *tx, id, &reauthentication_reason(id))
        .await
        .map_err(internal)?;
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "connection",
            account: &user.account,
            actor: &user.email,
            action: if reconnect {
                "reauthenticated"
            } else {
                "connected"
            },
            changes: vec![format!(
                "salesforce org {} as {}",
                tokens.org_id, tokens.username
            )],
        },
    )
    .await
    .map_err(internal)?;
    audit::append_cascade(
        &mut tx,
        &resumed,
        &user.email,
        "resumed",
        &format!("connection {id} re-authenticated"),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(connection_id = %id, org_id = %tokens.org_id, resumed = resumed.len(), "salesforce connection completed");
    Ok(convert::connection(
        &super::connections::load(state, id).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pkce_challenge_is_the_s256_of_a_fresh_43_character_verifier() {
        let (verifier, challenge) = pkce_pair();
        let verifier = verifier.expose_secret();
        assert_eq!(verifier.len(), 43);
        assert!(
            verifier
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(challenge, B64.encode(Sha256::digest(verifier.as_bytes())));
        assert_ne!(pkce_pair().1, challenge, "fresh each time");
    }
}
