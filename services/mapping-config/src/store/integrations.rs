//! The `integrations` table. The spec is kept protobuf-encoded; the two connection ids and the
//! board id are copied out for lookups.

use prost::Message as _;
use tandem_proto::v1 as pb;

use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntegrationRow {
    pub id: Uuid,
    pub account: String,
    pub owner: String,
    pub spec: Vec<u8>,
    pub state: i16,
    pub state_reason: String,
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str =
    "id, account, owner, spec, state, state_reason, version, created_at, updated_at";

pub struct NewIntegration<'a> {
    pub id: Uuid,
    pub account: &'a str,
    pub owner: &'a str,
    pub spec: &'a [u8],
    pub monday_connection_id: Option<Uuid>,
    pub salesforce_connection_id: Option<Uuid>,
    pub state: i16,
    pub state_reason: &'a str,
}

/// The board id inside an encoded spec ('' when it cannot be read).
fn board_of(spec: &[u8]) -> String {
    pb::IntegrationSpec::decode(spec)
        .map(|s| s.board_id)
        .unwrap_or_default()
}

/// The Salesforce object inside an encoded spec ('' when it cannot be read).
fn object_of(spec: &[u8]) -> String {
    pb::IntegrationSpec::decode(spec)
        .map(|s| s.salesforce_object.trim().to_owned())
        .unwrap_or_default()
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    n: &NewIntegration<'_>,
) -> Result<IntegrationRow, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO integrations (id, account, owner, spec, monday_connection_id, \
         salesforce_connection_id, state, state_reason, board_id, salesforce_object) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    )))
    .bind(n.id)
    .bind(n.account)
    .bind(n.owner)
    .bind(n.spec)
    .bind(n.monday_connection_id)
    .bind(n.salesforce_connection_id)
    .bind(n.state)
    .bind(n.state_reason)
    .bind(board_of(n.spec))
    .bind(object_of(n.spec))
    .fetch_one(db)
    .await
}

pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<IntegrationRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Which integrations a list returns.
pub enum Scope<'a> {
    /// Every integration of an account (users).
    Account(&'a str),
    /// Every integration (services).
    All,
}

/// What a plain list keeps, besides its scope.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    /// Only this state (1 active, 2 paused).
    pub state: Option<i16>,
    /// Only those syncing this monday board.
    pub board_id: Option<&'a str>,
    /// Only those owned by this email (compared without case).
    pub owner: Option<&'a str>,
}

/// The integrations of `scope` that pass `filter`, newest first, after the keyset `after`.
pub async fn list(
    db: &PgPool,
    scope: Scope<'_>,
    filter: &Filter<'_>,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<IntegrationRow>, sqlx::Error> {
    let account = match scope {
        Scope::Account(a) => Some(a),
        Scope::All => None,
    };
    let (at, id) = after.unzip();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations \
         WHERE ($1::text IS NULL OR account = $1) AND ($2::smallint IS NULL OR state = $2) \
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         AND ($6::text IS NULL OR board_id = $6) \
         AND ($7::text IS NULL OR lower(owner) = lower($7)) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    )))
    .bind(account)
    .bind(filter.state)
    .bind(at)
    .bind(id)
    .bind(limit)
    .bind(filter.board_id)
    .bind(filter.owner.map(str::trim))
    .fetch_all(db)
    .await
}

/// Active integrations syncing `object` on a connection to the org `org_id` (compared by its
/// 15-character form, so either length matches), newest first, after the keyset `after`.
pub async fn list_on_object(
    db: &PgPool,
    org_id: &str,
    object: &str,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<IntegrationRow>, sqlx::Error> {
    let (at, id) = after.unzip();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations \
         WHERE state = 1 AND salesforce_object = $2 \
         AND salesforce_connection_id IN \
             (SELECT id FROM connections WHERE left(salesforce_org_id, 15) = left($1, 15)) \
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    )))
    .bind(org_id)
    .bind(object)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Copies the Salesforce object out of the spec of rows written before the column existed.
