//! Decrypted credentials for the connectors, and token refresh: one refresh per connection
//! at a time across replicas (a Redis lock, `SET NX PX` released by compare-and-delete, as
//! the cheap filter; the `token_generation` check in Postgres as the guarantee), the new pair
//! stored before it is returned.

use std::time::{Duration, Instant};

use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::Status;
use uuid::Uuid;

use super::connections::load;
use super::convert::{MONDAY, NEEDS_REAUTH, PENDING, SALESFORCE};
use super::{State, actor};
use crate::crypto::Purpose;
use crate::error::{internal, peer, redis_down};
use crate::store::audit::{self, Entry};
use crate::store::connections::{self as rows, ConnectionRow};
use crate::store::integrations;

/// How long a refresh may hold the lock before another replica may take over (longer than
/// the connector call timeout, so a slow refresh is never run twice).
const LOCK_TTL: Duration = Duration::from_secs(60);
/// How long a caller waits for another replica's refresh.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

fn readable(row: &ConnectionRow) -> Result<(), Status> {
    if row.state == NEEDS_REAUTH {
        return Err(Status::failed_precondition(format!(
            "connection {} needs re-authentication: {}",
            row.id, row.state_reason
        )));
    }
    if row.state == PENDING && row.kind == SALESFORCE {
        return Err(Status::failed_precondition(format!(
            "connection {} is not complete: the OAuth callback has not arrived",
            row.id
        )));
    }
    Ok(())
}

fn decrypt(state: &State, row: &ConnectionRow, purpose: Purpose) -> Result<SecretString, Status> {
    let ct = match purpose {
        Purpose::Access => row.access_token_ct.as_ref(),
        Purpose::Refresh => row.refresh_token_ct.as_ref(),
        Purpose::PkceVerifier => None,
    };
    let (Some(version), Some(ct)) = (row.key_version, ct) else {
        return Err(Status::failed_precondition(format!(
            "connection {} holds no token",
            row.id
        )));
    };
    state
        .keys
        .decrypt(row.id, purpose, version as u32, ct)
        .map_err(|error| {
            tracing::error!(connection_id = %row.id, %error, "stored token does not decrypt");
            Status::data_loss(format!(
                "the stored credentials of connection {} do not decrypt; reconnect it",
                row.id
            ))
        })
}

fn credentials(row: &ConnectionRow, access: &SecretString) -> pb::Credentials {
    pb::Credentials {
        connection_id: row.id.to_string(),
        kind: i32::from(row.kind),
        access_token: access.expose_secret().to_owned(),
        instance_url: row.instance_url.clone(),
        subdomain: row.subdomain.clone(),
        environment: i32::from(row.environment),
    }
}

#[tracing::instrument(skip_all, fields(connection_id = %id))]
pub async fn get(state: &State, id: Uuid) -> Result<pb::Credentials, Status> {
    let row = load(state, id).await?;
    readable(&row)?;
    let access = decrypt(state, &row, Purpose::Access)?;
    if row
        .key_version
        .is_some_and(|v| v as u32 != state.keys.current_version())
    {
        rotate(state, &row, &access).await;
    }
    Ok(credentials(&row, &access))
}

