//! Who streams an org's object, and how far: a Redis lock (`SET NX PX` with a random token,
//! renewed and released only by its holder) makes one replica the subscriber; the
//! `change_streams` row in Postgres keeps the replay position and an epoch, bumped on each
//! acquisition, that fences every position write — a holder that lost the lock (paused past
//! it) cannot move the position back or forth once another replica took over.

use std::time::Duration;

use rand::RngCore as _;
use sqlx::PgPool;
use tandem_service::Redis;

/// One subscription: a Salesforce org (its Id) and an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    pub org_id: String,
    pub object: String,
}

/// A held lease on one subscription.
#[derive(Debug, Clone)]
pub struct StreamLease {
    pub key: StreamKey,
    pub epoch: i64,
    token: String,
}

#[derive(Clone)]
pub struct Positions {
    redis: Redis,
    pool: PgPool,
    prefix: String,
    holder: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
}

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"#;

impl Positions {
    pub fn new(redis: Redis, pool: PgPool, prefix: &str, holder: &str) -> Self {
        Self {
            redis,
            pool,
            prefix: prefix.to_owned(),
            holder: holder.to_owned(),
        }
    }

    fn lock_key(&self, key: &StreamKey) -> String {
        format!("{}:cdc:{{{}:{}}}", self.prefix, key.org_id, key.object)
    }

    /// Takes the subscription for `ttl` if nobody holds it; bumps its epoch.
    pub async fn acquire(
        &self,
        key: &StreamKey,
        ttl: Duration,
    ) -> Result<Option<StreamLease>, PositionError> {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.lock_key(key))
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut self.redis.clone())
            .await?;
        if taken.is_none() {
            return Ok(None);
        }
        let epoch: i64 = sqlx::query_scalar(
            "INSERT INTO change_streams (org_id, object, epoch, holder) VALUES ($1, $2, 1, $3)
             ON CONFLICT (org_id, object) DO UPDATE
                SET epoch = change_streams.epoch + 1, holder = EXCLUDED.holder, updated_at = now()
             RETURNING epoch",
        )
        .bind(&key.org_id)
        .bind(&key.object)
        .bind(&self.holder)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(StreamLease {
            key: key.clone(),
            epoch,
            token,
        }))
    }

    /// Extends a held lease; `false` when it was lost.
    pub async fn renew(&self, lease: &StreamLease, ttl: Duration) -> Result<bool, PositionError> {
        let renewed: i64 = redis::Script::new(RENEW)
            .key(self.lock_key(&lease.key))
            .arg(&lease.token)
            .arg(ttl.as_millis() as u64)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(renewed == 1)
    }

    /// Gives the lease back (only if still ours).
    pub async fn release(&self, lease: &StreamLease) -> Result<(), PositionError> {
        let _: i64 = redis::Script::new(RELEASE)
            .key(self.lock_key(&lease.key))
            .arg(&lease.token)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// The stored replay position; `None` when there is none (start with the next event).
    pub async fn replay_id(&self, key: &StreamKey) -> Result<Option<Vec<u8>>, PositionError> {
        let found: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT replay_id FROM change_streams WHERE org_id = $1 AND object = $2",
        )
        .bind(&key.org_id)
        .bind(&key.object)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.flatten().filter(|r| !r.is_empty()))
    }

    /// Stores the position (`None`: forget it) if `lease` still holds the epoch; `false` when
    /// another holder took over.
    pub async fn store(
        &self,
        lease: &StreamLease,
        replay_id: Option<&[u8]>,
    ) -> Result<bool, PositionError> {
        let done = sqlx::query(
            "UPDATE change_streams SET replay_id = $3, updated_at = now()
             WHERE org_id = $1 AND object = $2 AND epoch = $4",
        )
        .bind(&lease.key.org_id)
        .bind(&lease.key.object)
        .bind(replay_id)
        .bind(lease.epoch)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
