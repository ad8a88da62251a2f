//! What a run records about a pair: the direction, the names' fields, each field's before
//! and after, both sides and the winner of a conflict, the side a failure belongs to, and no
//! value of a sensitive mapping.

use serde_json::json;
use tandem_catalog::{Rules, Scope};
use tandem_core::merge::Side as CoreSide;
use tandem_core::{
    Condition, ConflictPolicy, ConvertContext, Direction, FieldMapping, MappingOptions,
    MondayColumn, SalesforceField, Shadow, UserMap, Value,
};
use tandem_proto::v1 as pb;

use super::plan;
use crate::pairs::Pair;

fn rules() -> Rules {
    let stage = SalesforceField::from_describe(&json!({
        "name": "StageName", "type": "picklist", "updateable": true, "createable": true,
        "restrictedPicklist": true,
        "picklistValues": [
            {"value": "Prospecting", "label": "Prospecting", "active": true},
            {"value": "Closed Won", "label": "Closed Won", "active": true}]}))
    .unwrap();
    let status = MondayColumn::from_api(
        "status",
        "Stage",
        "status",
        Some(&json!(
            r#"{"labels":{"0":"Prospecting","1":"Closed Won","2":"On hold"}}"#
        )),
    );
    let text = |name: &str| {
        SalesforceField::from_describe(&json!({
            "name": name, "type": "string", "length": 120, "updateable": true, "createable": true}))
        .unwrap()
    };
    let both =
        |f, c| FieldMapping::validated(f, c, Direction::Both, MappingOptions::default()).unwrap();
    Rules {
        mappings: vec![
            both(
                text("Name"),
                MondayColumn::from_api("name", "Name", "name", None),
            ),
            both(stage, status),
            both(
                text("Tax_Id__c"),
                MondayColumn::from_api("tax", "Tax id", "text", None),
            ),
        ],
        scope: Scope::TwoWay,
        policy: ConflictPolicy::NewestWins,
        incoming: Condition::Any,
        outgoing: Condition::Any,
        sensitive: ["Tax_Id__c".to_owned(), "tax".to_owned()].into(),
    }
}

