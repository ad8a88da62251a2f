//! The `connections` and `oauth_states` tables.

use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: Uuid,
    pub account: String,
    pub owner: String,
    pub kind: i16,
    pub state: i16,
    pub state_reason: String,
    pub subdomain: String,
    pub environment: i16,
    pub instance_url: String,
    pub salesforce_org_id: String,
    pub salesforce_username: String,
    pub scopes: Vec<String>,
    pub monday_account_id: String,
    pub monday_user_email: String,
    pub key_version: Option<i32>,
    pub access_token_ct: Option<Vec<u8>>,
    pub refresh_token_ct: Option<Vec<u8>>,
    pub token_generation: i64,
    pub created_at: OffsetDateTime,
}

const COLUMNS: &str = "id, account, owner, kind, state, state_reason, subdomain, environment, \
    instance_url, salesforce_org_id, salesforce_username, scopes, \
    monday_account_id, monday_user_email, key_version, access_token_ct, refresh_token_ct, \
    token_generation, created_at";

/// A connection being created.
pub struct NewConnection<'a> {
    pub id: Uuid,
    pub account: &'a str,
    pub owner: &'a str,
    pub kind: i16,
    pub state: i16,
    pub subdomain: &'a str,
    pub environment: i16,
    /// monday: the API token, encrypted (version, ciphertext).
    pub access_token: Option<(i32, Vec<u8>)>,
}

pub async fn insert(db: impl PgExecutor<'_>, c: &NewConnection<'_>) -> Result<(), sqlx::Error> {
    let (version, ct) = match &c.access_token {
        Some((v, ct)) => (Some(*v), Some(ct.as_slice())),
        None => (None, None),
    };
    sqlx::query(
        "INSERT INTO connections (id, account, owner, kind, state, subdomain, environment, \
         key_version, access_token_ct) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.id)
    .bind(c.account)
    .bind(c.owner)
    .bind(c.kind)
    .bind(c.state)
    .bind(c.subdomain)
    .bind(c.environment)
    .bind(version)
    .bind(ct)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<ConnectionRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM connections WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The owner's connections, newest first, after the keyset `after`.
pub async fn list(
    db: &PgPool,
    account: &str,
    owner: &str,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<ConnectionRow>, sqlx::Error> {
    let (at, id) = after.unzip();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM connections WHERE account = $1 AND lower(owner) = lower($2) \
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    )))
    .bind(account)
    .bind(owner)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn set_state(
    db: impl PgExecutor<'_>,
    id: Uuid,
    state: i16,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connections SET state = $2, state_reason = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(())
}

/// What the Salesforce OAuth callback establishes.
pub struct SalesforceIdentity<'a> {
    pub instance_url: &'a str,
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub username: &'a str,
    pub scopes: &'a [String],
    pub key_version: i32,
    pub access_token_ct: Vec<u8>,
    pub refresh_token_ct: Vec<u8>,
}

pub async fn activate_salesforce(
    db: impl PgExecutor<'_>,
    id: Uuid,
    state: i16,
    s: &SalesforceIdentity<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connections SET state = $2, state_reason = '', instance_url = $3, \
         salesforce_org_id = $4, salesforce_user_id = $5, salesforce_username = $6, scopes = $7, \
         key_version = $8, access_token_ct = $9, refresh_token_ct = $10, \
         token_generation = token_generation + 1, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(s.instance_url)
    .bind(s.org_id)
    .bind(s.user_id)
    .bind(s.username)
    .bind(s.scopes)
    .bind(s.key_version)
    .bind(&s.access_token_ct)
    .bind(&s.refresh_token_ct)
    .execute(db)
    .await?;
    Ok(())
}

/// Stores a refreshed pair if nobody refreshed since `generation`; false when someone did.
/// Without a new refresh token, the stored one is re-encrypted with the same key version.
pub async fn store_refreshed(
    db: impl PgExecutor<'_>,
    id: Uuid,
    generation: i64,
    key_version: i32,
    access_token_ct: &[u8],
    refresh_token_ct: &[u8],
    instance_url: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET key_version = $3, access_token_ct = $4, refresh_token_ct = $5, \
         instance_url = CASE WHEN $6 = '' THEN instance_url ELSE $6 END, \
         token_generation = token_generation + 1, updated_at = now() \
         WHERE id = $1 AND token_generation = $2",
    )
    .bind(id)
    .bind(generation)
    .bind(key_version)
    .bind(access_token_ct)
    .bind(refresh_token_ct)
    .bind(instance_url)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the ciphertexts with ones under a newer key, if no refresh happened since
/// `generation` (the generation is kept: the tokens are the same).
pub async fn reencrypt(
    db: impl PgExecutor<'_>,
    id: Uuid,
    generation: i64,
    key_version: i32,
    access_token_ct: &[u8],
    refresh_token_ct: Option<&[u8]>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE connections SET key_version = $3, access_token_ct = $4, refresh_token_ct = $5, \
         updated_at = now() WHERE id = $1 AND token_generation = $2",
    )
    .bind(id)
    .bind(generation)
    .bind(key_version)
    .bind(access_token_ct)
    .bind(refresh_token_ct)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM connections WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A new single-use OAuth state (only its hash is kept) with its encrypted PKCE verifier.
pub struct NewOAuthState<'a> {
    pub state_hash: &'a [u8],
    pub connection_id: Uuid,
    pub account: &'a str,
    pub requested_by: &'a str,
    pub redirect_uri: &'a str,
    pub expires_at: OffsetDateTime,
    /// (key version, ciphertext) of the code verifier.
    pub code_verifier: (u32, &'a [u8]),
}

pub async fn insert_oauth_state(
    db: impl PgExecutor<'_>,
    n: &NewOAuthState<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, connection_id, account, requested_by, \
         redirect_uri, expires_at, code_verifier_key_version, code_verifier_ct) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(n.state_hash)
    .bind(n.connection_id)
    .bind(n.account)
    .bind(n.requested_by)
    .bind(n.redirect_uri)
    .bind(n.expires_at)
    .bind(n.code_verifier.0 as i32)
    .bind(n.code_verifier.1)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct OAuthStateRow {
    pub connection_id: Uuid,
    pub account: String,
    pub requested_by: String,
    pub redirect_uri: String,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub code_verifier_key_version: Option<i32>,
    pub code_verifier_ct: Option<Vec<u8>>,
}

/// Locks the state row for the rest of the transaction.
pub async fn lock_oauth_state(
    db: impl PgExecutor<'_>,
    state_hash: &[u8],
) -> Result<Option<OAuthStateRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT connection_id, account, requested_by, redirect_uri, expires_at, used_at, \
         code_verifier_key_version, code_verifier_ct \
         FROM oauth_states WHERE state_hash = $1 FOR UPDATE",
    )
    .bind(state_hash)
    .fetch_optional(db)
    .await
}

pub async fn use_oauth_state(
    db: impl PgExecutor<'_>,
    state_hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE oauth_states SET used_at = now() WHERE state_hash = $1")
        .bind(state_hash)
        .execute(db)
        .await?;
    Ok(())
}
