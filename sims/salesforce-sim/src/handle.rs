//! `SimHandle`: what tests and demos use to look inside the simulator and steer it.

use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::calllog::CallRecord;
use crate::errors::Error;
use crate::{Shared, auth, pubsub, writes};

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
            o.forget_keys();
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
        let out = self.shared.with_org(org, |o_, schema| {
            let admin = o_.admin_user_id.clone();
            records
                .into_iter()
                .map(|r| writes::create(schema, o_, o, &as_map(r), &admin).map_err(rejected))
                .collect()
        });
        self.commit(org);
        out
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
        let out = self.shared.with_org(org, |org_, schema| {
            let user = user_id
                .map(str::to_string)
                .unwrap_or_else(|| org_.admin_user_id.clone());
            writes::create(schema, org_, o, &as_map(fields), &user).map_err(rejected)
        });
        self.commit(org);
        out
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
        let out = self.shared.with_org(org, |org_, schema| {
            let object = org_
                .record(schema, id)
                .map(|r| r.object.clone())
                .ok_or_else(|| Error::Rejected(format!("NOT_FOUND: no record {id}")))?;
            let o = schema.object(&object).ok_or(Error::UnknownObject(object))?;
            writes::update(schema, org_, o, id, &as_map(fields), user_id).map_err(rejected)
        });
        self.commit(org);
        out
    }

    /// Sets fields directly, read-only and audit fields included (e.g. a `SystemModstamp` in
    /// the past), without validation or new stamps, and without a change event (it rewrites
    /// history; use `outside_api` for an edit subscribers hear of as a gap).
    pub fn force_fields(&self, org: &str, id: &str, fields: Value) -> Result<(), Error> {
        self.shared.with_org(org, |o, schema| {
            writes::force(schema, o, id, &as_map(fields)).map_err(rejected)
        })
    }

    /// Deletes a record (to the recycle bin).
    pub fn delete(&self, org: &str, id: &str) -> Result<(), Error> {
        let out = self.shared.with_org(org, |org_, schema| {
            writes::delete(schema, org_, id)
                .map(|_| ())
                .map_err(rejected)
        });
        self.commit(org);
        out
    }

    /// Restores a deleted record from the recycle bin, as the admin.
    pub fn undelete(&self, org: &str, id: &str) -> Result<(), Error> {
        let out = self.shared.with_org(org, |org_, schema| {
            let admin = org_.admin_user_id.clone();
            writes::undelete(schema, org_, id, &admin)
                .map(|_| ())
                .map_err(rejected)
        });
        self.commit(org);
        out
    }

    /// Runs `f` (edits through this handle) as changes "made outside the API" (say, a data
    /// repair by Salesforce support): they reach subscribers as GAP_ events, header only.
    pub fn outside_api<R>(&self, org: &str, f: impl FnOnce(&SimHandle) -> R) -> R {
        self.shared.with_org(org, |o, _| o.cdc.outside_api = true);
        let out = f(self);
        self.shared.with_org(org, |o, _| o.cdc.outside_api = false);
        out
    }

    /// Commits the org's open changes as a control-plane edit (empty `changeOrigin`).
    fn commit(&self, org: &str) {
        pubsub::commit(&self.shared, org, "");
    }

    /// Where the Pub/Sub API listens (gRPC over h2c), when served.
    pub fn pubsub_addr(&self) -> Option<std::net::SocketAddr> {
        self.shared.pubsub_addr
    }

    /// Adds a custom field (describe-shaped JSON: `{"name": "Region__c", "type": "string",
    /// "label": "Region"}`) to an object in every org, as an admin does in Setup: describes,
    /// writes and queries know it, and the object's change event schema gets a new id.
    pub fn add_field(&self, object: &str, field: Value) -> Result<(), Error> {
        let def: crate::schema::FieldDef =
            serde_json::from_value(field).map_err(|e| Error::Schema(e.to_string()))?;
        let next = self.shared.schema.with_field(object, def)?;
        self.shared.schema.replace(next);
        Ok(())
    }

    /// Subscribe streams that have taken their first request and not ended: a test that
    /// subscribes at LATEST waits for this before it writes.
    pub fn live_subscriptions(&self) -> usize {
        self.shared
            .bus
            .live
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The objects with change events enabled in the org (its CDC selection).
    pub fn cdc_selection(&self, org: &str) -> Vec<String> {
        self.shared
            .with_org(org, |o, _| o.cdc.selected.iter().cloned().collect())
    }

    /// Sets the org's CDC selection, as an admin does in Setup; unknown objects and objects
    /// without change events are refused.
    pub fn set_cdc_selection(&self, org: &str, objects: &[&str]) -> Result<(), Error> {
        let capturable = pubsub::capturable(&self.shared.schema);
        let mut names = std::collections::BTreeSet::new();
        for o in objects {
            let name = self
                .shared
                .schema
                .object(o)
                .map(|d| d.name.clone())
                .filter(|n| capturable.contains(n))
                .ok_or_else(|| Error::UnknownObject((*o).to_string()))?;
            names.insert(name);
        }
        self.shared.with_org(org, |o, _| o.cdc.selected = names);
        Ok(())
    }

    /// Sets the org's event delivery allocation (rolling 24 hours).
    pub fn set_delivery_allocation(&self, org: &str, max: u64) {
        self.shared.with_org(org, |o, _| o.cdc.allocation_max = max);
    }

    /// Uses up the org's delivery allocation: Subscribe answers the limit error.
    pub fn spend_delivery_allocation(&self, org: &str) {
        let now = self.shared.bus.now();
        self.shared.with_org(org, |o, _| {
            let used = o.cdc.delivered_today(now);
            let left = o.cdc.allocation_max.saturating_sub(used);
            o.cdc.deliveries.push_back((now, left));
        });
    }

    /// `(delivered in the last 24 h, allocation)`.
    pub fn delivery_usage(&self, org: &str) -> (u64, u64) {
        let now = self.shared.bus.now();
        self.shared.with_org(org, |o, _| {
            (o.cdc.delivered_today(now), o.cdc.allocation_max)
        })
    }

    /// Ends every open Subscribe stream with UNAVAILABLE, as a service restart would.
    pub fn drop_pubsub_streams(&self) {
        self.shared.bus.drop_streams();
    }

    /// Every batch of events waits `d` before it goes out.
    pub fn set_pubsub_delay(&self, d: Duration) {
        self.shared.bus.set_delay(d);
    }

    /// Moves the event bus clock forward (retention, delivery allocation window).
    pub fn advance_event_clock(&self, d: Duration) {
        self.shared.bus.advance(d);
    }

    /// Defines a platform event `/event/{name}` (`name` ends in `__e`) with custom fields
    /// `(name, type)`, type one of string, boolean, double, int, long, datetime, date.
    /// Returns its schema id.
    pub fn define_platform_event(
        &self,
        name: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, Error> {
        if !name.ends_with("__e") {
            return Err(Error::Rejected(format!(
                "{name}: a platform event name ends in __e"
            )));
        }
        let fields = fields
            .iter()
            .map(|(f, t)| {
                pubsub::avro::Leaf::parse(t)
                    .map(|l| (f.to_string(), l))
                    .ok_or_else(|| Error::Rejected(format!("{f}: unknown type {t}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.shared
            .bus
            .platform
            .define(&self.shared.bus.schemas, name, &fields)
            .map_err(|e| Error::Rejected(e.to_string()))
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

    /// While `on`, closed Bulk API jobs (ingest and query) wait in `UploadComplete` before
    /// processing, as on a busy org; they can be aborted meanwhile.
    pub fn hold_bulk_jobs(&self, on: bool) {
        self.shared.faults.hold_bulk(on);
    }

    /// The next `n` write requests fail with `UNABLE_TO_LOCK_ROW` (a Bulk API job: the next
    /// `n` tries of its 200-record chunks).
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

    /// The org's Bulk API allocations and their use in the last 24 hours of the bus clock.
    pub fn bulk_usage(&self, org: &str) -> crate::bulk::BulkUsage {
        let now = self.shared.bus.now();
        self.shared.with_org(org, |o, _| o.bulk.usage.snapshot(now))
    }

    /// Changes the org's Bulk API allocations; a changed `*_used` replaces the use of the
    /// last 24 hours (as if all of it happened now).
    pub fn set_bulk_usage(&self, org: &str, f: impl FnOnce(&mut crate::bulk::BulkUsage)) {
        let now = self.shared.bus.now();
        self.shared.with_org(org, |o, _| {
            let before = o.bulk.usage.snapshot(now);
            let mut after = before.clone();
            f(&mut after);
            o.bulk.usage.apply(now, &before, &after);
        })
    }
}
