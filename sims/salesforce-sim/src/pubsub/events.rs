//! Change Data Capture in an org: writes leave a `Change` in the org's journal; when the
//! API call (or control-plane edit) ends, its transaction commits and becomes change events
//! on the org's event log, Avro-encoded with the object's current event schema.

use apache_avro::types::Value as Avro;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use time::OffsetDateTime;

use super::avro::{self, EventField, EventSchema, Header};
use super::bitmap::FieldSet;
use super::schemas::Schemas;
use crate::schema::Schema;
use crate::store::Org;

/// Objects that have no change events in Salesforce.
pub const NOT_CAPTURED: [&str; 2] = ["Organization", "Profile"];

/// A payload over 1 MB becomes a GAP event.
const MAX_PAYLOAD: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
    Undelete,
}

impl ChangeKind {
    /// Index in `avro::CHANGE_TYPES`; the GAP_ form is 4 later.
    fn index(self) -> usize {
        match self {
            ChangeKind::Create => 0,
            ChangeKind::Update => 1,
            ChangeKind::Delete => 2,
            ChangeKind::Undelete => 3,
        }
    }
}

/// One record change inside a transaction, before and after.
#[derive(Debug, Clone)]
pub struct Change {
    pub object: String,
    pub id: String,
    pub kind: ChangeKind,
    pub before: Option<Map<String, Value>>,
    pub after: Map<String, Value>,
    pub user: String,
    pub txn: u64,
}

/// An event on the org's log.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: u64,
    /// `/data/AccountChangeEvent`, or the platform event's `/event/…` topic.
    pub topic: String,
    pub change_event: bool,
    pub id: String,
    pub schema_id: String,
    pub payload: Vec<u8>,
    pub at: OffsetDateTime,
}

/// The org's CDC state: selection, the open journal, the event log, delivery usage.
#[derive(Debug, Default)]
pub struct Cdc {
    pub journal: Vec<Change>,
    /// The current transaction of the journal.
    pub txn: u64,
    /// Changes recorded while this is set are "made outside the API" (GAP_ events).
    pub outside_api: bool,
    pub outside_txns: BTreeSet<u64>,
    /// Objects with change events enabled.
    pub selected: BTreeSet<String>,
    /// The selection was set (by a state file); a new org's is the configured default.
    pub selection_set: bool,
    pub log: VecDeque<StoredEvent>,
    /// The newest position handed out (replay ids are positions, not contiguous).
    pub head: u64,
    /// Events at or before this position have expired.
    pub expired_through: u64,
    pub commit_number: u64,
    /// Deliveries in the rolling 24 hours: (when, how many).
    pub deliveries: VecDeque<(OffsetDateTime, u64)>,
    pub allocation_max: u64,
}

impl Cdc {
    /// Starts a new transaction (composite subrequests without `allOrNone`).
    pub fn begin(&mut self) {
        self.txn += 1;
    }

    pub fn record(&mut self, mut c: Change) {
        c.txn = self.txn;
        if self.outside_api {
            self.outside_txns.insert(self.txn);
        }
        self.journal.push(c);
    }

    /// Forgets changes after `mark` (a rolled-back `allOrNone` call).
    pub fn rollback(&mut self, mark: usize) {
        self.journal.truncate(mark);
    }

    pub fn next_position(&mut self) -> u64 {
        self.head += 1 + rand::random_range(0..7u64);
        self.head
    }

    /// Drops events older than `retention` before `now`.
    pub fn expire(&mut self, now: OffsetDateTime, retention: std::time::Duration) {
        while let Some(e) = self.log.front() {
            if now - e.at <= retention {
                break;
            }
            self.expired_through = e.position;
            self.log.pop_front();
        }
    }

    /// Deliveries counted in the 24 hours before `now`.
    pub fn delivered_today(&mut self, now: OffsetDateTime) -> u64 {
        while let Some((at, _)) = self.deliveries.front() {
            if now - *at < time::Duration::hours(24) {
                break;
            }
            self.deliveries.pop_front();
        }
        self.deliveries.iter().map(|(_, n)| n).sum()
    }
}

/// Who and how: the header's `changeOrigin`, plus the commit clock.
pub struct Commit<'a> {
    pub origin: &'a str,
    pub now: OffsetDateTime,
    pub overflow_after: usize,
}

struct Group {
    entity: String,
    kind: usize,
    user: String,
    key: String,
    record_ids: Vec<String>,
    values: Vec<Option<Avro>>,
    changed: FieldSet,
    nulled: FieldSet,
}

