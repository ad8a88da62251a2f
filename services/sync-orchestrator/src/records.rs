//! The connectors' records (`tandem.v1.Record`: field → the remote's JSON value as text, plus
//! display texts: monday's read-only columns, Salesforce lookups' related names) in the shapes
//! tandem-core reads, and core payloads back into write requests.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};
use tandem_core::convert::{self, ReadRecord};
use tandem_core::{FieldMapping, UserDirectory};
use tandem_proto::v1::Record;

fn rfc3339(ts: &prost_types::Timestamp) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(ts.seconds).ok()?
        + time::Duration::nanoseconds(i64::from(ts.nanos));
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// A Salesforce record as a query returns it, read into canonical values; a lookup reads
/// with its related record's name from `record.texts`, so a text column shows the name.
pub fn read_salesforce(mappings: &[FieldMapping], record: &Record) -> ReadRecord {
    let mut object: Map<String, Json> = record
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or(Json::Null)))
        .collect();
    if let Some(at) = record.modified_at.as_ref().and_then(rfc3339) {
        object.insert("SystemModstamp".to_owned(), Json::String(at));
    }
    convert::read_salesforce_record_named(mappings, &Json::Object(object), &record.texts)
}

/// A monday item as `items_page` returns it, read into canonical values.
pub fn read_monday(
    mappings: &[FieldMapping],
    record: &Record,
    users: &dyn UserDirectory,
) -> ReadRecord {
    let column_values: Vec<Json> = record
        .fields
        .iter()
        .filter(|(k, _)| k.as_str() != "name")
        .map(|(k, v)| {
            let value = if v == "null" {
                Json::Null
            } else {
                Json::String(v.clone())
            };
            match record.texts.get(k) {
                Some(text) => json!({"id": k, "value": value, "text": text}),
                None => json!({"id": k, "value": value}),
            }
        })
        .collect();
    let mut item = json!({"id": record.id, "column_values": column_values});
    if let Some(name) = record
        .fields
        .get("name")
        .and_then(|v| serde_json::from_str::<String>(v).ok())
    {
        item["name"] = Json::String(name);
    }
    if let Some(at) = record.modified_at.as_ref().and_then(rfc3339) {
        item["updated_at"] = Json::String(at);
    }
    convert::read_monday_item(mappings, &item, users)
}

/// A payload (field → JSON) as write-request values (field → JSON text): Salesforce fields, or
/// monday `column_values` (the item name as a JSON string under `name`).
pub fn as_json_text(payload: &Map<String, Json>) -> HashMap<String, String> {
    payload
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

/// Whether `record` holds every value of `payload` (a create's fields): numbers compared as
/// numbers, a missing field as null.
pub fn carries(record: &Record, payload: &Map<String, Json>) -> bool {
    payload.iter().all(|(field, wanted)| {
        let held = record
            .fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| serde_json::from_str(v).unwrap_or(Json::Null))
            .unwrap_or(Json::Null);
        match (&held, wanted) {
            (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
            _ => &held == wanted,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[(&str, &str)]) -> Record {
        Record {
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_salesforce_lookup_reads_with_its_related_name() {
        use tandem_core::{Direction, MondayColumn, MondayKind, SalesforceField, SalesforceKind};
        let mapping = FieldMapping::new(
            SalesforceField::new("AccountId", SalesforceKind::Reference),
            MondayColumn::new("account", MondayKind::Text),
            Direction::SalesforceToMonday,
        );
        let mut held = record(&[("AccountId", "\"001dS000000000BQAQ\"")]);
        held.texts.insert("AccountId".into(), "Acme".into());
        let read = read_salesforce(std::slice::from_ref(&mapping), &held);
        assert_eq!(
            read.state.values["AccountId"],
            tandem_core::Value::Reference {
                id: "001dS000000000BQAQ".into(),
                name: Some("Acme".into())
            }
        );
    }

    #[test]
    fn a_record_carries_a_payload_when_every_field_is_equal() {
        let held = record(&[
            ("Name", "\"Omega\""),
            ("Amount", "1200"),
            ("CloseDate", "\"2027-03-31\""),
        ]);
        let payload = |v: Json| v.as_object().cloned().unwrap();
        assert!(carries(
            &held,
            &payload(
                serde_json::json!({"Name": "Omega", "Amount": 1200.0, "closedate": "2027-03-31"})
            )
        ));
        assert!(!carries(
            &held,
            &payload(serde_json::json!({"Name": "Omega", "Amount": 1201}))
        ));
        assert!(
            !carries(&held, &payload(serde_json::json!({"StageName": "Won"}))),
            "a field the record lacks is null"
        );
        assert!(carries(
            &held,
            &payload(serde_json::json!({"Description": null}))
        ));
    }
}