fn record(id: &str, at: &str, fields: serde_json::Value) -> pb::Record {
    let seconds = at
        .parse::<tandem_core::jiff::Timestamp>()
        .unwrap()
        .as_second();
    pb::Record {
        id: id.into(),
        modified_at: Some(prost_types::Timestamp { seconds, nanos: 0 }),
        fields: fields
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// Both sides agreed on "Acme", Prospecting and tax id 1 when they were last linked.
fn linked(salesforce: pb::Record, monday: pb::Record) -> Pair {
    let text = Value::text;
    Pair {
        salesforce_id: Some(salesforce.id.clone()),
        monday_id: Some(monday.id.clone()),
        salesforce: Some(salesforce),
        monday: Some(monday),
        shadow: Some(Shadow {
            salesforce: [
                ("Name".to_owned(), text("Acme")),
                ("StageName".to_owned(), Value::labels(["Prospecting"])),
                ("Tax_Id__c".to_owned(), text("1")),
            ]
            .into(),
            monday: [
                ("name".to_owned(), text("Acme")),
                ("status".to_owned(), Value::labels(["Prospecting"])),
                ("tax".to_owned(), text("1")),
            ]
            .into(),
        }),
        ..Pair::default()
    }
}

fn planned(pair: Pair) -> super::Planned {
    let users = UserMap::new();
    let ctx = ConvertContext::for_org("UTC", &users).unwrap();
    plan("int-1", &rules(), &[pair], &users, &ctx)
}

#[test]
fn an_update_carries_each_fields_before_and_after_and_hides_sensitive_values() {
    let sf = record(
        "006A",
        "2026-01-01T00:00:00Z",
        json!({"Name": "Acme", "StageName": "Prospecting", "Tax_Id__c": "1"}),
    );
    let mo = record(
        "17",
        "2026-01-02T00:00:00Z",
        json!({"name": "Acme Corp", "status": {"index": 1}, "tax": "2"}),
    );
    let planned = planned(linked(sf, mo));
    assert!(planned.notes.is_empty(), "{:?}", planned.notes);
    let [write] = planned.salesforce.as_slice() else {
        panic!("one write to Salesforce: {planned:?}");
    };
    let change = |field: &str| {
        write
            .changes
            .iter()
            .find(|c| c.field == field)
            .unwrap_or_else(|| panic!("{field}: {:?}", write.changes))
    };
    assert_eq!(
        (
            change("Name").before.as_str(),
            change("Name").after.as_str()
        ),
        (r#""Acme""#, r#""Acme Corp""#)
    );
    assert_eq!(change("Name").source_field, "name");
    assert_eq!(
        (
            change("StageName").before.as_str(),
            change("StageName").after.as_str()
        ),
        (r#""Prospecting""#, r#""Closed Won""#)
    );
    let tax = change("Tax_Id__c");
    assert!(
        tax.redacted && tax.before.is_empty() && tax.after.is_empty(),
        "{tax:?}"
    );
}

#[test]
fn a_monday_label_salesforce_lacks_is_salesforces_failure_of_a_change_from_monday() {
    let sf = record(
        "006A",
        "2026-01-01T00:00:00Z",
        json!({"Name": "Acme", "StageName": "Prospecting", "Tax_Id__c": "1"}),
    );
    let mo = record(
        "17",
        "2026-01-02T00:00:00Z",
        json!({"name": "Acme", "status": {"index": 2}, "tax": "1"}),
    );
    let planned = planned(linked(sf, mo));
    let [note] = planned.notes.as_slice() else {
        panic!("one note: {:?}", planned.notes);
    };
    assert_eq!(note.action, pb::EventAction::Failed);
    assert_eq!(
        (
            note.source,
            note.source_id.as_str(),
            note.target_id.as_str()
        ),
        (CoreSide::Monday, "17", "006A"),
        "from monday, to Salesforce"
    );
    assert_eq!(note.errors[0].fields, ["StageName"]);
    assert_eq!(note.changes.len(), 1, "{:?}", note.changes);
    assert_eq!(
        (
            note.changes[0].before.as_str(),
            note.changes[0].after.as_str()
        ),
        (r#""Prospecting""#, r#""On hold""#)
    );
}

#[test]
fn a_conflict_records_both_sides_values_and_the_winner() {
    let sf = record(
        "006A",
        "2026-01-01T00:00:00Z",
        json!({"Name": "Acme", "StageName": "Closed Won", "Tax_Id__c": "1"}),
    );
    let mo = record(
        "17",
        "2026-01-02T00:00:00Z",
        json!({"name": "Acme", "status": {"index": 2}, "tax": "1"}),
    );
    // Both changed the stage; Salesforce's change is the newer one.
    let sf_newer = pb::Record {
        modified_at: Some(prost_types::Timestamp {
            seconds: 1_900_000_000,
            nanos: 0,
        }),
        ..sf
    };
    let planned = planned(linked(sf_newer, mo));
    let conflict = planned
        .notes
        .iter()
        .find(|n| n.action == pb::EventAction::Conflict)
        .unwrap_or_else(|| panic!("{:?}", planned.notes));
    assert_eq!(
        (conflict.source, conflict.source_id.as_str()),
        (CoreSide::Salesforce, "006A"),
        "it moved from the winner"
    );
    let [change] = conflict.changes.as_slice() else {
        panic!("{:?}", conflict.changes);
    };
    assert_eq!(change.field, "status");
    assert_eq!(change.salesforce_value, r#""Closed Won""#);
    assert_eq!(change.monday_value, r#""On hold""#);
    assert_eq!(change.winner, pb::Side::Salesforce as i32);
    assert_eq!(change.after, r#""Closed Won""#);
}

#[test]
fn a_create_lists_what_it_writes_with_nothing_before() {
    let mo = record(
        "18",
        "2026-01-02T00:00:00Z",
        json!({"name": "Globex", "status": {"index": 0}, "tax": "9"}),
    );
    let planned = planned(Pair::unlinked(CoreSide::Monday, mo));
    let [write] = planned.salesforce.as_slice() else {
        panic!("{planned:?}");
    };
    let fields: Vec<(&str, &str, &str)> = write
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("Name", "null", r#""Globex""#),
            ("StageName", "null", r#""Prospecting""#),
            ("Tax_Id__c", "", "")
        ]
    );
}

#[test]
fn a_conflict_whose_winner_fails_is_stored_decided_with_nothing_written() {
    // monday's newer "On hold" wins, but Salesforce's restricted picklist lacks it.
    let sf = record(
        "006A",
        "2026-01-01T00:00:00Z",
        json!({"Name": "Acme", "StageName": "Closed Won", "Tax_Id__c": "1"}),
    );
    let mo = record(
        "17",
        "2026-01-02T00:00:00Z",
        json!({"name": "Acme", "status": {"index": 2}, "tax": "1"}),
    );
    let planned = planned(linked(sf, mo));
    assert!(planned.salesforce.is_empty() && planned.monday.is_empty());
    let [(0, shadow)] = planned.relinks.as_slice() else {
        panic!("the pair's shadow is stored: {planned:?}");
    };
    // Salesforce's overruled value is taken as agreed, so the next run does not resolve the
    // conflict again; monday's change is still ahead of the shadow, to be retried.
    assert_eq!(
        shadow.salesforce["StageName"],
        Value::labels(["Closed Won"])
    );
    assert_eq!(shadow.monday["status"], Value::labels(["Prospecting"]));
}