/// Re-encrypts a row's tokens with the newest key (after a rotation added one), unless a
/// refresh changed them meanwhile. Best effort: the old key still decrypts.
async fn rotate(state: &State, row: &ConnectionRow, access: &SecretString) {
    let refresh = match row.refresh_token_ct {
        Some(_) => match decrypt(state, row, Purpose::Refresh) {
            Ok(r) => Some(r),
            Err(_) => return,
        },
        None => None,
    };
    let (version, access_ct) = state
        .keys
        .encrypt(row.id, Purpose::Access, access.expose_secret());
    let refresh_ct = refresh.map(|r| {
        state
            .keys
            .encrypt(row.id, Purpose::Refresh, r.expose_secret())
            .1
    });
    match rows::reencrypt(
        &state.pool,
        row.id,
        row.token_generation,
        version as i32,
        &access_ct,
        refresh_ct.as_deref(),
    )
    .await
    {
        Ok(true) => {
            tracing::info!(connection_id = %row.id, key_version = version, "tokens re-encrypted with the newest key")
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(connection_id = %row.id, %error, "re-encryption skipped"),
    }
}

#[tracing::instrument(skip_all, fields(connection_id = %id))]
pub async fn refresh(
    state: &State,
    who: &Identity,
    id: Uuid,
    stale: &str,
) -> Result<pb::Credentials, Status> {
    if stale.is_empty() {
        return Err(Status::invalid_argument("stale_access_token is required"));
    }
    let key = format!("{}:mapping-config:refresh:{id}", state.redis_prefix);
    let mut token = [0u8; 16];
    rand::rng().fill_bytes(&mut token);
    let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let deadline = Instant::now() + WAIT_FOR_OTHER;
    loop {
        let row = load(state, id).await?;
        if row.kind == MONDAY {
            return Err(Status::failed_precondition(format!(
                "connection {id} is a monday connection; its token does not refresh"
            )));
        }
        readable(&row)?;
        let current = decrypt(state, &row, Purpose::Access)?;
        if current.expose_secret() != stale {
            // Someone refreshed already: hand out what is stored.
            return Ok(credentials(&row, &current));
        }
        let mut redis = state.redis.clone();
        let acquired: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(LOCK_TTL.as_millis() as u64)
            .query_async(&mut redis)
            .await
            .map_err(redis_down)?;
        if acquired.is_some() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Status::unavailable(format!(
                "another refresh of connection {id} is still running; retry"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
    let result = refresh_locked(state, who, id, stale).await;
    let mut redis = state.redis.clone();
    let released: Result<i64, _> = redis::Script::new(RELEASE)
        .key(&key)
        .arg(&token)
        .invoke_async(&mut redis)
        .await;
    if let Err(error) = released {
        tracing::warn!(connection_id = %id, %error, "refresh lock not released; it expires");
    }
    result
}

/// A refresh error that only the user can fix by signing in again: Salesforce answered
/// `invalid_grant` (refresh token revoked or expired, user deactivated, …). Anything else —
/// the connector not configured (`invalid_client_id`, no client id), Salesforce down — is the
/// deployment's problem and leaves the connection as it is.
fn is_permanent(status: &Status) -> bool {
    status.message().contains("invalid_grant")
}

async fn refresh_locked(
    state: &State,
    who: &Identity,
    id: Uuid,
    stale: &str,
) -> Result<pb::Credentials, Status> {
    let row = load(state, id).await?;
    readable(&row)?;
    let current = decrypt(state, &row, Purpose::Access)?;
    if current.expose_secret() != stale {
        return Ok(credentials(&row, &current));
    }
    let refresh_token = decrypt(state, &row, Purpose::Refresh)?;
    let answer = state
        .peers
        .salesforce
        .clone()
        .refresh_token(pb::RefreshTokenRequest {
            subdomain: row.subdomain.clone(),
            environment: i32::from(row.environment),
            refresh_token: refresh_token.expose_secret().to_owned(),
        })
        .await;
    let tokens = match answer {
        Ok(t) => t.into_inner(),
        Err(status) if is_permanent(&status) => {
            let reason = format!("the Salesforce token refresh failed: {}", status.message());
            needs_reauthentication(state, who, &row, &reason).await?;
            return Err(Status::failed_precondition(format!(
                "connection {id} needs re-authentication: {reason}"
            )));
        }
        Err(status) => return Err(peer("connector-salesforce", status)),
    };
    let new_refresh = if tokens.refresh_token.is_empty() {
        refresh_token.expose_secret().to_owned()
    } else {
        tokens.refresh_token.clone()
    };
    let (version, access_ct) = state
        .keys
        .encrypt(id, Purpose::Access, &tokens.access_token);
    let (_, refresh_ct) = state.keys.encrypt(id, Purpose::Refresh, &new_refresh);
    let stored = rows::store_refreshed(
        &state.pool,
        id,
        row.token_generation,
        version as i32,
        &access_ct,
        &refresh_ct,
        &tokens.instance_url,
    )
    .await
    .map_err(internal)?;
    let row = load(state, id).await?;
    if !stored {
        // Another replica refreshed while our lock had expired: its pair is the stored one.
        tracing::warn!(connection_id = %id, "refresh lost the generation race; using the stored pair");
        let current = decrypt(state, &row, Purpose::Access)?;
        return Ok(credentials(&row, &current));
    }
    tracing::info!(connection_id = %id, rotated = !tokens.refresh_token.is_empty(), "salesforce token refreshed");
    Ok(credentials(&row, &SecretString::from(tokens.access_token)))
}

/// Why integrations are paused while `connection` needs re-authentication (re-authenticating
/// it resumes exactly those).
pub(super) fn reauthentication_reason(connection: Uuid) -> String {
    format!("connection {connection} needs re-authentication")
}

/// Marks the connection as needing re-authentication and pauses its integrations; nothing
/// else changes, so reconnecting and updating the integration resumes it.
async fn needs_reauthentication(
    state: &State,
    who: &Identity,
    row: &ConnectionRow,
    reason: &str,
) -> Result<(), Status> {
    let actor = actor(who);
    let pause_reason = reauthentication_reason(row.id);
    let mut tx = state.pool.begin().await.map_err(internal)?;
    rows::set_state(&mut *tx, row.id, NEEDS_REAUTH, reason)
        .await
        .map_err(internal)?;
    let paused = integrations::pause_using(&mut *tx, row.id, &pause_reason)
        .await
        .map_err(internal)?;
    audit::append(
        &mut *tx,
        &Entry {
            subject_id: row.id,
            subject_kind: "connection",
            account: &row.account,
            actor: &actor,
            action: "needs_reauthentication",
            changes: vec![reason.to_owned()],
        },
    )
    .await
    .map_err(internal)?;
    audit::append_cascade(&mut tx, &paused, &actor, "paused", &pause_reason)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::warn!(connection_id = %row.id, paused = paused.len(), "connection needs re-authentication");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_grant_needs_the_user_to_sign_in_again() {
        let cases = [
            (
                Status::failed_precondition(
                    "salesforce refused the token refresh: invalid_grant: expired access/refresh token",
                ),
                true,
            ),
            (
                Status::failed_precondition(
                    "salesforce refused the token refresh: invalid_client_id: client identifier invalid",
                ),
                false,
            ),
            (
                Status::failed_precondition("TANDEM_SALESFORCE_CLIENT_ID is not set"),
                false,
            ),
            (Status::unavailable("salesforce is unavailable: 503"), false),
            (
                Status::permission_denied("RefreshToken is for Tandem services"),
                false,
            ),
        ];
        for (status, permanent) in cases {
            assert_eq!(is_permanent(&status), permanent, "{status:?}");
        }
    }
}