fn leaf_values(
    f: &EventField,
    c: &Change,
    before: Option<&Map<String, Value>>,
) -> (Option<Avro>, bool, Vec<usize>, Vec<usize>) {
    // (value, top-level changed, nested changed, nested nulled)
    let get = |m: Option<&Map<String, Value>>, k: &str| {
        m.and_then(|m| m.get(k)).cloned().unwrap_or(Value::Null)
    };
    match f {
        EventField::Leaf { name, leaf } => {
            let now = get(Some(&c.after), name);
            match before {
                None => (leaf.convert(&now), false, vec![], vec![]),
                Some(b) => {
                    let changed = get(Some(b), name) != now;
                    let v = if changed { leaf.convert(&now) } else { None };
                    (v, changed, vec![], vec![])
                }
            }
        }
        EventField::Compound { members, .. } => {
            let mut vals = Vec::new();
            let (mut changed, mut nulled) = (vec![], vec![]);
            for (i, m) in members.iter().enumerate() {
                let now = get(Some(&c.after), &m.source);
                let keep = match before {
                    None => true,
                    Some(b) => {
                        let ch = get(Some(b), &m.source) != now;
                        if ch {
                            changed.push(i);
                            if now.is_null() {
                                nulled.push(i);
                            }
                        }
                        ch
                    }
                };
                vals.push(if keep { m.leaf.convert(&now) } else { None });
            }
            let any = match before {
                None => vals.iter().any(Option::is_some),
                Some(_) => !changed.is_empty(),
            };
            let v = any.then(|| avro::compound(members, vals));
            (v, !changed.is_empty(), changed, nulled)
        }
    }
}

fn build_group(schema: &EventSchema, c: &Change) -> Group {
    let mut g = Group {
        entity: c.object.clone(),
        kind: c.kind.index(),
        user: c.user.clone(),
        key: String::new(),
        record_ids: vec![c.id.clone()],
        values: Vec::new(),
        changed: FieldSet::default(),
        nulled: FieldSet::default(),
    };
    if c.kind == ChangeKind::Delete {
        return g;
    }
    let before = (c.kind == ChangeKind::Update)
        .then_some(c.before.as_ref())
        .flatten();
    for (i, f) in schema.fields.iter().enumerate() {
        let pos = i + 1;
        let (v, changed, inner_changed, inner_nulled) = leaf_values(f, c, before);
        if changed {
            g.changed.top.push(pos);
            if v.is_none() {
                g.nulled.top.push(pos);
            }
        }
        if !inner_changed.is_empty() {
            g.changed.nested.insert(pos, inner_changed);
        }
        if !inner_nulled.is_empty() {
            g.nulled.nested.insert(pos, inner_nulled);
        }
        g.values.push(v);
    }
    // Records of one transaction share its audit timestamps at Salesforce; here each write
    // reads the clock, so those are left out of what makes two changes "the same".
    let same: Vec<_> = schema
        .fields
        .iter()
        .zip(&g.values)
        .filter(|(f, _)| !TRANSACTION_STAMPS.contains(&f.name()))
        .map(|(_, v)| v)
        .collect();
    g.key = format!("{same:?}|{:?}|{:?}", g.changed, g.nulled);
    g
}

/// Fields every record of one transaction has the same value of.
const TRANSACTION_STAMPS: [&str; 2] = ["LastModifiedDate", "SystemModstamp"];

fn gap(c: &Change, kind: usize) -> Group {
    Group {
        entity: c.object.clone(),
        kind,
        user: c.user.clone(),
        key: format!("gap-{}", c.id),
        record_ids: vec![c.id.clone()],
        values: vec![],
        changed: FieldSet::default(),
        nulled: FieldSet::default(),
    }
}

/// Commits the journal: each transaction's changes become events on the log. Returns how
/// many events were added.
pub fn commit(org: &mut Org, schema: &Schema, schemas: &Schemas, c: &Commit) -> usize {
    let journal = std::mem::take(&mut org.cdc.journal);
    let outside = std::mem::take(&mut org.cdc.outside_txns);
    org.cdc.txn += 1;
    let mut added = 0;
    let mut start = 0;
    while start < journal.len() {
        let txn = journal[start].txn;
        let end = journal[start..]
            .iter()
            .position(|ch| ch.txn != txn)
            .map_or(journal.len(), |n| start + n);
        added += commit_txn(
            org,
            schema,
            schemas,
            c,
            &journal[start..end],
            outside.contains(&txn),
        );
        start = end;
    }
    added
}

