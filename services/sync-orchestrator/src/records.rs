//! The connectors' records (`tandem.v1.Record`: field → the remote's JSON value as text, plus
//! display texts: monday's read-only columns, Salesforce lookups' related names) handed to
//! tandem-core as its neutral input, and core payloads back into write requests. Neither
//! remote's wire format is known here.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};
use tandem_core::convert::{self, RawRecord, ReadRecord, same};
use tandem_core::{FieldMapping, UserDirectory};
use tandem_proto::v1::Record;

/// A connector's record as tandem-core's neutral input.
fn raw(record: &Record) -> RawRecord<'_> {
    RawRecord {
        fields: &record.fields,
        texts: &record.texts,
        changed_at: record
            .modified_at
            .as_ref()
            .and_then(|t| tandem_core::jiff::Timestamp::new(t.seconds, t.nanos).ok()),
    }
}

/// A Salesforce record read into canonical values; a lookup reads with its related record's
/// name from `record.texts`, so a text column shows the name.
pub fn read_salesforce(mappings: &[FieldMapping], record: &Record) -> ReadRecord {
    convert::read_salesforce_raw(mappings, &raw(record))
}

/// A monday item read into canonical values (read-only columns by their display text).
pub fn read_monday(
    mappings: &[FieldMapping],
    record: &Record,
    users: &dyn UserDirectory,
) -> ReadRecord {
    convert::read_monday_raw(mappings, &raw(record), users)
}

/// The fields to ask connector-salesforce's `GetRecords` for on the `User` object to learn
/// users by Id (see [`unknown_user_ids`] and [`add_users_by_id`]).
pub const USER_FIELDS: [&str; 3] = ["Email", "Name", "IsActive"];

