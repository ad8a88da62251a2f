//! Faults a test or demo injects: failing statuses, latency, row locks, dropped connections,
//! Bulk API jobs held before processing.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Default)]
struct Inner {
    fail_statuses: VecDeque<u16>,
    latency: Duration,
    lock_next: u32,
    drop_next: u32,
}

#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
    /// While true, closed Bulk API jobs wait before processing (as on a busy org).
    bulk_hold: tokio::sync::watch::Sender<bool>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            inner: Mutex::default(),
            bulk_hold: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl Faults {
    /// Holds (or releases) Bulk API jobs before they start processing.
    pub fn hold_bulk(&self, on: bool) {
        self.bulk_hold.send_replace(on);
    }

    /// Returns once Bulk API jobs are not held.
    pub async fn bulk_released(&self) {
        let mut rx = self.bulk_hold.subscribe();
        let _ = rx.wait_for(|held| !*held).await;
    }

    /// The next `n` requests answer `status` (e.g. 503).
    pub fn fail_next(&self, n: u32, status: u16) {
        if let Ok(mut i) = self.inner.lock() {
            i.fail_statuses
                .extend(std::iter::repeat_n(status, n as usize));
        }
    }

    pub fn take_failure(&self) -> Option<u16> {
        self.inner.lock().ok()?.fail_statuses.pop_front()
    }

    pub fn set_latency(&self, d: Duration) {
        if let Ok(mut i) = self.inner.lock() {
            i.latency = d;
        }
    }

    pub fn latency(&self) -> Duration {
        self.inner.lock().map(|i| i.latency).unwrap_or_default()
    }

    /// The next `n` write requests fail with `UNABLE_TO_LOCK_ROW`.
    pub fn lock_next(&self, n: u32) {
        if let Ok(mut i) = self.inner.lock() {
            i.lock_next += n;
        }
    }

    pub fn take_lock(&self) -> bool {
        match self.inner.lock() {
            Ok(mut i) if i.lock_next > 0 => {
                i.lock_next -= 1;
                true
            }
            _ => false,
        }
    }

    /// The next `n` connections are closed without an answer.
    pub fn drop_next(&self, n: u32) {
        if let Ok(mut i) = self.inner.lock() {
            i.drop_next += n;
        }
    }

    pub fn take_drop(&self) -> bool {
        match self.inner.lock() {
            Ok(mut i) if i.drop_next > 0 => {
                i.drop_next -= 1;
                true
            }
            _ => false,
        }
    }

    pub fn clear(&self) {
        if let Ok(mut i) = self.inner.lock() {
            *i = Inner::default();
        }
        self.hold_bulk(false);
    }
}