fn commit_txn(
    org: &mut Org,
    schema: &Schema,
    schemas: &Schemas,
    c: &Commit,
    changes: &[Change],
    outside_api: bool,
) -> usize {
    let selected: Vec<&Change> = changes
        .iter()
        .filter(|ch| org.cdc.selected.contains(&ch.object))
        .collect();
    if selected.is_empty() {
        return 0;
    }
    let mut groups: Vec<Group> = Vec::new();
    // Same object, change type, user and change: one event for all its records.
    let mut index: HashMap<(String, usize, String, String), usize> = HashMap::new();
    let mut overflowed: Vec<&Change> = Vec::new();
    for (n, ch) in selected.iter().enumerate() {
        if n >= c.overflow_after {
            if !overflowed.iter().any(|o| o.object == ch.object) {
                overflowed.push(ch);
            }
            continue;
        }
        let g = if outside_api {
            gap(ch, ch.kind.index() + 4)
        } else {
            let Some(es) = schema.object(&ch.object).and_then(|o| schemas.current(o)) else {
                continue;
            };
            build_group(&es, ch)
        };
        let key = (g.entity.clone(), g.kind, g.user.clone(), g.key.clone());
        match index.get(&key) {
            Some(&i) if !outside_api => groups[i].record_ids.push(ch.id.clone()),
            _ => {
                index.insert(key, groups.len());
                groups.push(g);
            }
        }
    }
    for ch in overflowed {
        let mut g = gap(ch, 8);
        g.record_ids.clear();
        groups.push(g);
    }
    org.cdc.commit_number += 1 + rand::random_range(0..1000u64);
    let transaction_key = uuid::Uuid::new_v4().to_string();
    let commit_timestamp = crate::clock::epoch_ms(c.now) as i64;
    let mut added = 0;
    for (seq, g) in groups.into_iter().enumerate() {
        let Some(es) = schema.object(&g.entity).and_then(|o| schemas.current(o)) else {
            continue;
        };
        let mut header = Header {
            entity: g.entity.clone(),
            record_ids: g.record_ids.clone(),
            change_type: g.kind,
            origin: c.origin.to_string(),
            transaction_key: transaction_key.clone(),
            sequence_number: seq as i32 + 1,
            commit_timestamp,
            commit_number: org.cdc.commit_number as i64,
            commit_user: g.user.clone(),
            nulled: g.nulled.encode(),
            diff: vec![],
            changed: g.changed.encode(),
        };
        let mut payload = avro::encode(&es, &header, g.values);
        if payload.as_ref().is_ok_and(|p| p.len() > MAX_PAYLOAD) && g.kind < 4 {
            header.change_type = g.kind + 4;
            (header.nulled, header.changed) = (vec![], vec![]);
            payload = avro::encode(&es, &header, vec![]);
        }
        let payload = match payload {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(entity = %g.entity, error = %e, "encoding a change event failed");
                continue;
            }
        };
        let position = org.cdc.next_position();
        org.cdc.log.push_back(StoredEvent {
            position,
            topic: format!("/data/{}", avro::event_name(&g.entity)),
            change_event: true,
            id: uuid::Uuid::new_v4().to_string(),
            schema_id: es.id.clone(),
            payload,
            at: c.now,
        });
        added += 1;
    }
    added
}

/// The `changeOrigin` of a REST write: the API version and the `client` of its
/// `Sforce-Call-Options` header.
pub fn rest_origin(version: &str, call_options: Option<&str>) -> String {
    api_origin("rest", version, call_options)
}

/// The `changeOrigin` of a write through `api` (`rest`, `bulkapi`).
pub fn api_origin(api: &str, version: &str, call_options: Option<&str>) -> String {
    let client = call_options.and_then(|h| {
        h.split(',')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("client"))
            .map(|(_, v)| v.trim().to_string())
    });
    match client {
        Some(c) => format!("com/salesforce/api/{api}/{version};client={c}"),
        None => format!("com/salesforce/api/{api}/{version}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_names_the_client_of_the_call_options() {
        assert_eq!(
            rest_origin("62.0", Some("client=tandem-abc, defaultNamespace=x")),
            "com/salesforce/api/rest/62.0;client=tandem-abc"
        );
        assert_eq!(rest_origin("62.0", None), "com/salesforce/api/rest/62.0");
    }
}
