//! Records by the text value of a field, so that looking a record up by an external id or
//! checking a unique field costs O(log n) instead of a scan of the object: an upsert of
//! 100,000 keyed records would otherwise take quadratic time.
//!
//! An (object, field) is indexed on its first lookup, then kept up to date by
//! [`KeyIndex::note`] after every write (`writes.rs`). Entries are only candidates: a lookup
//! checks each against the record as it is now, so a value changed away leaves a harmless
//! stale entry. A field holding numbers or booleans is scanned instead. Anything that
//! changes records another way (a rolled-back `allOrNone`, the seed) calls
//! [`KeyIndex::forget`].

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::store::Record;

#[derive(Debug)]
enum Slot {
    /// Lower-cased text value -> ids.
    Text(HashMap<String, BTreeSet<String>>),
    /// Values other than text: scan.
    Scan,
}

#[derive(Debug, Default)]
pub struct KeyIndex {
    slots: HashMap<(String, String), Slot>,
}

fn build(table: &BTreeMap<String, Record>, field: &str) -> Slot {
    let mut map: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in table.values() {
        match r.get(field) {
            Value::String(s) => {
                map.entry(s.to_ascii_lowercase())
                    .or_default()
                    .insert(r.id.clone());
            }
            Value::Null => {}
            _ => return Slot::Scan,
        }
    }
    Slot::Text(map)
}

/// Whether a stored value equals `value` as Salesforce compares external ids.
pub fn matches(stored: &Value, value: &str) -> bool {
    match stored {
        Value::String(s) => s.eq_ignore_ascii_case(value),
        Value::Null => false,
        Value::Number(n) => n.as_f64() == value.parse::<f64>().ok(),
        Value::Bool(b) => value.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

impl KeyIndex {
    /// Live records of `table` (object `object`) whose `field` equals `value`, by id.
    pub fn find(
        &mut self,
        object: &str,
        table: &BTreeMap<String, Record>,
        field: &str,
        value: &str,
    ) -> Vec<String> {
        let slot = self
            .slots
            .entry((object.to_string(), field.to_string()))
            .or_insert_with(|| build(table, field));
        let live = |r: &&Record| !r.deleted() && matches(r.get(field), value);
        match slot {
            Slot::Scan => table.values().filter(live).map(|r| r.id.clone()).collect(),
            Slot::Text(map) => map
                .get(&value.to_ascii_lowercase())
                .into_iter()
                .flatten()
                .filter_map(|id| table.get(id))
                .filter(live)
                .map(|r| r.id.clone())
                .collect(),
        }
    }

    /// Takes in the current values of record `r` after a write.
    pub fn note(&mut self, r: &Record) {
        for ((object, field), slot) in &mut self.slots {
            if *object != r.object {
                continue;
            }
            match (&mut *slot, r.get(field)) {
                (Slot::Text(map), Value::String(s)) => {
                    map.entry(s.to_ascii_lowercase())
                        .or_default()
                        .insert(r.id.clone());
                }
                (Slot::Text(_), Value::Null) | (Slot::Scan, _) => {}
                (Slot::Text(_), _) => *slot = Slot::Scan,
            }
        }
    }

    /// Drops every index (rebuilt on the next lookup).
    pub fn forget(&mut self) {
        self.slots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn rec(id: &str, key: Value, deleted: bool) -> Record {
        let mut fields = Map::new();
        fields.insert("Key__c".into(), key);
        Record {
            id: id.into(),
            object: "P".into(),
            fields,
            deleted_at: deleted.then(|| "x".to_string()),
        }
    }

    #[test]
    fn finds_live_records_case_insensitively_and_follows_writes() {
        let mut table = BTreeMap::new();
        for r in [
            rec("a1", json!("K-1"), false),
            rec("a2", json!("k-2"), false),
            rec("a3", json!("k-1"), true),
        ] {
            table.insert(r.id.clone(), r);
        }
        let mut idx = KeyIndex::default();
        assert_eq!(idx.find("P", &table, "Key__c", "k-1"), vec!["a1"]);
        // a2's key changes to k-1: found under its new key, not its old one.
        let moved = rec("a2", json!("K-1"), false);
        table.insert("a2".into(), moved.clone());
        idx.note(&moved);
        assert_eq!(idx.find("P", &table, "Key__c", "k-1"), vec!["a1", "a2"]);
        assert!(idx.find("P", &table, "Key__c", "k-2").is_empty());
        // A number in the field: scanned from then on, still right.
        let num = rec("a4", json!(7), false);
        table.insert("a4".into(), num.clone());
        idx.note(&num);
        assert_eq!(idx.find("P", &table, "Key__c", "7"), vec!["a4"]);
        assert_eq!(idx.find("P", &table, "Key__c", "k-1"), vec!["a1", "a2"]);
    }
}
