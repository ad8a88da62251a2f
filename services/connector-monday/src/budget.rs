//! The complexity budget left per monday account, shared by replicas through Redis: each
//! response's `complexity { after reset_in_x_seconds }` is stored under
//! `{prefix}:monday:budget:{account}` with a TTL of the window's rest, so a request that
//! cannot fit waits for the reset instead of spending a call on a 429. An account whose daily
//! calls are spent (`DAILY_LIMIT_EXCEEDED`) is noted under `{prefix}:monday:daily:{account}`
//! until monday's reset, so no replica spends a refused call on it meanwhile.

use redis::AsyncCommands;
use time::OffsetDateTime;

#[derive(Clone)]
pub struct Budgets {
    redis: tandem_service::Redis,
    prefix: String,
}

/// What is known of one account's current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub remaining: u64,
    /// Unix seconds when the window resets.
    pub reset_at: i64,
}

impl Window {
    /// Seconds until the reset, at least 1.
    pub fn reset_in(&self) -> u64 {
        (self.reset_at - OffsetDateTime::now_utc().unix_timestamp()).max(1) as u64
    }
}

impl Budgets {
    pub fn new(redis: tandem_service::Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, account: &str) -> String {
        format!("{}:monday:budget:{account}", self.prefix)
    }

    /// The account's current window, if one is known and not yet reset.
    pub async fn window(&self, account: &str) -> Option<Window> {
        let mut redis = self.redis.clone();
        let raw: Option<String> = match redis.get(self.key(account)).await {
            Ok(v) => v,
            Err(error) => {
                tracing::warn!(%error, "monday budget unreadable in redis");
                return None;
            }
        };
        let (remaining, reset_at) = raw?
            .split_once(':')
            .and_then(|(r, t)| Some((r.parse::<u64>().ok()?, t.parse::<i64>().ok()?)))?;
        (reset_at > OffsetDateTime::now_utc().unix_timestamp()).then_some(Window {
            remaining,
            reset_at,
        })
    }

    /// Seconds until the account's spent daily calls reset, if monday said they are spent.
    pub async fn daily_spent(&self, account: &str) -> Option<u64> {
        let mut redis = self.redis.clone();
        let reset_at: Option<i64> = redis.get(self.daily_key(account)).await.ok()?;
        let left = reset_at? - OffsetDateTime::now_utc().unix_timestamp();
        (left > 0).then_some(left as u64)
    }

    /// Notes that the account's daily calls are spent for `reset_in` more seconds.
    pub async fn daily_spent_for(&self, account: &str, reset_in: u64) {
        let reset_in = reset_in.max(1);
        let reset_at = OffsetDateTime::now_utc().unix_timestamp() + reset_in as i64;
        let mut redis = self.redis.clone();
        let set: Result<(), _> = redis
            .set_ex(self.daily_key(account), reset_at, reset_in)
            .await;
        if let Err(error) = set {
            tracing::warn!(%error, "monday daily limit not stored in redis");
        }
    }

    fn daily_key(&self, account: &str) -> String {
        format!("{}:monday:daily:{account}", self.prefix)
    }

    /// Store what monday reported: `remaining` points for `reset_in` more seconds.
    pub async fn record(&self, account: &str, remaining: u64, reset_in: u64) {
        let reset_in = reset_in.max(1);
        let reset_at = OffsetDateTime::now_utc().unix_timestamp() + reset_in as i64;
        let mut redis = self.redis.clone();
        let set: Result<(), _> = redis
            .set_ex(
                self.key(account),
                format!("{remaining}:{reset_at}"),
                reset_in,
            )
            .await;
        if let Err(error) = set {
            tracing::warn!(%error, "monday budget not stored in redis");
        }
    }
}
