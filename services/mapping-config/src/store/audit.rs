//! The append-only `audit_log` table (a trigger refuses UPDATE and DELETE).

use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub subject_id: Uuid,
    pub subject_kind: String,
    pub actor: String,
    pub action: String,
    pub changes: Vec<String>,
    pub at: OffsetDateTime,
}

/// One entry to append.
pub struct Entry<'a> {
    pub subject_id: Uuid,
    pub subject_kind: &'a str,
    pub account: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub changes: Vec<String>,
}

pub async fn append(db: impl PgExecutor<'_>, e: &Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (subject_id, subject_kind, account, actor, action, changes) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(e.subject_id)
    .bind(e.subject_kind)
    .bind(e.account)
    .bind(e.actor)
    .bind(e.action)
    .bind(&e.changes)
    .execute(db)
    .await?;
    Ok(())
}

/// One entry per integration a connection change cascaded to (paused or resumed), each in the
/// account it belongs to; `integrations` is what `pause_using` / `resume_paused` return.
pub async fn append_cascade(
    db: &mut sqlx::PgConnection,
    integrations: &[(Uuid, String)],
    actor: &str,
    action: &str,
    change: &str,
) -> Result<(), sqlx::Error> {
    for (integration, account) in integrations {
        append(
            &mut *db,
            &Entry {
                subject_id: *integration,
                subject_kind: "integration",
                account,
                actor,
                action,
                changes: vec![change.to_owned()],
            },
        )
        .await?;
    }
    Ok(())
}

/// The subject's entries, newest first, before sequence number `before`.
pub async fn list(
    db: &PgPool,
    subject: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, subject_id, subject_kind, actor, action, changes, at FROM audit_log \
         WHERE subject_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3",
    )
    .bind(subject)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The account the subject's entries were written in (for permission checks once the
/// subject is gone), and the first actor (its creator).
pub async fn first_entry(
    db: &PgPool,
    subject: Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT account, actor FROM audit_log WHERE subject_id = $1 ORDER BY seq ASC LIMIT 1",
    )
    .bind(subject)
    .fetch_optional(db)
    .await
}
