//! Connections: Salesforce OAuth begin/complete, monday tokens, listing and deletion (which
//! revokes at the provider and pauses the integrations using the connection).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore as _;
use secrecy::ExposeSecret as _;
use sha2::{Digest, Sha256};
use tandem_proto::v1 as pb;
use tandem_service::Identity;
use time::{Duration, OffsetDateTime};
use tonic::{Code, Status};
use uuid::Uuid;

use super::convert::{self, ACTIVE, MONDAY, PENDING, SALESFORCE};
use super::{State, User, parse_id};
use crate::crypto::Purpose;
use crate::error::{internal, peer};
use crate::store::audit::{self, Entry};
use crate::store::connections::{self as rows, ConnectionRow, NewConnection, SalesforceIdentity};
use crate::store::integrations;

/// How long an OAuth state stays valid.
pub const STATE_TTL: Duration = Duration::minutes(10);
const MAX_TOKEN_CHARS: usize = 4_096;
const CONNECTIONS_PAGE: (u32, u32) = (50, 500);

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

pub async fn create(
    state: &State,
    user: User,
    request: pb::CreateConnectionRequest,
) -> Result<pb::CreateConnectionResponse, Status> {
    match pb::ConnectionKind::try_from(request.kind).unwrap_or_default() {
        pb::ConnectionKind::Salesforce => begin_salesforce(state, user, request).await,
        pb::ConnectionKind::Monday => create_monday(state, user, request).await,
        pb::ConnectionKind::Unspecified => Err(Status::invalid_argument(
            "kind is required: CONNECTION_KIND_SALESFORCE or CONNECTION_KIND_MONDAY",
        )),
    }
}

async fn begin_salesforce(
    state: &State,
    user: User,
    request: pb::CreateConnectionRequest,
) -> Result<pb::CreateConnectionResponse, Status> {
    let subdomain = request.subdomain.trim().to_owned();
    check_subdomain(&subdomain)?;
    if pb::SalesforceEnvironment::try_from(request.environment).unwrap_or_default()
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
    // Ask for the URL first: if the connector refuses, nothing is written.
    let url = state
        .peers
        .salesforce
        .clone()
        .authorize_url(pb::AuthorizeUrlRequest {
            subdomain: subdomain.clone(),
            environment: request.environment,
            redirect_uri: redirect_uri.clone(),
            state: oauth_state.clone(),
        })
        .await
        .map_err(|s| peer("connector-salesforce", s))?
        .into_inner()
        .url;
    let id = Uuid::new_v4();
    let mut tx = state.pool.begin().await.map_err(internal)?;
    rows::insert(
        &mut *tx,
        &NewConnection {
            id,
            account: &user.account,
            owner: &user.email,
            kind: SALESFORCE,
            state: PENDING,
            subdomain: &subdomain,
            environment: request.environment as i16,
            access_token: None,
        },
    )
    .await
    .map_err(internal)?;
    rows::insert_oauth_state(
        &mut *tx,
        &hash_state(&oauth_state),
        id,
        &user.account,
        &user.email,
        &redirect_uri,
        OffsetDateTime::now_utc() + STATE_TTL,
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
            action: "created",
            changes: vec![format!("salesforce subdomain {subdomain:?}")],
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let row = rows::get(&state.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::unavailable("the new connection vanished; retry"))?;
    tracing::info!(connection_id = %id, "salesforce connection started");
    Ok(pb::CreateConnectionResponse {
        connection: Some(convert::connection(&row)),
        authorize_url: url,
        state: oauth_state,
    })
}

async fn create_monday(
    state: &State,
    user: User,
    request: pb::CreateConnectionRequest,
) -> Result<pb::CreateConnectionResponse, Status> {
    let token = request.monday_token.trim();
    if token.is_empty() {
        return Err(Status::invalid_argument("monday_token is required"));
    }
    if token.len() > MAX_TOKEN_CHARS {
        return Err(Status::invalid_argument(format!(
            "monday_token is longer than {MAX_TOKEN_CHARS} characters"
        )));
    }
    let id = Uuid::new_v4();
    let (version, ct) = state.keys.encrypt(id, Purpose::Access, token);
    // Stored first (pending): connector-monday resolves the token by connection id.
    rows::insert(
        &state.pool,
        &NewConnection {
            id,
            account: &user.account,
            owner: &user.email,
            kind: MONDAY,
            state: PENDING,
            subdomain: "",
            environment: 0,
            access_token: Some((version as i32, ct)),
        },
    )
    .await
    .map_err(internal)?;
    let checked = state
        .peers
        .monday
        .clone()
        .list_users(pb::ListUsersRequest {
            connection_id: id.to_string(),
        })
        .await;
    if let Err(status) = checked {
        rows::delete(&state.pool, id).await.map_err(internal)?;
        return Err(match status.code() {
            Code::Unauthenticated
            | Code::PermissionDenied
            | Code::InvalidArgument
            | Code::FailedPrecondition => Status::invalid_argument(format!(
                "monday_token was refused by monday: {}",
                status.message()
            )),
            _ => peer("connector-monday", status),
        });
    }
    let mut tx = state.pool.begin().await.map_err(internal)?;
    rows::set_state(&mut *tx, id, ACTIVE, "")
        .await
        .map_err(internal)?;
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "connection",
            account: &user.account,
            actor: &user.email,
            action: "connected",
            changes: vec!["monday token checked".to_owned()],
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    let row = load(state, id).await?;
    tracing::info!(connection_id = %id, "monday connection created");
    Ok(pb::CreateConnectionResponse {
        connection: Some(convert::connection(&row)),
        authorize_url: String::new(),
        state: String::new(),
    })
}

pub async fn complete_salesforce(
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
    if found.requested_by != user.email || found.account != user.account {
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
    let row = load(state, id).await?;
    let tokens = state
        .peers
        .salesforce
        .clone()
        .exchange_code(pb::ExchangeCodeRequest {
            subdomain: row.subdomain.clone(),
            environment: i32::from(row.environment),
            code: request.code,
            redirect_uri: found.redirect_uri,
        })
        .await
        .map_err(|s| peer("connector-salesforce", s))?
        .into_inner();
    let (version, access_ct) = state
        .keys
        .encrypt(id, Purpose::Access, &tokens.access_token);
    let (_, refresh_ct) = state
        .keys
        .encrypt(id, Purpose::Refresh, &tokens.refresh_token);
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
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "connection",
            account: &user.account,
            actor: &user.email,
            action: "connected",
            changes: vec![format!(
                "salesforce org {} as {}",
                tokens.org_id, tokens.username
            )],
        },
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(connection_id = %id, org_id = %tokens.org_id, "salesforce connection completed");
    Ok(convert::connection(&load(state, id).await?))
}

pub(super) async fn load(state: &State, id: Uuid) -> Result<ConnectionRow, Status> {
    rows::get(&state.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("connection {id} does not exist")))
}

