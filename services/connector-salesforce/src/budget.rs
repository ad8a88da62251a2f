//! The org's daily API usage, as Salesforce reports it in `Sforce-Limit-Info: api-usage=N/M`
//! on every answer, shared by every replica through Redis
//! (`{prefix}:salesforce:api-usage:{org}` = `N/M/observed-at-ms`). Calls are refused once
//! Tandem's share of the allocation is spent — but only on a *fresh* figure: one observed
//! less than `max_age` ago (default 5 minutes; the key's TTL is the same). An older figure, or
//! none, never refuses: the next call goes to Salesforce and its answer brings the current
//! usage, so an org that recovered (usage is a rolling 24-hour count) is seen within minutes.
//! Redis trouble never blocks a sync: the budget is then not enforced, and a warning says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::AsyncCommands as _;

use crate::error::Error;

/// The time the budget judges a figure's age by: the system clock plus a skew that tests
/// advance to simulate minutes passing without waiting for them.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    skew_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: Duration) {
        self.skew_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        real + self.skew_ms.load(Ordering::SeqCst)
    }
}

/// A usage figure and when Salesforce reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub used: u64,
    pub max: u64,
    /// Milliseconds since the Unix epoch; `None` for a figure stored without a time (by an
    /// older replica), which counts as stale.
    pub observed_at_ms: Option<i64>,
}

#[derive(Clone)]
pub struct Budget {
    redis: tandem_service::Redis,
    prefix: String,
    share: f64,
    max_age: Duration,
    clock: Clock,
}

impl Budget {
    pub fn new(
        redis: tandem_service::Redis,
        prefix: &str,
        share: f64,
        max_age: Duration,
        clock: Clock,
    ) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            share,
            max_age: max_age.max(Duration::from_secs(1)),
            clock,
        }
    }

    fn key(&self, org: &str) -> String {
        format!("{}:salesforce:api-usage:{org}", self.prefix)
    }

    /// The last usage reported for `org`.
    pub async fn usage(&self, org: &str) -> Option<Usage> {
        let mut redis = self.redis.clone();
        match redis.get::<_, Option<String>>(self.key(org)).await {
            Ok(v) => v.as_deref().and_then(parse),
            Err(e) => {
                tracing::warn!(error = %e, org, "cannot read salesforce api usage from redis");
                None
            }
        }
    }

    /// Refuses when a fresh figure says the org's usage has reached Tandem's share.
    pub async fn check(&self, org: &str) -> Result<(), Error> {
        let Some(u) = self.usage(org).await else {
            return Ok(());
        };
        if !spent(u.used, u.max, self.share) {
            return Ok(());
        }
        if !fresh(u.observed_at_ms, self.clock.now_ms(), self.max_age) {
            tracing::info!(
                org,
                used = u.used,
                max = u.max,
                "salesforce api usage figure is stale; calling to read a fresh one"
            );
            return Ok(());
        }
        Err(Error::BudgetSpent {
            org: org.to_owned(),
            used: u.used,
            max: u.max,
            share_percent: (self.share * 100.0).round() as u32,
        })
    }

    /// Stores what Salesforce just reported, stamped with the time.
    pub async fn record(&self, org: &str, used: u64, max: u64) {
        let mut redis = self.redis.clone();
        let value = format!("{used}/{max}/{}", self.clock.now_ms());
        if let Err(e) = redis
            .set_ex::<_, _, ()>(self.key(org), value, self.max_age.as_secs())
            .await
        {
            tracing::warn!(error = %e, org, "cannot store salesforce api usage in redis");
        }
    }
}

/// True when a figure observed at `observed_at_ms` is younger than `max_age` at `now_ms`.
fn fresh(observed_at_ms: Option<i64>, now_ms: i64, max_age: Duration) -> bool {
    observed_at_ms.is_some_and(|at| now_ms.saturating_sub(at) < max_age.as_millis() as i64)
}

/// True when `used` of `max` reaches the share Tandem may use.
pub fn spent(used: u64, max: u64, share: f64) -> bool {
    max > 0 && used as f64 >= share * max as f64
}

/// `used/max/observed-at-ms`, or the older `used/max`.
fn parse(v: &str) -> Option<Usage> {
    let mut parts = v.split('/');
    let used = parts.next()?.parse().ok()?;
    let max = parts.next()?.parse().ok()?;
    let observed_at_ms = match parts.next() {
        Some(at) => Some(at.parse().ok()?),
        None => None,
    };
    Some(Usage {
        used,
        max,
        observed_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_boundaries() {
        for (used, max, share, want) in [
            (0, 15_000, 0.8, false),
            (11_999, 15_000, 0.8, false),
            (12_000, 15_000, 0.8, true),
            (15_000, 15_000, 1.0, true),
            (5, 0, 0.8, false),
        ] {
            assert_eq!(spent(used, max, share), want, "{used}/{max} at {share}");
        }
        assert_eq!(
            parse("12/100/1700000000000"),
            Some(Usage {
                used: 12,
                max: 100,
                observed_at_ms: Some(1_700_000_000_000)
            })
        );
        assert_eq!(parse("12/100").and_then(|u| u.observed_at_ms), None);
        assert_eq!(parse("x"), None);
        assert_eq!(parse("1/2/later"), None);
    }

    #[test]
    fn only_a_figure_younger_than_the_max_age_is_fresh() {
        let age = Duration::from_secs(300);
        let at = 1_700_000_000_000;
        assert!(fresh(Some(at), at + 299_999, age));
        assert!(!fresh(Some(at), at + 300_000, age));
        assert!(!fresh(None, at, age), "a figure without a time is stale");
    }

    #[test]
    fn an_advanced_clock_is_shared_by_its_copies() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now_ms();
        clock.advance(Duration::from_secs(600));
        assert!(copy.now_ms() - before >= 600_000);
    }
}
