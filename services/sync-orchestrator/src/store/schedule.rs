//! The `schedule` table: when each integration last ran (and how), when its links were last
//! swept for deletions, and the API usage its last cycle saw on both sides.

use tandem_proto::v1 as pb;
use time::OffsetDateTime;

use super::{Fenced, Store};

/// The API usage a cycle last saw: (used, limit) of Salesforce's daily calls and of monday's
/// complexity per minute, with when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Usage {
    pub salesforce_used: i64,
    pub salesforce_limit: i64,
    pub monday_used: i64,
    pub monday_limit: i64,
}

impl Store {
    /// When the integration's links were last compared with monday.
    pub async fn swept_at(&self, integration: &str) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        let at: Option<Option<OffsetDateTime>> =
            sqlx::query_scalar("SELECT swept_at FROM schedule WHERE integration_id = $1")
                .bind(integration)
                .fetch_optional(&self.pool)
                .await?;
        Ok(at.flatten())
    }

    /// When the integration last ran, its run id and status.
    pub async fn last_run(
        &self,
        integration: &str,
    ) -> Result<Option<(OffsetDateTime, String, i16)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT last_run_at, last_run_id, last_status FROM schedule WHERE integration_id = $1",
        )
        .bind(integration)
        .fetch_optional(&self.pool)
        .await
    }

    /// The API usage the integration's last cycle saw, if it recorded any.
    pub async fn usage(&self, integration: &str) -> Result<Option<Usage>, sqlx::Error> {
        sqlx::query_as(
            "SELECT salesforce_used, salesforce_limit, monday_used, monday_limit FROM schedule
             WHERE integration_id = $1 AND usage_at IS NOT NULL",
        )
        .bind(integration)
        .fetch_optional(&self.pool)
        .await
    }
}

impl Fenced<'_> {
    /// Notes that the links were compared with monday now.
    pub async fn set_swept(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO schedule (integration_id, last_run_at, swept_at, lease_epoch)
             VALUES ($1, now(), now(), $2)
             ON CONFLICT (integration_id) DO UPDATE SET swept_at = now()",
        )
        .bind(&self.integration)
        .bind(self.epoch)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Notes a finished run for the scheduler.
    pub async fn record_run(&mut self, run_id: &str, status: i16) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO schedule (integration_id, last_run_at, last_run_id, last_status, lease_epoch)
             VALUES ($1, now(), $2, $3, $4)
             ON CONFLICT (integration_id) DO UPDATE
                SET last_run_at = now(), last_run_id = EXCLUDED.last_run_id,
                    last_status = EXCLUDED.last_status, lease_epoch = EXCLUDED.lease_epoch",
        )
        .bind(&self.integration)
        .bind(run_id)
        .bind(status)
        .bind(self.epoch)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Notes the API usage the cycle's polls reported (status shows it).
    pub async fn note_usage(
        &mut self,
        salesforce: Option<&pb::ApiUsage>,
        monday: Option<&pb::ApiUsage>,
    ) -> Result<(), sqlx::Error> {
        let (s, m) = (
            salesforce.copied().unwrap_or_default(),
            monday.copied().unwrap_or_default(),
        );
        sqlx::query(
            "INSERT INTO schedule (integration_id, last_run_at, lease_epoch, salesforce_used,
                                   salesforce_limit, monday_used, monday_limit, usage_at)
             VALUES ($1, now(), $2, $3, $4, $5, $6, now())
             ON CONFLICT (integration_id) DO UPDATE
                SET salesforce_used = EXCLUDED.salesforce_used,
                    salesforce_limit = EXCLUDED.salesforce_limit,
                    monday_used = EXCLUDED.monday_used, monday_limit = EXCLUDED.monday_limit,
                    usage_at = now()",
        )
        .bind(&self.integration)
        .bind(self.epoch)
        .bind(s.used)
        .bind(s.limit)
        .bind(m.used)
        .bind(m.limit)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