/// The Salesforce user Ids that mapped User fields of `records` point to and that `users`
/// does not know an email for: read them with `GetRecords { object: "User", ids, fields:
/// USER_FIELDS }` and add them with [`add_users_by_id`], so a User field mapped to a monday
/// text/email column writes the user's email even when no monday user has it.
pub fn unknown_user_ids<'a>(
    mappings: &[FieldMapping],
    records: impl IntoIterator<Item = &'a Record>,
    users: &dyn UserDirectory,
) -> Vec<String> {
    let fields: Vec<&str> = mappings
        .iter()
        .filter(|m| m.salesforce.kind == tandem_core::SalesforceKind::User)
        .map(|m| m.salesforce.name.as_str())
        .collect();
    let mut ids: Vec<String> = Vec::new();
    if fields.is_empty() {
        return ids;
    }
    for record in records {
        for (k, v) in &record.fields {
            if !fields.iter().any(|f| f.eq_ignore_ascii_case(k)) {
                continue;
            }
            let Ok(id) = serde_json::from_str::<String>(v) else {
                continue;
            };
            if !id.is_empty() && users.salesforce_email(&id).is_none() && !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// Adds the `User` records of a `GetRecords` answer to `users` by Id (active or not), for
/// the User → text/email fallback; they are not matched back from their email.
pub fn add_users_by_id(users: &mut tandem_core::UserMap, user_records: &[Record]) {
    for r in user_records {
        if let Some(email) = r
            .fields
            .get("Email")
            .and_then(|v| serde_json::from_str::<String>(v).ok())
        {
            users.add_salesforce_user_email(r.id.clone(), &email);
        }
    }
}

/// A payload (field → JSON) as write-request values (field → JSON text): Salesforce fields, or
/// monday `column_values` (the item name as a JSON string under `name`).
pub fn as_json_text(payload: &Map<String, Json>) -> HashMap<String, String> {
    payload
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

/// Whether `record` holds every value of `payload` (a create's fields), each compared in
/// canonical form whatever form Salesforce answers in (numbers as numbers, datetimes as
/// instants, trimmed text, picklists without case, multi-picklists without order, phones
/// normalised; see [`tandem_core::convert::same`]); a missing field is null. Without the
/// fields' kinds the kind is guessed from the values and truncated text is not recognised:
/// prefer [`carries_mapped`].
#[cfg(test)]
pub fn carries(record: &Record, payload: &Map<String, Json>) -> bool {
    carries_mapped(&[], record, payload)
}

/// Like [`carries`], comparing each mapped field by its Salesforce kind and length (text cut
/// to the field's length is recognised).
pub fn carries_mapped(
    mappings: &[FieldMapping],
    record: &Record,
    payload: &Map<String, Json>,
) -> bool {
    payload.iter().all(|(field, wanted)| {
        let held = record
            .fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| serde_json::from_str(v).unwrap_or(Json::Null))
            .unwrap_or(Json::Null);
        match mappings
            .iter()
            .find(|m| m.salesforce.name.eq_ignore_ascii_case(field))
        {
            Some(m) => same::holds(&m.salesforce, wanted, &held),
            None => same::holds_json(wanted, &held),
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
    fn owners_unknown_to_the_directory_are_listed_then_added_by_id() {
        use tandem_core::{Direction, MondayColumn, MondayKind, SalesforceField, SalesforceKind};
        let mappings = [FieldMapping::new(
            SalesforceField::new("OwnerId", SalesforceKind::User),
            MondayColumn::new("owner", MondayKind::Text),
            Direction::SalesforceToMonday,
        )];
        let mut users = tandem_core::UserMap::new().with_salesforce_user("005A", "ann@x.io");
        let records = [
            record(&[("OwnerId", "\"005A\""), ("Name", "\"005Z\"")]),
            record(&[("OwnerId", "\"005B\"")]),
            record(&[("OwnerId", "\"005B\"")]),
            record(&[("OwnerId", "null")]),
        ];
        let ids = unknown_user_ids(&mappings, &records, &users);
        assert_eq!(ids, ["005B"]);
        let mut found = record(&[
            ("Email", "\"Old@X.io\""),
            ("IsActive", "false"),
            ("Name", "\"Old Timer\""),
        ]);
        found.id = "005B".into();
        add_users_by_id(&mut users, &[found]);
        assert_eq!(users.salesforce_email("005B").as_deref(), Some("old@x.io"));
        assert!(unknown_user_ids(&mappings, &records, &users).is_empty());
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

    fn object(v: Json) -> Map<String, Json> {
        v.as_object().cloned().unwrap()
    }

    fn mappings() -> Vec<FieldMapping> {
        use tandem_core::{Direction, MondayColumn, MondayKind, SalesforceField, SalesforceKind};
        let m = |name: &str, kind: SalesforceKind, length: u32| {
            let mut f = SalesforceField::new(name, kind);
            f.length = length;
            FieldMapping::new(
                f,
                MondayColumn::new(name, MondayKind::Text),
                Direction::Both,
            )
        };
        vec![
            m("Name", SalesforceKind::String, 10),
            m("Amount", SalesforceKind::Currency, 0),
            m("CloseDate", SalesforceKind::Date, 0),
            m("Due__c", SalesforceKind::Datetime, 0),
            m("StageName", SalesforceKind::Picklist, 0),
            m("Tags__c", SalesforceKind::Multipicklist, 0),
            m("Phone", SalesforceKind::Phone, 40),
        ]
    }

    #[test]
    fn a_create_is_recognised_in_every_form_salesforce_reads_it_back() {
        let sent = object(serde_json::json!({
            "Name": "O’Brien & Co Ltd ",
            "Amount": 1200.0,
            "CloseDate": "2027-03-31",
            "Due__c": "2027-03-31T12:00:00+02:00",
            "StageName": "closed won",
            "Tags__c": "b;a",
            "Phone": "+14155552000"
        }));
        let held = record(&[
            ("Name", "\"O’Brien & \""),
            ("Amount", "\"1200.00\""),
            ("CloseDate", "\"2027-03-31\""),
            ("Due__c", "\"2027-03-31T10:00:00.000+0000\""),
            ("StageName", "\"Closed Won\""),
            ("Tags__c", "\"a;b\""),
            ("Phone", "\"(415) 555-2000\""),
        ]);
        assert!(carries_mapped(&mappings(), &held, &sent));
        // One form at a time, so each is shown to matter.
        let name_only = |name: &str| record(&[("Name", name)]);
        assert!(carries_mapped(
            &mappings(),
            &name_only("\"O’Brien\""),
            &object(serde_json::json!({"Name": "O’Brien  "}))
        ));
        assert!(
            !carries_mapped(
                &mappings(),
                &name_only("\"O'Brien\""),
                &object(serde_json::json!({"Name": "O’Brien"}))
            ),
            "a straight apostrophe is another name"
        );
        let mut other = held.clone();
        other.fields.insert("Amount".into(), "1201".into());
        assert!(!carries_mapped(&mappings(), &other, &sent));
        let mut other = held.clone();
        other.fields.insert("Tags__c".into(), "\"a;b;c\"".into());
        assert!(!carries_mapped(&mappings(), &other, &sent));
        // Without kinds, all but the truncation are still recognised.
        let mut whole = held.clone();
        whole
            .fields
            .insert("Name".into(), "\"O’Brien & Co Ltd\"".into());
        assert!(carries(&whole, &sent));
        assert!(!carries(&held, &sent), "truncation needs the field length");
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
