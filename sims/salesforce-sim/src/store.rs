//! In-memory orgs: records per object, users, API usage, query cursors, OAuth grants.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use crate::clock;
use crate::ids;
use crate::schema::Schema;

/// One stored record. `fields` holds every field of the object by its canonical name, in
/// wire form (datetimes `…+0000`, dates `yyyy-MM-dd`, `null` when empty).
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub object: String,
    pub fields: Map<String, Value>,
    pub deleted_at: Option<String>,
}

impl Record {
    pub fn deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    pub fn get(&self, field: &str) -> &Value {
        self.fields.get(field).unwrap_or(&Value::Null)
    }

    pub fn modstamp(&self) -> &str {
        self.get("SystemModstamp").as_str().unwrap_or("")
    }
}

/// A page source for `nextRecordsUrl`.
#[derive(Debug)]
pub struct Cursor {
    pub rows: Arc<Vec<Value>>,
    pub total: usize,
    pub batch: usize,
    pub last_used: Instant,
}

#[derive(Debug)]
pub struct Org {
    pub key: String,
    pub org_id: String,
    pub pod: String,
    pub seq: u64,
    pub admin_user_id: String,
    pub records: HashMap<String, BTreeMap<String, Record>>,
    pub api_max: u64,
    pub api_used: u64,
    pub cursors: HashMap<String, Cursor>,
    /// Change Data Capture: selection, open transaction, event log, delivery usage.
    pub cdc: crate::pubsub::Cdc,
    /// Bulk API 2.0 jobs and the use of the Bulk allocations.
    pub bulk: crate::bulk::Jobs,
    /// Records by external-id and unique field values (see `keys.rs`).
    pub keys: std::cell::RefCell<crate::keys::KeyIndex>,
}

impl Org {
    pub fn new(key: &str, org_seq: u64, api_max: u64) -> Org {
        let pod = "dS".to_string();
        Org {
            key: key.to_string(),
            org_id: ids::make_id("00D", &pod, org_seq),
            pod,
            seq: 0,
            admin_user_id: String::new(),
            records: HashMap::new(),
            api_max,
            api_used: 0,
            cursors: HashMap::new(),
            cdc: crate::pubsub::Cdc::default(),
            bulk: crate::bulk::Jobs::default(),
            keys: Default::default(),
        }
    }

    pub fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        ids::make_id(prefix, &self.pod, self.seq)
    }

    pub fn table(&self, object: &str) -> Option<&BTreeMap<String, Record>> {
        self.records.get(object)
    }

    pub fn table_mut(&mut self, object: &str) -> &mut BTreeMap<String, Record> {
        self.records.entry(object.to_string()).or_default()
    }

    /// A record by any-case 15/18-char id, deleted or not.
    pub fn record(&self, schema: &Schema, id: &str) -> Option<&Record> {
        let id = ids::normalize(id)?;
        let o = schema.object_for_id(&id)?;
        self.records.get(&o.name)?.get(&id)
    }

    pub fn record_mut(&mut self, schema: &Schema, id: &str) -> Option<&mut Record> {
        let id = ids::normalize(id)?;
        let o = schema.object_for_id(&id)?;
        self.records.get_mut(&o.name)?.get_mut(&id)
    }

    /// Live records of `object` whose `field` equals `value` (case-insensitive for text).
    pub fn find_by(&self, object: &str, field: &str, value: &str) -> Vec<String> {
        let Some(t) = self.records.get(object) else {
            return vec![];
        };
        self.keys.borrow_mut().find(object, t, field, value)
    }

    /// Keeps the key index up to date after a write of record `id` of `object`.
    pub fn note_write(&self, object: &str, id: &str) {
        if let Some(r) = self.records.get(object).and_then(|t| t.get(id)) {
            self.keys.borrow_mut().note(r);
        }
    }

    /// Drops the key index after records changed other than through `writes.rs`.
    pub fn forget_keys(&self) {
        self.keys.borrow_mut().forget();
    }

    /// Counts one API call; false when the daily allocation is spent.
    pub fn spend_api_call(&mut self) -> bool {
        if self.api_used >= self.api_max {
            return false;
        }
        self.api_used += 1;
        true
    }

    pub fn limit_info(&self) -> String {
        format!("api-usage={}/{}", self.api_used, self.api_max)
    }

    /// Drops cursors idle for 15 minutes, and the oldest beyond 100 per org.
    pub fn prune_cursors(&mut self) {
        let now = Instant::now();
        self.cursors
            .retain(|_, c| now.duration_since(c.last_used).as_secs() < 15 * 60);
        while self.cursors.len() > 100 {
            let oldest = self
                .cursors
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.cursors.remove(&k);
                }
                None => break,
            }
        }
    }
}

/// An access token's grant.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub org: String,
    pub user_id: String,
    pub expires_at: Instant,
    pub refresh_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub org: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub org: String,
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub issued: Instant,
    /// PKCE: the `code_challenge` (S256) the authorize request carried, if any; the token
    /// request must then send the `code_verifier` it was made from.
    pub code_challenge: Option<String>,
}

/// Everything mutable, behind one lock.
#[derive(Debug, Default)]
pub struct State {
    pub orgs: HashMap<String, Org>,
    pub access: HashMap<String, AccessGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    pub codes: HashMap<String, AuthCode>,
    pub org_seq: u64,
}

/// Timestamp strings for a write.
pub fn stamp() -> String {
    clock::format_datetime(clock::now())
}
