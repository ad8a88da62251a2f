//! Sync state in Postgres: watermarks, links with their shadows, create intents. Every write
//! runs in a transaction that begins with the lease [`fence`].

mod imports;
mod schedule;

pub use imports::Progress;
pub use schedule::Usage;

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;

use crate::lease::{Lease, LeaseError, fence};

/// Which side a watermark or a create targets (the numbers of `tandem.v1.Side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i16)]
pub enum Side {
    Salesforce = 1,
    Monday = 2,
}

impl From<tandem_core::merge::Side> for Side {
    fn from(side: tandem_core::merge::Side) -> Self {
        match side {
            tandem_core::merge::Side::Salesforce => Side::Salesforce,
            tandem_core::merge::Side::Monday => Side::Monday,
        }
    }
}

impl From<Side> for tandem_core::merge::Side {
    fn from(side: Side) -> Self {
        match side {
            Side::Salesforce => tandem_core::merge::Side::Salesforce,
            Side::Monday => tandem_core::merge::Side::Monday,
        }
    }
}

impl From<Side> for tandem_proto::v1::Side {
    fn from(side: Side) -> Self {
        match side {
            Side::Salesforce => tandem_proto::v1::Side::Salesforce,
            Side::Monday => tandem_proto::v1::Side::Monday,
        }
    }
}

impl Side {
    /// The side of a stored code (`target_side`), if it is one.
    pub fn from_code(code: i16) -> Option<Side> {
        match code {
            1 => Some(Side::Salesforce),
            2 => Some(Side::Monday),
            _ => None,
        }
    }

    /// The side's name in logs and metric attributes.
    pub fn name(self) -> &'static str {
        match self {
            Side::Salesforce => "salesforce",
            Side::Monday => "monday",
        }
    }

    /// The buffer's record-key prefix of this side (`sf:…`, `mo:…`).
    pub fn prefix(self) -> &'static str {
        match self {
            Side::Salesforce => "sf",
            Side::Monday => "mo",
        }
    }
}

/// A linked pair and the values both sides last agreed on.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Link {
    pub salesforce_id: String,
    pub monday_item_id: String,
    pub shadow: Json<serde_json::Value>,
    pub unlinked_at: Option<OffsetDateTime>,
    /// The shadow a run was about to store when it sent writes to this pair and did not
    /// commit (see migration 0004).
    pub pending_shadow: Option<Json<serde_json::Value>>,
}