pub async fn fill_objects(db: &PgPool) -> Result<u64, sqlx::Error> {
    let rows: Vec<(Uuid, Vec<u8>)> =
        sqlx::query_as("SELECT id, spec FROM integrations WHERE salesforce_object = ''")
            .fetch_all(db)
            .await?;
    let mut filled = 0;
    for (id, spec) in rows {
        let object = object_of(&spec);
        if object.is_empty() {
            continue;
        }
        filled += sqlx::query(
            "UPDATE integrations SET salesforce_object = $2 WHERE id = $1 AND salesforce_object = ''",
        )
        .bind(id)
        .bind(object)
        .execute(db)
        .await?
        .rows_affected();
    }
    Ok(filled)
}

/// The change feed: integrations of `scope` changed at or after `since`, in every state, oldest
/// change first, after the keyset position `after`.
pub async fn list_changed(
    db: &PgPool,
    scope: Scope<'_>,
    since: OffsetDateTime,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<IntegrationRow>, sqlx::Error> {
    let account = match scope {
        Scope::Account(a) => Some(a),
        Scope::All => None,
    };
    let (at, id) = after.unzip();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM integrations \
         WHERE ($1::text IS NULL OR account = $1) AND updated_at >= $2 \
         AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4)) \
         ORDER BY updated_at, id LIMIT $5"
    )))
    .bind(account)
    .bind(since)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The new settings of an integration.
pub struct Change<'a> {
    pub owner: &'a str,
    pub spec: &'a [u8],
    pub monday_connection_id: Option<Uuid>,
    pub salesforce_connection_id: Option<Uuid>,
    pub state: i16,
    pub state_reason: &'a str,
}

/// Applies `change` if the row is still at `version`; `None` when it is not (or is gone).
pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    version: i64,
    c: &Change<'_>,
) -> Result<Option<IntegrationRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE integrations SET owner = $3, spec = $4, monday_connection_id = $5, \
         salesforce_connection_id = $6, state = $7, state_reason = $8, board_id = $9, \
         salesforce_object = $10, version = version + 1, updated_at = now() WHERE id = $1 AND version = $2 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(version)
    .bind(c.owner)
    .bind(c.spec)
    .bind(c.monday_connection_id)
    .bind(c.salesforce_connection_id)
    .bind(c.state)
    .bind(c.state_reason)
    .bind(board_of(c.spec))
    .bind(object_of(c.spec))
    .fetch_optional(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM integrations WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The state reason of an integration created paused. Only its owner's resume starts it:
/// UpdateIntegration keeps it, and a connection problem does not overwrite it (else the
/// reconnect that resumes integrations paused for that problem would start it too).
pub const CREATED_PAUSED: &str = "created paused";

/// Pauses every integration using `connection` with `reason`, except those created paused
/// and not yet resumed; returns (id, account) of each.
pub async fn pause_using(
    db: impl PgExecutor<'_>,
    connection: Uuid,
    reason: &str,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE integrations SET state = 2, state_reason = $2, version = version + 1, \
         updated_at = now() \
         WHERE (monday_connection_id = $1 OR salesforce_connection_id = $1) \
         AND NOT (state = 2 AND state_reason = $3) \
         RETURNING id, account",
    )
    .bind(connection)
    .bind(reason)
    .bind(CREATED_PAUSED)
    .fetch_all(db)
    .await
}

/// Resumes the integrations using `connection` that were paused with exactly `reason`;
/// returns (id, account) of each.
pub async fn resume_paused(
    db: impl PgExecutor<'_>,
    connection: Uuid,
    reason: &str,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE integrations SET state = 1, state_reason = '', version = version + 1, \
         updated_at = now() \
         WHERE (monday_connection_id = $1 OR salesforce_connection_id = $1) \
         AND state = 2 AND state_reason = $2 RETURNING id, account",
    )
    .bind(connection)
    .bind(reason)
    .fetch_all(db)
    .await
}
