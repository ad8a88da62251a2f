//! Daily call limits per account, as monday documents them: every call counts (failed ones
//! too), the count resets at midnight UTC, and a call over the limit is refused with HTTP 429
//! `DAILY_LIMIT_EXCEEDED` and `retry_in_seconds` until midnight. Off unless an account is
//! given a limit (handle, control plane) or `Config::daily_calls_by_tier` applies the plan's.

use time::{Date, OffsetDateTime};

/// The documented daily call limit of a plan (`Account.tier`): Free/Trial 200,
/// Basic/Standard 1,000, Pro 10,000, Enterprise 25,000 (the last two "soft" on monday, where
/// an increase can be asked for; the simulator holds them as given).
pub fn documented_limit(tier: &str) -> u32 {
    match tier {
        "free" | "trial" => 200,
        "basic" | "standard" => 1_000,
        "pro" => 10_000,
        _ => 25_000,
    }
}

/// One account's calls today.
#[derive(Debug, Clone)]
pub struct DailyCalls {
    pub day: Date,
    pub used: u32,
    /// Overrides the configured limit for this account (Some(n): n calls a day).
    pub limit: Option<u32>,
}

impl DailyCalls {
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            day: now.date(),
            used: 0,
            limit: None,
        }
    }

    fn roll(&mut self, now: OffsetDateTime) {
        if now.date() != self.day {
            self.day = now.date();
            self.used = 0;
        }
    }

    /// Count one call; Err(seconds until midnight UTC) when it is over `limit`.
    pub fn count(&mut self, limit: Option<u32>, now: OffsetDateTime) -> Result<(), u64> {
        let now = now.to_offset(time::UtcOffset::UTC);
        self.roll(now);
        self.used = self.used.saturating_add(1);
        match self.limit.or(limit) {
            Some(l) if self.used > l => {
                let midnight = now.date().next_day().map(|d| d.midnight().assume_utc());
                let secs = midnight.map_or(1, |m| (m - now).whole_seconds().max(1));
                Err(secs as u64)
            }
            _ => Ok(()),
        }
    }

    /// Record `n` calls already made today (for tests close to a limit).
    pub fn spend(&mut self, n: u32, now: OffsetDateTime) {
        self.roll(now.to_offset(time::UtcOffset::UTC));
        self.used = self.used.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_until_midnight_utc_then_counts_afresh() {
        let t = time::macros::datetime!(2026-12-07 23:59:00 UTC);
        let mut d = DailyCalls::new(t);
        assert_eq!(d.count(Some(2), t), Ok(()));
        assert_eq!(d.count(Some(2), t), Ok(()));
        assert_eq!(d.count(Some(2), t), Err(60));
        assert_eq!(d.count(None, t), Ok(()), "no limit, no refusal");
        let next_day = t + time::Duration::minutes(2);
        assert_eq!(d.count(Some(2), next_day), Ok(()));
        assert_eq!(d.used, 1);
    }

    #[test]
    fn an_accounts_own_limit_wins_and_plans_have_their_documented_limits() {
        let t = time::macros::datetime!(2026-12-07 12:00:00 UTC);
        let mut d = DailyCalls::new(t);
        d.limit = Some(1);
        assert!(d.count(Some(100), t).is_ok());
        assert!(d.count(Some(100), t).is_err());
        let limits: Vec<u32> = ["free", "basic", "standard", "pro", "enterprise"]
            .map(documented_limit)
            .into();
        assert_eq!(limits, [200, 1_000, 1_000, 10_000, 25_000]);
    }
}
