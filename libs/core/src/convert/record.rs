//! Whole records: a Salesforce record JSON or a monday item JSON read into a [`SideState`]
//! for [`crate::merge()`], with the fields that could not be read reported apart.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value as Json;

use super::{UserDirectory, monday, salesforce};
use crate::merge::SideState;
use crate::{CoreError, FieldMapping, MondayColumn, MondayKind, SalesforceField};

/// One side of a record, read for the merge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadRecord {
    /// Values of the fields that were present and readable. A field left out counts as
    /// unchanged in the merge.
    pub state: SideState,
    /// Fields that were present but could not be read (field name or column id, error).
    pub errors: Vec<(String, CoreError)>,
}

/// Reads a Salesforce record (a `records[]` entry of a query, or `GET /sobjects/…/{id}`).
///
/// Only the mapped fields present in the record are read (`null` is a value, a missing key
/// is "not read"). The record's change time is `SystemModstamp`, else `LastModifiedDate`.
pub fn read_salesforce_record(mappings: &[FieldMapping], record: &Json) -> ReadRecord {
    read_salesforce_fields(mappings.iter().map(|m| &m.salesforce), record)
}

/// Like [`read_salesforce_record`], with the related names of lookups by field (the
/// connector's `Record.texts`), so a lookup reads as its related record's name.
pub fn read_salesforce_record_named(
    mappings: &[FieldMapping],
    record: &Json,
    names: &HashMap<String, String>,
) -> ReadRecord {
    read_salesforce_fields_named(mappings.iter().map(|m| &m.salesforce), record, names)
}

/// Like [`read_salesforce_record`], for any fields (e.g. those a condition uses).
pub fn read_salesforce_fields<'a>(
    fields: impl IntoIterator<Item = &'a SalesforceField>,
    record: &Json,
) -> ReadRecord {
    read_salesforce_fields_named(fields, record, &HashMap::new())
}

