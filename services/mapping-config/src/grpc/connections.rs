//! Connections: monday tokens, reading, listing and deletion (which revokes at the provider
//! and pauses the integrations using the connection). The Salesforce OAuth flow is in
//! `oauth.rs`.

use secrecy::ExposeSecret as _;
use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::{Code, Status};
use uuid::Uuid;

use super::convert::{self, ACTIVE, MONDAY, PENDING, SALESFORCE};
use super::{State, User, parse_id};
use crate::crypto::Purpose;
use crate::error::{internal, peer};
use crate::store::audit::{self, Entry};
use crate::store::connections::{self as rows, ConnectionRow, NewConnection};
use crate::store::integrations;

const MAX_TOKEN_CHARS: usize = 4_096;
const CONNECTIONS_PAGE: (u32, u32) = (50, 500);

pub async fn create(
    state: &State,
    user: User,
    request: pb::CreateConnectionRequest,
) -> Result<pb::CreateConnectionResponse, Status> {
    match pb::ConnectionKind::try_from(request.kind).unwrap_or_default() {
        pb::ConnectionKind::Salesforce => super::oauth::begin(state, user, request).await,
        pb::ConnectionKind::Monday => create_monday(state, user, request).await,
        pb::ConnectionKind::Unspecified => Err(Status::invalid_argument(
            "kind is required: CONNECTION_KIND_SALESFORCE or CONNECTION_KIND_MONDAY",
        )),
    }
}

async fn create_monday(
    state: &State,
    user: User,
    request: pb::CreateConnectionRequest,
) -> Result<pb::CreateConnectionResponse, Status> {
    if !request.reconnect_id.is_empty() {
        return Err(Status::invalid_argument(
            "reconnect_id is for Salesforce connections; for monday, create a connection with the new token",
        ));
    }
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
            // The connector speaks of the (pending, now deleted) connection; the person
            // needs to hear about the token they typed.
            Code::Unauthenticated | Code::FailedPrecondition => Status::invalid_argument(
                "monday_token was refused by monday: it is wrong, expired or revoked (copy it again from your avatar → Developers → My access tokens)",
            ),
            Code::PermissionDenied | Code::InvalidArgument => Status::invalid_argument(format!(
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
        if !tandem_service::same_email(email, &row.owner) {
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

#[tracing::instrument(skip_all, fields(connection_id = %id))]
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
    if !tandem_service::same_email(&row.owner, &user.email) {
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
    audit::append_cascade(&mut tx, &paused, &user.email, "paused", &reason)
        .await
        .map_err(internal)?;
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
