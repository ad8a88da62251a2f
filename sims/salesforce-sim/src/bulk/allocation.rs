//! The org's Bulk allocations over a rolling 24 hours, on the bus clock (so
//! `SimHandle::advance_event_clock` ages them, as it ages change-event deliveries).

use std::collections::VecDeque;
use time::OffsetDateTime;

/// Amounts counted in the 24 hours before a moment.
#[derive(Debug, Clone, Default)]
pub struct Rolling {
    entries: VecDeque<(OffsetDateTime, u64)>,
}

impl Rolling {
    pub fn used(&mut self, now: OffsetDateTime) -> u64 {
        while let Some((at, _)) = self.entries.front() {
            if now - *at < time::Duration::hours(24) {
                break;
            }
            self.entries.pop_front();
        }
        self.entries.iter().map(|(_, n)| n).sum()
    }

    pub fn add(&mut self, now: OffsetDateTime, n: u64) {
        self.entries.push_back((now, n));
    }

    /// Forgets the history: `n` used now.
    fn set(&mut self, now: OffsetDateTime, n: u64) {
        self.entries.clear();
        if n > 0 {
            self.add(now, n);
        }
    }
}

/// The allocations and their use.
#[derive(Debug, Clone, Default)]
pub struct Allocations {
    pub batches_max: u64,
    pub records_max: u64,
    pub query_jobs_max: u64,
    pub batches: Rolling,
    pub records: Rolling,
    pub query_jobs: Rolling,
}

/// The org's Bulk allocations and their use in the last 24 hours, as tests and the control
/// plane see and set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkUsage {
    /// `DailyBulkApiBatches.Max` (15,000).
    pub batches_max: u64,
    pub batches_used: u64,
    /// Records uploaded per rolling 24 hours (150,000,000).
    pub records_max: u64,
    pub records_used: u64,
    /// `DailyBulkV2QueryJobs.Max` (10,000).
    pub query_jobs_max: u64,
    pub query_jobs_used: u64,
}

impl Allocations {
    pub fn snapshot(&mut self, now: OffsetDateTime) -> BulkUsage {
        BulkUsage {
            batches_max: self.batches_max,
            batches_used: self.batches.used(now),
            records_max: self.records_max,
            records_used: self.records.used(now),
            query_jobs_max: self.query_jobs_max,
            query_jobs_used: self.query_jobs.used(now),
        }
    }

    /// Takes `u` as the new state: maxima, and the use of whatever was changed.
    pub fn apply(&mut self, now: OffsetDateTime, before: &BulkUsage, u: &BulkUsage) {
        self.batches_max = u.batches_max;
        self.records_max = u.records_max;
        self.query_jobs_max = u.query_jobs_max;
        if u.batches_used != before.batches_used {
            self.batches.set(now, u.batches_used);
        }
        if u.records_used != before.records_used {
            self.records.set(now, u.records_used);
        }
        if u.query_jobs_used != before.query_jobs_used {
            self.query_jobs.set(now, u.query_jobs_used);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_older_than_a_day_no_longer_counts() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut r = Rolling::default();
        r.add(t0, 3);
        r.add(t0 + time::Duration::hours(12), 2);
        assert_eq!(r.used(t0 + time::Duration::hours(23)), 5);
        assert_eq!(r.used(t0 + time::Duration::hours(24)), 2);
        assert_eq!(r.used(t0 + time::Duration::hours(36)), 0);
    }
}
