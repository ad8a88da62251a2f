//! The log of every request the simulator answered, for tests that count calls.

use std::sync::Mutex;

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub method: String,
    /// The path without the query string, as the client sent it.
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// The org the request was routed to, when it got that far.
    pub org: Option<String>,
}

impl CallRecord {
    /// True for calls that count toward the daily API allocation (`/services/data/vXX.X/...`).
    pub fn is_api_call(&self) -> bool {
        self.path.starts_with("/services/data/v")
    }
}

#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<Vec<CallRecord>>,
}

impl CallLog {
    pub fn push(&self, call: CallRecord) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }

    pub fn snapshot(&self) -> Vec<CallRecord> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.clear();
        }
    }
}
