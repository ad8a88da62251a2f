//! Records in no remote's wire format: what the connectors hand over (each field's raw value as
//! JSON text — the remote's own value for it —, a display text where the remote shows one, and
//! when the record last changed), read into a [`ReadRecord`] for the merge. The orchestrator
//! passes records through without knowing either remote's format.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value as Json;

use super::record::{ReadRecord, changed_at};
use super::{UserDirectory, monday, salesforce};
use crate::{FieldMapping, MondayKind};

/// One record as a connector hands it over.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// Field (or column) → the remote's value as JSON text; `null` is a value, a missing key
    /// is "not read". A monday item's name is under `name` as a JSON string.
    pub fields: &'a HashMap<String, String>,
    /// Field → the text the remote shows for it: a monday read-only column's display text, a
    /// Salesforce lookup's related record name.
    pub texts: &'a HashMap<String, String>,
    /// When the record last changed.
    pub changed_at: Option<Timestamp>,
}

impl RawRecord<'_> {
    fn text(&self, key: &str) -> Option<&str> {
        self.texts
            .get(key)
            .or_else(|| {
                self.texts
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }
}

/// A Salesforce record's mapped fields: a lookup reads with its related name.
pub fn read_salesforce_raw(mappings: &[FieldMapping], record: &RawRecord<'_>) -> ReadRecord {
    let mut out = ReadRecord::default();
    out.state.record_changed_at = record.changed_at;
    for m in mappings {
        let field = &m.salesforce;
        let Some(text) = record.fields.get(&field.name) else {
            continue;
        };
        let raw: Json = serde_json::from_str(text).unwrap_or(Json::Null);
        match salesforce::read_named(field, &raw, record.text(&field.name)) {
            Ok(v) => {
                out.state.values.insert(field.name.clone(), v);
            }
            Err(e) => out.errors.push((field.name.clone(), e)),
        }
    }
    out
}

/// A monday item's mapped columns: the name column from the item's name, a column's own
/// `changed_at` (status, date, checkbox, … carry one in their value) as that field's change
/// time, a read-only column (mirror, formula, …) by its display text.
pub fn read_monday_raw(
    mappings: &[FieldMapping],
    record: &RawRecord<'_>,
    users: &dyn UserDirectory,
) -> ReadRecord {
    let mut out = ReadRecord::default();
    out.state.record_changed_at = record.changed_at;
    for m in mappings {
        let column = &m.monday;
        let key = &column.id;
        let read = if column.kind == MondayKind::Name {
            let Some(name) = record
                .fields
                .get("name")
                .and_then(|v| serde_json::from_str::<String>(v).ok())
            else {
                continue;
            };
            monday::read(column, None, Some(&name), users)
        } else {
            let text = record.text(key);
            let value = record.fields.get(key).map(String::as_str);
            if value.is_none() && text.is_none() {
                continue;
            }
            let value = value.filter(|v| *v != "null");
            if let Some(at) = value.and_then(changed_at) {
                out.state.changed_at.insert(key.clone(), at);
            }
            monday::read(column, value, text, users)
        };
        match read {
            Ok(v) => {
                out.state.values.insert(key.clone(), v);
            }
            Err(e) => out.errors.push((key.clone(), e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Direction, MondayColumn, SalesforceField, SalesforceKind, UserMap, Value};

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_monday_item_reads_its_name_status_time_and_a_mirrors_text() {
        let m = |f: SalesforceField, c: MondayColumn| FieldMapping::new(f, c, Direction::Both);
        let mappings = vec![
            m(
                SalesforceField::new("Name", SalesforceKind::String),
                MondayColumn::new("name", MondayKind::Name),
            ),
            m(
                SalesforceField::new("StageName", SalesforceKind::Picklist),
                MondayColumn::new("status", MondayKind::Status).with_labels(["Working", "Done"]),
            ),
            m(
                SalesforceField::new("NextStep", SalesforceKind::String),
                MondayColumn::new("mirror", MondayKind::Mirror),
            ),
        ];
        let fields = map(&[
            ("name", "\"Deploy\""),
            (
                "status",
                r#"{"index":1,"changed_at":"2026-05-22T05:47:17.769Z"}"#,
            ),
            ("mirror", "null"),
        ]);
        let texts = map(&[("mirror", "Sprint 4")]);
        let at: Timestamp = "2026-05-22T05:47:42Z".parse().unwrap();
        let raw = RawRecord {
            fields: &fields,
            texts: &texts,
            changed_at: Some(at),
        };
        let r = read_monday_raw(&mappings, &raw, &UserMap::new());
        assert_eq!(r.state.values["name"], Value::text("Deploy"));
        assert_eq!(r.state.values["status"], Value::labels(["Done"]));
        assert_eq!(r.state.values["mirror"], Value::text("Sprint 4"));
        assert_eq!(
            r.state.changed_at["status"],
            "2026-05-22T05:47:17.769Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(r.state.record_changed_at, Some(at));
    }

    #[test]
    fn a_salesforce_record_reads_what_it_holds_and_skips_what_was_not_read() {
        let mappings = vec![
            FieldMapping::new(
                SalesforceField::new("Name", SalesforceKind::String),
                MondayColumn::new("name", MondayKind::Name),
                Direction::Both,
            ),
            FieldMapping::new(
                SalesforceField::new("NumberOfEmployees", SalesforceKind::Int),
                MondayColumn::new("n", MondayKind::Numbers),
                Direction::Both,
            ),
            FieldMapping::new(
                SalesforceField::new("Type", SalesforceKind::Picklist),
                MondayColumn::new("t", MondayKind::Status),
                Direction::Both,
            ),
        ];
        let fields = map(&[("Name", "\"Acme\""), ("NumberOfEmployees", "\"many\"")]);
        let texts = HashMap::new();
        let raw = RawRecord {
            fields: &fields,
            texts: &texts,
            changed_at: None,
        };
        let r = read_salesforce_raw(&mappings, &raw);
        assert_eq!(r.state.values["Name"], Value::text("Acme"));
        assert!(!r.state.values.contains_key("Type"), "not read, not null");
        assert_eq!(r.errors[0].0, "NumberOfEmployees");
    }
}