/// A create recorded as an intent and not yet linked.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OpenIntent {
    pub idempotency_key: String,
    /// `Side as i16` of the record the create makes.
    pub target_side: i16,
    pub source_record_id: String,
    /// The created record's id, when the remote's answer arrived.
    pub target_record_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Watermark {
    pub watermark: Option<OffsetDateTime>,
    pub seen: Json<serde_json::Value>,
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

/// A write transaction of the lease holder. Links and intents are gathered and written in
/// multi-row statements (one per kind) at commit (and before an unlink): a cycle of
/// 10,000 records makes a handful of round trips, not tens of thousands.
pub struct Fenced<'a> {
    tx: Transaction<'a, Postgres>,
    integration: String,
    epoch: i64,
    links: Vec<(String, String, serde_json::Value)>,
    intents: Vec<(String, i16, String)>,
    closed: Vec<String>,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Begins a write transaction, refused when `lease` was taken over.
    pub async fn begin(&self, lease: &Lease) -> Result<Fenced<'static>, LeaseError> {
        let mut tx = self.pool.begin().await?;
        fence(&mut tx, lease).await?;
        Ok(Fenced {
            tx,
            integration: lease.integration.clone(),
            epoch: lease.epoch,
            links: Vec::new(),
            intents: Vec::new(),
            closed: Vec::new(),
        })
    }

    pub async fn watermark(
        &self,
        integration: &str,
        side: Side,
    ) -> Result<Option<Watermark>, sqlx::Error> {
        sqlx::query_as(
            "SELECT watermark, seen FROM watermarks WHERE integration_id = $1 AND side = $2",
        )
        .bind(integration)
        .bind(side as i16)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn link_by_salesforce(
        &self,
        integration: &str,
        id: &str,
    ) -> Result<Option<Link>, sqlx::Error> {
        sqlx::query_as(
            "SELECT salesforce_id, monday_item_id, shadow, unlinked_at, pending_shadow FROM links
             WHERE integration_id = $1 AND salesforce_id = $2",
        )
        .bind(integration)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The links of `ids` (on `side`), ended ones included, in one query.
    pub async fn links_of(
        &self,
        integration: &str,
        side: Side,
        ids: &[String],
    ) -> Result<Vec<Link>, sqlx::Error> {
        let query = match side {
            Side::Salesforce => {
                "SELECT salesforce_id, monday_item_id, shadow, unlinked_at, pending_shadow FROM links
                 WHERE integration_id = $1 AND salesforce_id = ANY($2)"
            }
            Side::Monday => {
                "SELECT salesforce_id, monday_item_id, shadow, unlinked_at, pending_shadow FROM links
                 WHERE integration_id = $1 AND monday_item_id = ANY($2)"
            }
        };
        sqlx::query_as(query)
            .bind(integration)
            .bind(ids)
            .fetch_all(&self.pool)
            .await
    }

    /// Which of `ids` (on `side`) are linked already, in one query.
    pub async fn linked_ids(
        &self,
        integration: &str,
        side: Side,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>, sqlx::Error> {
        let query = match side {
            Side::Salesforce => {
                "SELECT salesforce_id FROM links WHERE integration_id = $1 AND salesforce_id = ANY($2)"
            }
            Side::Monday => {
                "SELECT monday_item_id FROM links WHERE integration_id = $1 AND monday_item_id = ANY($2)"
            }
        };
        let rows: Vec<String> = sqlx::query_scalar(query)
            .bind(integration)
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Create intents of `integration` a cycle recorded and never closed: their create may
    /// or may not have reached the remote (with the record's id, when the answer came back).
    pub async fn open_intents(&self, integration: &str) -> Result<Vec<OpenIntent>, sqlx::Error> {
        sqlx::query_as(
            "SELECT idempotency_key, target_side, source_record_id, target_record_id
             FROM create_intents WHERE integration_id = $1",
        )
        .bind(integration)
        .fetch_all(&self.pool)
        .await
    }

    /// Notes the record a create made, as soon as the remote says so and outside the lease
    /// fence: it is a fact about the remote, true whoever holds the lease, and it lets the
    /// next cycle link the record if this one cannot commit.
    pub async fn note_created(
        &self,
        integration: &str,
        created: &[(String, String)],
    ) -> Result<(), sqlx::Error> {
        if created.is_empty() {
            return Ok(());
        }
        let (keys, ids): (Vec<&str>, Vec<&str>) = created
            .iter()
            .map(|(k, id)| (k.as_str(), id.as_str()))
            .unzip();
        sqlx::query(
            "UPDATE create_intents AS i SET target_record_id = c.id
             FROM unnest($2::text[], $3::text[]) AS c(key, id)
             WHERE i.integration_id = $1 AND i.idempotency_key = c.key",
        )
        .bind(integration)
        .bind(keys)
        .bind(ids)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn link_count(&self, integration: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT count(*) FROM links WHERE integration_id = $1 AND unlinked_at IS NULL",
        )
        .bind(integration)
        .fetch_one(&self.pool)
        .await
    }

    /// Failing records of `integration` due for another attempt: their backoff has passed, or
    /// the settings changed since they failed (`version`).
    pub async fn due_failing(
        &self,
        integration: &str,
        version: i64,
        limit: i64,
    ) -> Result<Vec<(Side, String)>, sqlx::Error> {
        let rows: Vec<(i16, String)> = sqlx::query_as(
            "SELECT side, record_id FROM failing_records
             WHERE integration_id = $1 AND (next_attempt_at <= now() OR settings_version <> $2)
             ORDER BY next_attempt_at LIMIT $3",
        )
        .bind(integration)
        .bind(version)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(side, id)| Side::from_code(side).map(|s| (s, id)))
            .collect())
    }

    /// How many records of `integration` are failing.
    pub async fn failing_count(&self, integration: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM failing_records WHERE integration_id = $1")
            .bind(integration)
            .fetch_one(&self.pool)
            .await
    }

    /// The active links of `integration`: (Salesforce id, monday id, shadow).
    pub async fn active_links(&self, integration: &str) -> Result<Vec<Link>, sqlx::Error> {
        sqlx::query_as(
            "SELECT salesforce_id, monday_item_id, shadow, unlinked_at, pending_shadow FROM links
             WHERE integration_id = $1 AND unlinked_at IS NULL",
        )
        .bind(integration)
        .fetch_all(&self.pool)
        .await
    }
}

impl Fenced<'_> {
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.flush().await?;
        self.tx.commit().await
    }

    /// Writes the gathered intents, links and closed intents, in that order.
    async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if !self.intents.is_empty() {
            let intents = std::mem::take(&mut self.intents);
            let (keys, rest): (Vec<String>, Vec<(i16, String)>) =
                intents.into_iter().map(|(k, t, s)| (k, (t, s))).unzip();
            let (targets, sources): (Vec<i16>, Vec<String>) = rest.into_iter().unzip();
            sqlx::query(
                "INSERT INTO create_intents (integration_id, idempotency_key, target_side, source_record_id, lease_epoch)
                 SELECT $1, k, t, s, $5 FROM unnest($2::text[], $3::smallint[], $4::text[]) AS i(k, t, s)
                 ON CONFLICT (integration_id, idempotency_key) DO NOTHING",
            )
            .bind(&self.integration)
            .bind(keys)
            .bind(targets)
            .bind(sources)
            .bind(self.epoch)
            .execute(&mut *self.tx)
            .await?;
        }
        if !self.links.is_empty() {
            // One row per Salesforce id (the last wins): a statement may not touch a row twice.
            let mut last: std::collections::HashMap<String, (String, serde_json::Value)> =
                std::collections::HashMap::new();
            for (sf, mo, shadow) in std::mem::take(&mut self.links) {
                last.insert(sf, (mo, shadow));
            }
            let mut sf_ids = Vec::with_capacity(last.len());
            let mut mo_ids = Vec::with_capacity(last.len());
            let mut shadows = Vec::with_capacity(last.len());
            for (sf, (mo, shadow)) in last {
                sf_ids.push(sf);
                mo_ids.push(mo);
                shadows.push(Json(shadow));
            }
            sqlx::query(
                "INSERT INTO links (integration_id, salesforce_id, monday_item_id, shadow, lease_epoch)
                 SELECT $1, s, m, sh, $5 FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS l(s, m, sh)
                 ON CONFLICT (integration_id, salesforce_id) DO UPDATE
                    SET shadow = EXCLUDED.shadow, pending_shadow = NULL,
                        lease_epoch = EXCLUDED.lease_epoch, updated_at = now()
                    WHERE links.monday_item_id = EXCLUDED.monday_item_id",
            )
            .bind(&self.integration)
            .bind(sf_ids)
            .bind(mo_ids)
            .bind(shadows)
            .bind(self.epoch)
            .execute(&mut *self.tx)
            .await?;
        }
        if !self.closed.is_empty() {
            let keys = std::mem::take(&mut self.closed);
            sqlx::query(
                "DELETE FROM create_intents WHERE integration_id = $1 AND idempotency_key = ANY($2)",
            )
            .bind(&self.integration)
            .bind(keys)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }

    pub async fn set_watermark(
        &mut self,
        side: Side,
        watermark: OffsetDateTime,
        seen: &serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO watermarks (integration_id, side, watermark, seen, lease_epoch)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (integration_id, side) DO UPDATE
                SET watermark = EXCLUDED.watermark, seen = EXCLUDED.seen,
                    lease_epoch = EXCLUDED.lease_epoch, updated_at = now()",
        )
        .bind(&self.integration)
        .bind(side as i16)
        .bind(watermark)
        .bind(Json(seen))
        .bind(self.epoch)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Links a pair (or updates its shadow). A record already linked to another one is an
    /// error: links stay one-to-one.
    pub async fn upsert_link(
        &mut self,
        salesforce_id: &str,
        monday_item_id: &str,
        shadow: &serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        self.links.push((
            salesforce_id.to_owned(),
            monday_item_id.to_owned(),
            shadow.clone(),
        ));
        Ok(())
    }

    /// Notes the shadows writes to linked pairs (by Salesforce id) will lead to, before they
    /// are sent.
    pub async fn set_pending(
        &mut self,
        pending: &[(String, serde_json::Value)],
    ) -> Result<(), sqlx::Error> {
        if pending.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = pending.iter().map(|(id, _)| id.as_str()).collect();
        let shadows: Vec<Json<&serde_json::Value>> = pending.iter().map(|(_, s)| Json(s)).collect();
        sqlx::query(
            "UPDATE links l SET pending_shadow = p.shadow, lease_epoch = $4
             FROM unnest($2::text[], $3::jsonb[]) AS p(id, shadow)
             WHERE l.integration_id = $1 AND l.salesforce_id = p.id AND l.unlinked_at IS NULL",
        )
        .bind(&self.integration)
        .bind(ids)
        .bind(shadows)
        .bind(self.epoch)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Marks a link as ended (a side deleted or archived its record); nothing is deleted.
    pub async fn unlink(
        &mut self,
        salesforce_id: &str,
        monday_item_id: &str,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        self.flush().await?;
        let ended = sqlx::query(
            "UPDATE links SET unlinked_at = now(), unlinked_reason = $3, lease_epoch = $4, updated_at = now()
             WHERE integration_id = $1 AND salesforce_id = $2 AND unlinked_at IS NULL",
        )
        .bind(&self.integration)
        .bind(salesforce_id)
        .bind(reason)
        .bind(self.epoch)
        .execute(&mut *self.tx)
        .await?;
        if ended.rows_affected() == 0 {
            // A pair found by its link key and never linked (its partner already gone): the
            // ended link is recorded all the same, so the survivor is not created anew on the
            // other side by a later cycle — as for a pair that was linked.
            sqlx::query(
                "INSERT INTO links (integration_id, salesforce_id, monday_item_id, lease_epoch, unlinked_at, unlinked_reason)
                 VALUES ($1, $2, $3, $4, now(), $5)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&self.integration)
            .bind(salesforce_id)
            .bind(monday_item_id)
            .bind(self.epoch)
            .bind(reason)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Notes records that failed in this run: each is retried after a backoff that grows
    /// with its attempts (the next two cycles, then 1, 2, 4 … minutes, at most an hour).
    pub async fn mark_failing(
        &mut self,
        failed: &[(Side, String, String)],
        version: i64,
    ) -> Result<(), sqlx::Error> {
        if failed.is_empty() {
            return Ok(());
        }
        let sides: Vec<i16> = failed.iter().map(|(s, _, _)| *s as i16).collect();
        let ids: Vec<&str> = failed.iter().map(|(_, id, _)| id.as_str()).collect();
        let errors: Vec<&str> = failed.iter().map(|(_, _, e)| e.as_str()).collect();
        sqlx::query(
            "INSERT INTO failing_records AS f (integration_id, side, record_id, attempts, next_attempt_at, last_error, settings_version, lease_epoch)
             SELECT DISTINCT ON (s, r) $1, s, r, 1, now(), e, $5, $6 FROM unnest($2::smallint[], $3::text[], $4::text[]) AS x(s, r, e)
             ON CONFLICT (integration_id, side, record_id) DO UPDATE
                SET attempts = f.attempts + 1,
                    next_attempt_at = now() + CASE WHEN f.attempts < 2 THEN interval '0'
                        ELSE least(interval '1 minute' * power(2, f.attempts - 2), interval '1 hour') END,
                    last_error = EXCLUDED.last_error, settings_version = EXCLUDED.settings_version,
                    lease_epoch = EXCLUDED.lease_epoch",
        )
        .bind(&self.integration)
        .bind(sides)
        .bind(ids)
        .bind(errors)
        .bind(version)
        .bind(self.epoch)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Forgets records that no longer fail (they crossed, or no longer need to).
    pub async fn clear_failing(&mut self, records: &[(Side, String)]) -> Result<(), sqlx::Error> {
        if records.is_empty() {
            return Ok(());
        }
        let sides: Vec<i16> = records.iter().map(|(s, _)| *s as i16).collect();
        let ids: Vec<&str> = records.iter().map(|(_, id)| id.as_str()).collect();
        sqlx::query(
            "DELETE FROM failing_records f USING unnest($2::smallint[], $3::text[]) AS x(s, r)
             WHERE f.integration_id = $1 AND f.side = x.s AND f.record_id = x.r",
        )
        .bind(&self.integration)
        .bind(sides)
        .bind(ids)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records a create before it is sent; idempotent on the key.
    pub async fn record_intent(
        &mut self,
        key: &str,
        target: Side,
        source_record_id: &str,
    ) -> Result<(), sqlx::Error> {
        self.intents
            .push((key.to_owned(), target as i16, source_record_id.to_owned()));
        Ok(())
    }

    /// Forgets an intent once its record is linked (in the same transaction as the link).
    pub async fn close_intent(&mut self, key: &str) -> Result<(), sqlx::Error> {
        self.closed.push(key.to_owned());
        Ok(())
    }
}
