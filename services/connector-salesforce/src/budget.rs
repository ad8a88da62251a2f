//! The org's daily API usage, as Salesforce reports it in `Sforce-Limit-Info: api-usage=N/M`,
//! shared by every replica through Redis (`{prefix}:salesforce:api-usage:{org}` = `N/M`, with a
//! TTL so a stale figure fades). Calls are refused once Tandem's share of the allocation is
//! spent. Redis trouble never blocks a sync: the budget is then not enforced, and a warning says so.

use redis::AsyncCommands as _;

use crate::error::Error;

/// How long a usage figure stays valid without a fresh answer from Salesforce.
const USAGE_TTL_SECONDS: u64 = 3600;

#[derive(Clone)]
pub struct Budget {
    redis: redis::aio::ConnectionManager,
    prefix: String,
    share: f64,
}

impl Budget {
    pub fn new(redis: redis::aio::ConnectionManager, prefix: &str, share: f64) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            share,
        }
    }

    fn key(&self, org: &str) -> String {
        format!("{}:salesforce:api-usage:{org}", self.prefix)
    }

    /// The last usage reported for `org`: (used, max).
    pub async fn usage(&self, org: &str) -> Option<(u64, u64)> {
        let mut redis = self.redis.clone();
        match redis.get::<_, Option<String>>(self.key(org)).await {
            Ok(v) => v.as_deref().and_then(parse),
            Err(e) => {
                tracing::warn!(error = %e, org, "cannot read salesforce api usage from redis");
                None
            }
        }
    }

    /// Refuses when the org's known usage has reached Tandem's share.
    pub async fn check(&self, org: &str) -> Result<(), Error> {
        if let Some((used, max)) = self.usage(org).await
            && spent(used, max, self.share)
        {
            return Err(Error::BudgetSpent {
                org: org.to_owned(),
                used,
                max,
                share_percent: (self.share * 100.0).round() as u32,
            });
        }
        Ok(())
    }

    /// Stores what Salesforce just reported.
    pub async fn record(&self, org: &str, used: u64, max: u64) {
        let mut redis = self.redis.clone();
        let value = format!("{used}/{max}");
        if let Err(e) = redis
            .set_ex::<_, _, ()>(self.key(org), value, USAGE_TTL_SECONDS)
            .await
        {
            tracing::warn!(error = %e, org, "cannot store salesforce api usage in redis");
        }
    }
}

/// True when `used` of `max` reaches the share Tandem may use.
pub fn spent(used: u64, max: u64, share: f64) -> bool {
    max > 0 && used as f64 >= share * max as f64
}

fn parse(v: &str) -> Option<(u64, u64)> {
    let (u, m) = v.split_once('/')?;
    Some((u.parse().ok()?, m.parse().ok()?))
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
        assert_eq!(parse("12/100"), Some((12, 100)));
        assert_eq!(parse("x"), None);
    }
}
