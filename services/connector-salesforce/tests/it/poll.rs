//! PollChanges and GetRecords against the simulator.

use serde_json::json;
use tandem_proto::v1::*;
use tonic::Code;

use crate::harness::{CONN, Harness, ORG, harness};

pub fn seed_projects(h: &Harness, n: usize) -> Vec<String> {
    let records = (0..n)
        .map(|i| json!({"Summary__c": format!("project {i}"), "Budget__c": 100 + i, "Status__c": "Planned"}))
        .collect();
    h.sim.insert_many(ORG, "Project__c", records).expect("seed")
}

pub fn poll_request(fields: &[&str]) -> SalesforcePollRequest {
    SalesforcePollRequest {
        connection_id: CONN.into(),
        object: "Project__c".into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    }
}

fn stamp(h: &Harness, id: &str) -> String {
    h.sim.record(ORG, id).unwrap()["SystemModstamp"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn seen(records: &[Record]) -> Vec<SeenRecord> {
    records
        .iter()
        .map(|r| SeenRecord {
            id: r.id.clone(),
            modified_at: r.modified_at,
        })
        .collect()
}

#[tokio::test]
async fn pages_through_five_thousand_records_selecting_only_mapped_fields() {
    let mut h = harness().await;
    seed_projects(&h, 5_000);
    h.sim.clear_calls();
    let answer = h
        .client
        .poll_changes(h.req(poll_request(&["Summary__c", "budget__c"])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.records.len(), 5_000);
    assert!(!answer.has_more);
    // 1 describe + ⌈5000/2000⌉ query pages.
    let calls = h.sim.calls();
    assert_eq!(calls.len(), 1 + 5_000usize.div_ceil(2_000), "{calls:?}");
    assert_eq!(h.calls("GET", "/describe"), 1);
    assert_eq!(h.calls("GET", "/query"), 3, "queryAll, then two more pages");
    assert_eq!(answer.api_calls, 4);
    let first = calls
        .iter()
        .find(|c| c.path.ends_with("/queryAll"))
        .unwrap();
    let q = first.query.clone().unwrap_or_default();
    assert!(q.contains("Summary__c") && q.contains("Budget__c"), "{q}");
    assert!(
        !q.contains("Notes__c"),
        "only mapped fields are selected: {q}"
    );
    let r = &answer.records[0];
    assert_eq!(r.fields.len(), 2, "{:?}", r.fields);
    assert!(r.fields["Summary__c"].starts_with("\"project "));
    assert!(r.modified_at.is_some());
    let usage = answer.api_usage.unwrap();
    assert!(usage.used > 0 && usage.limit == 15_000, "{usage:?}");
    // Ordered by SystemModstamp: the watermark is the last record's stamp.
    assert_eq!(answer.watermark, answer.records.last().unwrap().modified_at);
    let ids: std::collections::HashSet<_> = answer.records.iter().map(|r| &r.id).collect();
    assert_eq!(ids.len(), 5_000, "no record twice");
}

#[tokio::test]
async fn max_records_stops_early_and_reports_more() {
    let mut h = harness().await;
    seed_projects(&h, 30);
    let mut request = poll_request(&["Summary__c"]);
    request.max_records = 10;
    let first = h
        .client
        .poll_changes(h.req(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.records.len(), 10);
    assert!(first.has_more);
    // Continue from the watermark, passing what was seen inside the overlap.
    request.watermark = first.watermark;
    request.seen = seen(&first.records);
    request.max_records = 100;
    let rest = h
        .client
        .poll_changes(h.req(request))
        .await
        .unwrap()
        .into_inner();
    assert!(!rest.has_more);
    let mut all: Vec<_> = first
        .records
        .iter()
        .chain(&rest.records)
        .map(|r| r.id.clone())
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (n, all.len()),
        (30, 30),
        "every record once across both polls"
    );
}

#[tokio::test]
async fn overlap_window_deduplicates_by_id_and_systemmodstamp() {
    let mut h = harness().await;
    let ids = seed_projects(&h, 3);
    let first = h
        .client
        .poll_changes(h.req(poll_request(&["Summary__c"])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.records.len(), 3);

    // The same window again: everything is inside the overlap and already seen.
    let mut again = poll_request(&["Summary__c"]);
    again.watermark = first.watermark;
    again.seen = seen(&first.records);
    let answer = h
        .client
        .poll_changes(h.req(again.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.records.is_empty(), "{:?}", answer.records);
    assert_eq!(answer.watermark, first.watermark, "watermark kept");
    let q = h
        .sim
        .calls()
        .iter()
        .rev()
        .find(|c| c.path.ends_with("/queryAll"))
        .unwrap()
        .query
        .clone()
        .unwrap();
    assert!(q.contains("SystemModstamp"), "{q}");

    // A person edits one record: only it comes back, with its new stamp.
    let admin = h.sim.admin_user_id(ORG);
    let before = stamp(&h, &ids[1]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while stamp(&h, &ids[1]) == before {
        assert!(std::time::Instant::now() < deadline, "stamp never moved");
        h.sim
            .update_as(ORG, &ids[1], json!({"Summary__c": "edited"}), &admin)
            .unwrap();
    }
    let answer = h
        .client
        .poll_changes(h.req(again))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.records.len(), 1);
    assert_eq!(answer.records[0].id, ids[1]);
    assert_eq!(answer.records[0].fields["Summary__c"], "\"edited\"");
    let secs = |w: Option<prost_types::Timestamp>| w.map(|t| (t.seconds, t.nanos));
    assert!(secs(answer.watermark) > secs(first.watermark));
}

#[tokio::test]
async fn unknown_fields_are_invalid_arguments_naming_the_index() {
    let mut h = harness().await;
    let e = h
        .client
        .poll_changes(h.req(poll_request(&["Summary__c", "Nope__c"])))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("fields[1]"), "{}", e.message());
    assert_eq!(h.calls("GET", "/query"), 0);
}

#[tokio::test]
async fn get_records_returns_found_ones_and_lists_missing_ids() {
    let mut h = harness().await;
    let ids = seed_projects(&h, 3);
    h.sim.delete(ORG, &ids[2]).unwrap();
    let missing = "a0X000000000099AAA".to_owned();
    let answer = h
        .client
        .get_records(h.req(GetRecordsRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            ids: vec![
                ids[0].clone(),
                missing.clone(),
                ids[1].clone(),
                ids[2].clone(),
            ],
            fields: vec!["Summary__c".into(), "Budget__c".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    let got: Vec<&str> = answer.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()]);
    assert_eq!(answer.missing_ids, [missing, ids[2].clone()]);
    assert_eq!(answer.records[0].fields["Summary__c"], "\"project 0\"");
    let budget: f64 = serde_json::from_str(&answer.records[1].fields["Budget__c"]).unwrap();
    assert_eq!(budget, 101.0);
    let e = h
        .client
        .get_records(h.req(GetRecordsRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            ids: vec!["bad'id".into()],
            fields: vec![],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("ids[0]"));
}

#[tokio::test]
async fn a_deleted_record_comes_back_marked_deleted() {
    let mut h = harness().await;
    let ids = seed_projects(&h, 2);
    let first = h
        .client
        .poll_changes(h.req(poll_request(&["Summary__c"])))
        .await
        .unwrap()
        .into_inner();
    assert!(first.records.iter().all(|r| !r.deleted));
    h.sim.delete(ORG, &ids[0]).unwrap();
    let mut next = poll_request(&["Summary__c"]);
    next.watermark = first.watermark;
    next.seen = seen(&first.records);
    let answer = h
        .client
        .poll_changes(h.req(next))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.records.len(), 1, "{:?}", answer.records);
    assert_eq!(answer.records[0].id, ids[0]);
    assert!(answer.records[0].deleted);
    assert!(!answer.records[0].fields.contains_key("IsDeleted"));
}

#[tokio::test]
async fn lookups_come_with_the_related_records_name_in_the_same_query() {
    let mut h = harness().await;
    let acme = h
        .sim
        .insert(ORG, "Account", json!({"Name": "Acme’s Café"}))
        .unwrap();
    let with = h
        .sim
        .insert(
            ORG,
            "Project__c",
            json!({"Summary__c": "linked", "Account__c": acme}),
        )
        .unwrap();
    let without = h
        .sim
        .insert(ORG, "Project__c", json!({"Summary__c": "alone"}))
        .unwrap();
    let answer = h
        .client
        .poll_changes(h.req(poll_request(&["Summary__c", "Account__c", "OwnerId"])))
        .await
        .unwrap()
        .into_inner();
    let by_id = |id: &str| answer.records.iter().find(|r| r.id == id).unwrap();
    let linked = by_id(&with);
    assert_eq!(linked.fields["Account__c"], format!("\"{acme}\""));
    assert_eq!(
        linked.texts.get("Account__c").map(String::as_str),
        Some("Acme’s Café")
    );
    let owner = h.sim.record(ORG, &h.sim.admin_user_id(ORG)).unwrap();
    assert_eq!(
        linked.texts.get("OwnerId").map(String::as_str),
        owner["Name"].as_str(),
        "the owner's name too"
    );
    let alone = by_id(&without);
    assert_eq!(alone.fields["Account__c"], "null");
    assert!(!alone.texts.contains_key("Account__c"));
    assert!(!alone.fields.contains_key("Account__r.Name"));

    h.sim.clear_calls();
    let got = h
        .client
        .get_records(h.req(GetRecordsRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            ids: vec![with.clone(), without.clone()],
            fields: vec!["Account__c".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    let linked = got.records.iter().find(|r| r.id == with).unwrap();
    assert_eq!(
        linked.texts.get("Account__c").map(String::as_str),
        Some("Acme’s Café")
    );
    let alone = got.records.iter().find(|r| r.id == without).unwrap();
    assert!(alone.texts.is_empty(), "{:?}", alone.texts);
    assert_eq!(h.calls("GET", "/query"), 1, "one query for the names");
}

#[tokio::test]
async fn a_lookup_whose_name_cannot_be_queried_still_polls_with_its_id() {
    let mut h = harness().await;
    // The simulator knows no DandBCompany object: `DandbCompany.Name` is an INVALID_FIELD.
    let account = h
        .sim
        .insert(ORG, "Account", json!({"Name": "Plain Co"}))
        .unwrap();
    let ask = |object: &str| SalesforcePollRequest {
        connection_id: CONN.into(),
        object: object.into(),
        fields: vec!["Name".into(), "DandbCompanyId".into()],
        ..Default::default()
    };
    h.sim.clear_calls();
    let answer = h
        .client
        .poll_changes(h.req(ask("Account")))
        .await
        .unwrap()
        .into_inner();
    let queries: Vec<u16> = h
        .sim
        .calls()
        .iter()
        .filter(|c| c.path.contains("/query"))
        .map(|c| c.status)
        .collect();
    assert_eq!(
        queries,
        [400, 200],
        "refused with the name, answered without"
    );
    let r = answer.records.iter().find(|r| r.id == account).unwrap();
    assert_eq!(r.fields["Name"], "\"Plain Co\"");
    assert_eq!(r.fields["DandbCompanyId"], "null");
    assert!(r.texts.is_empty());
    let got = h
        .client
        .get_records(h.req(GetRecordsRequest {
            connection_id: CONN.into(),
            object: "Account".into(),
            ids: vec![account.clone()],
            fields: vec!["DandbCompanyId".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.records.len(), 1);
}

#[tokio::test]
async fn find_records_returns_live_records_whose_field_holds_a_value() {
    let mut h = harness().await;
    let ids = seed_projects(&h, 3);
    h.sim.delete(ORG, &ids[2]).unwrap();
    let answer = h
        .client
        .find_records(h.req(FindRecordsRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            field: "Summary__c".into(),
            // An apostrophe is quoted in the SOQL, not an injection.
            values: vec![
                "project 0".into(),
                "project 2".into(),
                "nobody's project".into(),
            ],
            fields: vec!["Summary__c".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    let got: Vec<&str> = answer.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, [ids[0].as_str()], "the deleted one is not found");
    assert_eq!(answer.records[0].fields["Summary__c"], "\"project 0\"");
    assert!(answer.missing_ids.is_empty());
    assert!(answer.api_calls >= 2, "a query, then the retrieve");

    let e = h
        .client
        .find_records(h.req(FindRecordsRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            field: "Nope__c".into(),
            values: vec!["x".into()],
            fields: vec![],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("field"), "{}", e.message());
}