/// Like [`read_salesforce_fields`], with the related names of lookups by field.
pub fn read_salesforce_fields_named<'a>(
    fields: impl IntoIterator<Item = &'a SalesforceField>,
    record: &Json,
    names: &HashMap<String, String>,
) -> ReadRecord {
    let mut out = ReadRecord::default();
    out.state.record_changed_at = ["SystemModstamp", "LastModifiedDate"]
        .iter()
        .find_map(|k| record.get(k)?.as_str().and_then(salesforce::parse_datetime))
        .map(|dt| dt.instant);
    for field in fields {
        let key = &field.name;
        let Some(raw) = record.get(key) else { continue };
        let name = names
            .get(key)
            .or_else(|| {
                names
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str);
        match salesforce::read_named(field, raw, name) {
            Ok(v) => {
                out.state.values.insert(key.clone(), v);
            }
            Err(e) => out.errors.push((key.clone(), e)),
        }
    }
    out
}

/// Reads a monday item as returned by `items_page` / `items` with
/// `id name updated_at column_values { id type text value … }` (and `display_value` on
/// mirror, board-relation and formula columns).
///
/// The item name feeds a mapped `name` column. A column's own `changed_at` (status, date,
/// checkbox, … carry one in their value) becomes that field's change time; the item's
/// `updated_at` is the record's.
pub fn read_monday_item(
    mappings: &[FieldMapping],
    item: &Json,
    users: &dyn UserDirectory,
) -> ReadRecord {
    read_monday_columns(mappings.iter().map(|m| &m.monday), item, users)
}

/// Like [`read_monday_item`], for any columns (e.g. those a condition uses).
pub fn read_monday_columns<'a>(
    columns: impl IntoIterator<Item = &'a MondayColumn>,
    item: &Json,
    users: &dyn UserDirectory,
) -> ReadRecord {
    let mut out = ReadRecord::default();
    out.state.record_changed_at = item
        .get("updated_at")
        .and_then(Json::as_str)
        .and_then(monday::parse_timestamp);
    let values = item
        .get("column_values")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for column in columns {
        let key = &column.id;
        let read = if column.kind == MondayKind::Name {
            let Some(name) = item.get("name").and_then(Json::as_str) else {
                continue;
            };
            monday::read(column, None, Some(name), users)
        } else {
            let Some(cv) = values
                .iter()
                .find(|c| c.get("id").and_then(Json::as_str) == Some(key))
            else {
                continue;
            };
            let value = cv.get("value").and_then(Json::as_str);
            let text = cv
                .get("display_value")
                .and_then(Json::as_str)
                .or_else(|| cv.get("text").and_then(Json::as_str));
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

/// The `changed_at` inside a column value, e.g. `{"index":1,"changed_at":"2026-05-22T05:47:17.769Z"}`.
pub(crate) fn changed_at(value: &str) -> Option<Timestamp> {
    let v: Json = serde_json::from_str(value).ok()?;
    v.get("changed_at")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{Direction, MondayColumn, SalesforceField, SalesforceKind, UserMap, Value};

    fn mappings() -> Vec<FieldMapping> {
        let m = |f: SalesforceField, c: MondayColumn| FieldMapping::new(f, c, Direction::Both);
        vec![
            m(
                SalesforceField::new("Name", SalesforceKind::String),
                MondayColumn::new("name", MondayKind::Name),
            ),
            m(
                SalesforceField::new("Type", SalesforceKind::Picklist),
                MondayColumn::new("task_status", MondayKind::Status).with_labels([
                    "Working on it",
                    "Done",
                    "Stuck",
                ]),
            ),
            m(
                SalesforceField::new("Active__c", SalesforceKind::Boolean),
                MondayColumn::new("check", MondayKind::Checkbox),
            ),
            m(
                SalesforceField::new("NumberOfEmployees", SalesforceKind::Int),
                MondayColumn::new("task_estimation", MondayKind::Numbers),
            ),
            m(
                SalesforceField::new("Sprint__c", SalesforceKind::String),
                MondayColumn::new("mirror", MondayKind::Mirror),
            ),
        ]
    }

    #[test]
    fn reads_a_recorded_monday_item() {
        // From fixtures/monday-recorded-responses.json (change_column_value response).
        let item = json!({"id": "2933602562", "name": "Deploy", "updated_at": "2026-05-22T05:47:42Z",
            "column_values": [
                {"id": "task_status", "value": "{\"index\":1,\"changed_at\":\"2026-05-22T05:47:17.769Z\"}", "text": "Done"},
                {"id": "task_estimation", "value": "\"not a number\"", "text": ""},
                {"id": "check", "value": "{\"checked\":false}", "text": ""},
                {"id": "mirror", "value": null, "text": null, "display_value": "Sprint 4"}]});
        let r = read_monday_item(&mappings(), &item, &UserMap::new());
        assert_eq!(r.state.values["name"], Value::text("Deploy"));
        assert_eq!(r.state.values["task_status"], Value::labels(["Done"]));
        assert_eq!(r.state.values["check"], Value::Bool(false));
        assert_eq!(r.state.values["mirror"], Value::text("Sprint 4"));
        assert_eq!(
            r.state.changed_at["task_status"],
            "2026-05-22T05:47:17.769Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            r.state.record_changed_at,
            Some("2026-05-22T05:47:42Z".parse().unwrap())
        );
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].0, "task_estimation");
        assert!(!r.state.values.contains_key("task_estimation"));
    }

    #[test]
    fn a_lookup_reads_as_its_related_name_and_shows_it_in_a_text_column() {
        let users = UserMap::new();
        let ctx = crate::ConvertContext::for_org("UTC", &users).unwrap();
        let m = |f: SalesforceField, c: &str| {
            FieldMapping::new(
                f,
                MondayColumn::new(c, MondayKind::Text),
                Direction::SalesforceToMonday,
            )
        };
        let account = m(
            SalesforceField::new("AccountId", SalesforceKind::Reference),
            "account",
        );
        let owner = m(
            SalesforceField::new("OwnerId", SalesforceKind::User),
            "owner",
        );
        let record = json!({"AccountId": "001dS000000000BQAQ", "OwnerId": "005000000000001AAA"});
        let names: HashMap<String, String> = [
            ("AccountId".to_owned(), "Acme’s Café".to_owned()),
            ("OwnerId".to_owned(), "Ann Lee".to_owned()),
        ]
        .into();
        let mappings = [account.clone(), owner];
        let r = read_salesforce_record_named(&mappings, &record, &names);
        assert_eq!(
            r.state.values["AccountId"],
            Value::Reference {
                id: "001dS000000000BQAQ".into(),
                name: Some("Acme’s Café".into())
            }
        );
        assert_eq!(
            r.state.values["OwnerId"],
            Value::Reference {
                id: "005000000000001AAA".into(),
                name: None
            },
            "a user converts by email; its name is not part of its value"
        );
        let text = crate::convert::to_monday(&account, &r.state.values["AccountId"], &ctx).unwrap();
        assert_eq!(text, Value::text("Acme’s Café"));
        // No name known: the Id, as before.
        let r = read_salesforce_record(&mappings, &record);
        let text = crate::convert::to_monday(&account, &r.state.values["AccountId"], &ctx).unwrap();
        assert_eq!(text, Value::text("001dS000000000BQAQ"));
    }

    #[test]
    fn reads_a_salesforce_record_and_skips_fields_not_queried() {
        let record = json!({"attributes": {"type": "Account"}, "Id": "001dM00003jU9GyQAK",
            "Name": "Burlington Textiles Corp of America", "Type": null,
            "NumberOfEmployees": "many", "SystemModstamp": "2026-05-01T07:25:37.000+0000"});
        let r = read_salesforce_record(&mappings(), &record);
        assert_eq!(
            r.state.values["Name"],
            Value::text("Burlington Textiles Corp of America")
        );
        assert_eq!(r.state.values["Type"], Value::Null);
        assert!(!r.state.values.contains_key("Active__c"));
        assert_eq!(r.errors[0].0, "NumberOfEmployees");
        assert_eq!(
            r.state.record_changed_at,
            Some("2026-05-01T07:25:37Z".parse().unwrap())
        );
    }
}
