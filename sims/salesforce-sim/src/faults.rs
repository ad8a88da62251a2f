//! Faults a test or demo injects: failing statuses, latency, row locks, dropped connections.

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

#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<Inner>,
}

impl Faults {
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
    }
}
