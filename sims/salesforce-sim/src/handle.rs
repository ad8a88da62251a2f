//! `SimHandle`: what tests and demos use to look inside the simulator and steer it.

use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::calllog::CallRecord;
use crate::errors::Error;
use crate::{Shared, auth, writes};

/// A token pair minted for an org's admin user.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub org_id: String,
    pub user_id: String,
}

/// A cheap, cloneable handle on a running simulator's state.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

fn rejected(e: crate::errors::SfError) -> Error {
    Error::Rejected(format!("{}: {}", e.code, e.message))
}

fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl SimHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        SimHandle { shared }
    }

    /// Creates the org (seeded as configured) if it does not exist yet.
    pub fn ensure_org(&self, org: &str) {
        self.shared.with_org(org, |_, _| ());
    }

    /// The org's 18-char id (`00D…`).
    pub fn org_id(&self, org: &str) -> String {
        self.shared.with_org(org, |o, _| o.org_id.clone())
    }

    /// The admin user every org has; it approves OAuth and owns seeded records.
    pub fn admin_user_id(&self, org: &str) -> String {
        self.shared.with_org(org, |o, _| o.admin_user_id.clone())
    }

    /// Sets the org's default time zone (`Organization.TimeZoneSidKey`), as an admin does in
    /// Setup (the API cannot).
    pub fn set_org_time_zone(&self, org: &str, time_zone: &str) {
        self.shared.with_org(org, |o, _| {
            let org_id = o.org_id.clone();
            if let Some(r) = o.table_mut("Organization").get_mut(&org_id) {
                r.fields
                    .insert("TimeZoneSidKey".into(), serde_json::json!(time_zone));
            }
        })
    }

    /// Mints an access + refresh token for the org's admin, as if OAuth had run.
    pub fn mint_token(&self, org: &str) -> Tokens {
        let (org_id, user_id) = self
            .shared
            .with_org(org, |o, _| (o.org_id.clone(), o.admin_user_id.clone()));
        let mut state = self.shared.state();
        let grant = auth::Issue {
            org,
            org_id: &org_id,
            user_id: &user_id,
            client_id: "",
            scope: "api refresh_token id",
            with_refresh: true,
        };
        let (access, refresh) = auth::issue(&mut state, self.shared.config.token_ttl, &grant);
        Tokens {
            access_token: access,
            refresh_token: refresh.unwrap_or_default(),
            org_id,
            user_id,
        }
    }

    /// Every access token expires now (refresh tokens stay valid).
    pub fn expire_all_tokens(&self) {
        let now = Instant::now();
        for g in self.shared.state().access.values_mut() {
            g.expires_at = now;
        }
    }

    /// Creates a record as the admin, with full validation; returns its id.
    pub fn insert(&self, org: &str, object: &str, fields: Value) -> Result<String, Error> {
        self.insert_as(org, object, fields, None)
    }

    /// Creates many records (a seed) as the admin; stops at the first rejection.
    pub fn insert_many(
        &self,
        org: &str,
        object: &str,
        records: Vec<Value>,
    ) -> Result<Vec<String>, Error> {
        let o = self
            .shared
            .schema
            .object(object)
            .ok_or_else(|| Error::UnknownObject(object.into()))?;
        self.shared.with_org(org, |o_, schema| {
            let admin = o_.admin_user_id.clone();
            records
                .into_iter()
                .map(|r| writes::create(schema, o_, o, &as_map(r), &admin).map_err(rejected))
                .collect()
        })
    }

    /// Creates a record as `user_id` (the admin when `None`).
    pub fn insert_as(
        &self,
        org: &str,
        object: &str,
        fields: Value,
        user_id: Option<&str>,
    ) -> Result<String, Error> {
        let o = self
            .shared
            .schema
            .object(object)
            .ok_or_else(|| Error::UnknownObject(object.into()))?;
        self.shared.with_org(org, |org_, schema| {
            let user = user_id
                .map(str::to_string)
                .unwrap_or_else(|| org_.admin_user_id.clone());
            writes::create(schema, org_, o, &as_map(fields), &user).map_err(rejected)
        })
    }

    /// Simulates a person editing a record in the Salesforce UI: the change carries
    /// `user_id` as `LastModifiedById` and bumps `SystemModstamp`.
    pub fn update_as(
        &self,
        org: &str,
        id: &str,
        fields: Value,
        user_id: &str,
    ) -> Result<(), Error> {
        self.shared.with_org(org, |org_, schema| {
            let object = org_
                .record(schema, id)
                .map(|r| r.object.clone())
                .ok_or_else(|| Error::Rejected(format!("NOT_FOUND: no record {id}")))?;
            let o = schema.object(&object).ok_or(Error::UnknownObject(object))?;
            writes::update(schema, org_, o, id, &as_map(fields), user_id).map_err(rejected)
        })
    }

    /// Sets fields directly, read-only and audit fields included (e.g. a `SystemModstamp` in
    /// the past), without validation or new stamps.
    pub fn force_fields(&self, org: &str, id: &str, fields: Value) -> Result<(), Error> {
        self.shared.with_org(org, |o, schema| {
            writes::force(schema, o, id, &as_map(fields)).map_err(rejected)
        })
    }

    /// Deletes a record (to the recycle bin).
    pub fn delete(&self, org: &str, id: &str) -> Result<(), Error> {
        self.shared.with_org(org, |org_, schema| {
            writes::delete(schema, org_, id)
                .map(|_| ())
                .map_err(rejected)
        })
    }

    /// A record's stored fields (deleted records included), by any id form.
    pub fn record(&self, org: &str, id: &str) -> Option<Map<String, Value>> {
        self.shared.with_org(org, |o, schema| {
            o.record(schema, id).map(|r| r.fields.clone())
        })
    }

    /// Live records of an object.
    pub fn count(&self, org: &str, object: &str) -> usize {
        self.shared.with_org(org, |o, schema| {
            let name = schema
                .object(object)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            o.table(&name)
                .map(|t| t.values().filter(|r| !r.deleted()).count())
                .unwrap_or(0)
        })
    }

    /// Live records of an object, with their stored fields (for tests that look at a whole
    /// object, as a `SELECT … FROM object` would).
    pub fn records(&self, org: &str, object: &str) -> Vec<Map<String, Value>> {
        self.shared.with_org(org, |o, schema| {
            let name = schema
                .object(object)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            o.table(&name)
                .map(|t| {
                    t.values()
                        .filter(|r| !r.deleted())
                        .map(|r| r.fields.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Writes every org (records, refresh tokens) to a JSON file `Config::state_file` can load.
    pub fn save_state(&self, path: &std::path::Path) -> Result<(), Error> {
        crate::persist::save(&self.shared.state(), path)
    }

    /// Every request answered so far, in order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.calls.snapshot()
    }

    /// Requests with `method` whose path contains `path_part`.
    pub fn count_calls(&self, method: &str, path_part: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method) && c.path.contains(path_part))
            .count()
    }

    pub fn clear_calls(&self) {
        self.shared.calls.clear();
    }

    /// The next `n` requests answer `status` (e.g. 503) without doing anything.
    pub fn fail_next(&self, n: u32, status: u16) {
        self.shared.faults.fail_next(n, status);
    }

    /// Every request waits `d` before it is handled.
    pub fn set_latency(&self, d: Duration) {
        self.shared.faults.set_latency(d);
    }

    /// The next `n` write requests fail with `UNABLE_TO_LOCK_ROW`.
    pub fn lock_next(&self, n: u32) {
        self.shared.faults.lock_next(n);
    }

    /// The next `n` requests get their connection closed without an answer.
    pub fn drop_next(&self, n: u32) {
        self.shared.faults.drop_next(n);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Sets the daily API allocation of an org.
    pub fn set_api_limit(&self, org: &str, max: u64) {
        self.shared.with_org(org, |o, _| o.api_max = max);
    }

    /// Sets how many API calls the org has used today.
    pub fn set_api_usage(&self, org: &str, used: u64) {
        self.shared.with_org(org, |o, _| o.api_used = used);
    }

    /// `(used, max)` of the daily API allocation.
    pub fn api_usage(&self, org: &str) -> (u64, u64) {
        self.shared.with_org(org, |o, _| (o.api_used, o.api_max))
    }
}