pub async fn get(state: &State, who: &Identity, id: &str) -> Result<pb::Connection, Status> {
    let id = parse_id(id, "id")?;
    let row = load(state, id).await?;
    if let Identity::User { account, email } = who {
        if *account != row.account {
            return Err(Status::not_found(format!("connection {id} does not exist")));
        }
        if *email != row.owner {
            return Err(Status::permission_denied(format!(
                "connection {id} belongs to another user"
            )));
        }
    }
    Ok(convert::connection(&row))
}

pub async fn list(
    state: &State,
    user: User,
    request: pb::ListConnectionsRequest,
) -> Result<pb::ListConnectionsResponse, Status> {
    let limit = convert::page_size(
        request.page.as_ref(),
        CONNECTIONS_PAGE.0,
        CONNECTIONS_PAGE.1,
    )?;
    let after = convert::parse_keyset(request.page.as_ref())?;
    let rows = rows::list(&state.pool, &user.account, &user.email, after, limit + 1)
        .await
        .map_err(internal)?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next = match (more, rows.last()) {
        (true, Some(last)) => convert::keyset_token(last.created_at, last.id),
        _ => String::new(),
    };
    Ok(pb::ListConnectionsResponse {
        connections: rows.iter().map(convert::connection).collect(),
        page: Some(pb::PageResponse {
            next_page_token: next,
        }),
    })
}

pub async fn delete(
    state: &State,
    user: User,
    id: &str,
) -> Result<pb::DeleteConnectionResponse, Status> {
    let id = parse_id(id, "id")?;
    let row = load(state, id).await?;
    if row.account != user.account {
        return Err(Status::not_found(format!("connection {id} does not exist")));
    }
    if row.owner != user.email {
        return Err(Status::permission_denied(format!(
            "connection {id} belongs to another user; only its owner deletes it"
        )));
    }
    revoke(state, &row).await?;
    let reason = format!("connection {id} was deleted");
    let mut tx = state.pool.begin().await.map_err(internal)?;
    rows::delete(&mut *tx, id).await.map_err(internal)?;
    let paused = integrations::pause_using(&mut *tx, id, &reason)
        .await
        .map_err(internal)?;
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: id,
            subject_kind: "connection",
            account: &user.account,
            actor: &user.email,
            action: "deleted",
            changes: vec!["tokens revoked and deleted".to_owned()],
        },
    )
    .await
    .map_err(internal)?;
    for (integration, account) in &paused {
        audit::append(
            &mut *tx,
            &Entry {
                subject_id: *integration,
                subject_kind: "integration",
                account,
                actor: &user.email,
                action: "paused",
                changes: vec![reason.clone()],
            },
        )
        .await
        .map_err(internal)?;
    }
    tx.commit().await.map_err(internal)?;
    tracing::info!(connection_id = %id, paused = paused.len(), "connection deleted");
    Ok(pb::DeleteConnectionResponse {
        paused_integration_ids: paused.iter().map(|(i, _)| i.to_string()).collect(),
    })
}

/// Revokes a Salesforce connection's refresh token (which revokes its access tokens too).
/// An unreachable connector stops the deletion (retry later); a token Salesforce no longer
/// knows is fine. monday API tokens cannot be revoked through the API: deleting the
/// ciphertext is all Tandem can do.
async fn revoke(state: &State, row: &ConnectionRow) -> Result<(), Status> {
    if row.kind != SALESFORCE {
        return Ok(());
    }
    let (Some(version), Some(ct)) = (row.key_version, row.refresh_token_ct.as_ref()) else {
        return Ok(());
    };
    let token = match state
        .keys
        .decrypt(row.id, Purpose::Refresh, version as u32, ct)
    {
        Ok(t) => t,
        Err(error) => {
            tracing::warn!(connection_id = %row.id, %error, "refresh token unreadable; deleting without revoking");
            return Ok(());
        }
    };
    let revoked = state
        .peers
        .salesforce
        .clone()
        .revoke_token(pb::RevokeTokenRequest {
            subdomain: row.subdomain.clone(),
            environment: i32::from(row.environment),
            token: token.expose_secret().to_owned(),
        })
        .await;
    match revoked {
        Ok(_) => Ok(()),
        Err(status)
            if matches!(
                status.code(),
                Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::ResourceExhausted
                    | Code::Unknown
            ) =>
        {
            Err(peer("connector-salesforce", status))
        }
        Err(status) => {
            tracing::warn!(connection_id = %row.id, code = ?status.code(), "revoke refused; token already invalid");
            Ok(())
        }
    }
}
