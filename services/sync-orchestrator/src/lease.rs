//! Exclusion: one orchestrator works on an integration at a time.
//!
//! A Redis lock (`SET NX PX` with a random token, released and renewed only by its holder
//! through compare-and-delete / compare-and-expire scripts) is the cheap filter. The fence is
//! the lease *epoch* in Postgres, incremented on each acquisition: every write of a run locks
//! the lease row `FOR SHARE` and checks the epoch it holds ([`fence`]), so a holder that was
//! paused past its lease and resumed cannot commit anything once another replica took over.

use std::time::Duration;

use rand::RngCore as _;
use sqlx::{PgPool, Postgres, Transaction};
use tandem_service::Redis;

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    /// Redis lost the lock (and with it whatever it held): this holder must stop.
    #[error(
        "the lock of integration {integration} is gone from Redis (restarted?); the run stops and the next one polls again"
    )]
    Lost { integration: String },
    /// The lease was taken over: this holder must stop without writing.
    #[error("lease of integration {integration} moved to epoch {current}; this holder had {held}")]
    Fenced {
        integration: String,
        held: i64,
        current: i64,
    },
}

/// A held lease on one integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub integration: String,
    pub epoch: i64,
    token: String,
    /// The run the previous holder left open: it stopped (died) without giving the lease
    /// back. The new holder closes it.
    pub abandoned_run: Option<String>,
}

#[derive(Clone)]
pub struct Leases {
    redis: Redis,
    pool: PgPool,
    prefix: String,
    /// Who holds leases taken through this value (for operators: host/replica name).
    holder: String,
}

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"#;

impl Leases {
    pub fn new(redis: Redis, pool: PgPool, prefix: &str, holder: &str) -> Self {
        Self {
            redis,
            pool,
            prefix: prefix.to_owned(),
            holder: holder.to_owned(),
        }
    }

    fn key(&self, integration: &str) -> String {
        format!("{}:lock:{{{integration}}}", self.prefix)
    }

    /// Takes the lease for `ttl` if nobody holds it; bumps the epoch in Postgres.
    pub async fn acquire(
        &self,
        integration: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, LeaseError> {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.key(integration))
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut self.redis.clone())
            .await?;
        if taken.is_none() {
            return Ok(None);
        }
        // The previous holder's open run, read under the row lock the upsert then updates.
        let mut tx = self.pool.begin().await?;
        let abandoned: Option<String> =
            sqlx::query_scalar("SELECT run_id FROM leases WHERE integration_id = $1 FOR UPDATE")
                .bind(integration)
                .fetch_optional(&mut *tx)
                .await?;
        let epoch: i64 = sqlx::query_scalar(
            "INSERT INTO leases (integration_id, epoch, holder, expires_at, run_id)
             VALUES ($1, 1, $2, now() + $3 * interval '1 millisecond', '')
             ON CONFLICT (integration_id) DO UPDATE
                SET epoch = leases.epoch + 1, holder = EXCLUDED.holder,
                    expires_at = EXCLUDED.expires_at, run_id = ''
             RETURNING epoch",
        )
        .bind(integration)
        .bind(&self.holder)
        .bind(ttl.as_millis() as f64)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Lease {
            integration: integration.to_owned(),
            epoch,
            token,
            abandoned_run: abandoned.filter(|r| !r.is_empty()),
        }))
    }

    /// Notes the run this holder has open, for whoever takes the lease over should it die.
    pub async fn attach_run(&self, lease: &Lease, run_id: &str) -> Result<(), LeaseError> {
        sqlx::query("UPDATE leases SET run_id = $3 WHERE integration_id = $1 AND epoch = $2")
            .bind(&lease.integration)
            .bind(lease.epoch)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Extends a held lease; `false` when it was lost (expired and perhaps taken over).
    pub async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool, LeaseError> {
        let renewed: i64 = redis::Script::new(RENEW)
            .key(self.key(&lease.integration))
            .arg(&lease.token)
            .arg(ttl.as_millis() as u64)
            .invoke_async(&mut self.redis.clone())
            .await?;
        if renewed == 0 {
            return Ok(false);
        }
        let updated = sqlx::query(
            "UPDATE leases SET expires_at = now() + $3 * interval '1 millisecond'
             WHERE integration_id = $1 AND epoch = $2",
        )
        .bind(&lease.integration)
        .bind(lease.epoch)
        .bind(ttl.as_millis() as f64)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Fails with [`LeaseError::Fenced`] unless `lease` is still this holder's: its Redis token
    /// still set and the Postgres epoch still its own. Called before every batch of remote
    /// writes, which the fence cannot guard (Salesforce and monday don't know our epoch).
    pub async fn check(&self, lease: &Lease) -> Result<(), LeaseError> {
        let token: Option<String> = redis::cmd("GET")
            .arg(self.key(&lease.integration))
            .query_async(&mut self.redis.clone())
            .await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT epoch FROM leases WHERE integration_id = $1")
                .bind(&lease.integration)
                .fetch_optional(&self.pool)
                .await?;
        if token.as_deref() == Some(lease.token.as_str()) && current == Some(lease.epoch) {
            return Ok(());
        }
        // Redis lost the lock while the epoch is still this holder's: Redis restarted (or
        // failed over) and kept nothing, the coalescing buffer included. The run stops before
        // it records watermarks past changes that were waiting there; the next one polls from
        // the watermarks it has.
        if token.is_none() && current == Some(lease.epoch) {
            return Err(LeaseError::Lost {
                integration: lease.integration.clone(),
            });
        }
        Err(LeaseError::Fenced {
            integration: lease.integration.clone(),
            held: lease.epoch,
            // A lost Redis token with the epoch unchanged is reported as the epoch to come.
            current: current
                .filter(|c| *c != lease.epoch)
                .unwrap_or(lease.epoch + 1),
        })
    }

    /// Gives the lease back (only if still ours): its run is closed, nothing is abandoned.
    pub async fn release(&self, lease: &Lease) -> Result<(), LeaseError> {
        sqlx::query(
            "UPDATE leases SET run_id = '', expires_at = now() WHERE integration_id = $1 AND epoch = $2",
        )
        .bind(&lease.integration)
        .bind(lease.epoch)
        .execute(&self.pool)
        .await?;
        let _: i64 = redis::Script::new(RELEASE)
            .key(self.key(&lease.integration))
            .arg(&lease.token)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }
}

/// First statement of every write transaction of a run: holds the lease row against a
/// concurrent take-over until commit, and fails when the epoch moved on.
pub async fn fence(tx: &mut Transaction<'_, Postgres>, lease: &Lease) -> Result<(), LeaseError> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT epoch FROM leases WHERE integration_id = $1 FOR SHARE")
            .bind(&lease.integration)
            .fetch_optional(&mut **tx)
            .await?;
    match current {
        Some(epoch) if epoch == lease.epoch => Ok(()),
        other => Err(LeaseError::Fenced {
            integration: lease.integration.clone(),
            held: lease.epoch,
            current: other.unwrap_or(0),
        }),
    }
}
