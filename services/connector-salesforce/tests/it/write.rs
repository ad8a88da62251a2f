//! WriteRecords against the simulator: chunks, per-record results, idempotent creates.

use tandem_proto::v1::*;
use tonic::Code;

use crate::harness::{CONN, Harness, ORG, harness};

pub fn create(key: &str, fields: &[(&str, &str)]) -> RecordWrite {
    RecordWrite {
        id: String::new(),
        idempotency_key: key.into(),
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn update(id: &str, fields: &[(&str, &str)]) -> RecordWrite {
    RecordWrite {
        id: id.into(),
        ..create("", fields)
    }
}

pub fn write_request(object: &str, writes: Vec<RecordWrite>) -> WriteRecordsRequest {
    WriteRecordsRequest {
        connection_id: CONN.into(),
        object: object.into(),
        writes,
        integration_id: String::new(),
    }
}

pub async fn write(
    h: &mut Harness,
    object: &str,
    writes: Vec<RecordWrite>,
) -> WriteRecordsResponse {
    let request = h.req(write_request(object, writes));
    h.client
        .write_records(request)
        .await
        .expect("write")
        .into_inner()
}

fn collection_calls(h: &Harness) -> usize {
    h.sim
        .calls()
        .iter()
        .filter(|c| c.path.contains("/composite/sobjects"))
        .count()
}

#[tokio::test]
async fn a_batch_of_450_makes_exactly_three_collection_calls() {
    let mut h = harness().await;
    let writes = (0..450)
        .map(|i| {
            create(
                &format!("k-{i}"),
                &[("Summary__c", &format!("\"p{i}\"")), ("Budget__c", "12.50")],
            )
        })
        .collect();
    let answer = write(&mut h, "Project__c", writes).await;
    assert_eq!(collection_calls(&h), 3);
    assert_eq!(answer.results.len(), 450);
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.success && r.created && r.id.len() == 18)
    );
    assert_eq!(h.sim.count(ORG, "Project__c"), 450);
    // Results follow request order: the 300th result is the record keyed k-299.
    let rec = h.sim.record(ORG, &answer.results[299].id).unwrap();
    assert_eq!(rec["Tandem_Key__c"], "k-299");
    assert_eq!(rec["Summary__c"], "p299");
    assert_eq!(answer.api_calls, 4, "describe + 3 collections");
}

#[tokio::test]
async fn mixed_batch_reports_each_records_salesforce_error_verbatim() {
    let mut h = harness().await;
    let existing = h
        .sim
        .insert(ORG, "Project__c", serde_json::json!({"Summary__c": "old"}))
        .unwrap();
    let answer = write(
        &mut h,
        "Project__c",
        vec![
            create("ok-1", &[("Summary__c", "\"fine\"")]),
            create(
                "bad-picklist",
                &[("Summary__c", "\"x\""), ("Status__c", "\"Exploding\"")],
            ),
            create("missing", &[("Notes__c", "\"no summary\"")]),
            update(&existing, &[("Summary__c", "\"updated\"")]),
            update(&existing, &[("Tags__c", "\"Nope\"")]),
        ],
    )
    .await;
    let r = &answer.results;
    assert_eq!(r.len(), 5);
    assert!(r[0].success && r[0].created);
    assert!(!r[1].success);
    assert_eq!(
        r[1].errors[0].code,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        r[1].errors[0].message,
        "Status: bad value for restricted picklist field: Exploding"
    );
    assert!(!r[2].success);
    assert_eq!(r[2].errors[0].code, "REQUIRED_FIELD_MISSING");
    assert_eq!(
        r[2].errors[0].message,
        "Required fields are missing: [Summary__c]"
    );
    assert_eq!(r[2].errors[0].fields, ["Summary__c"]);
    assert!(r[3].success && !r[3].created);
    assert_eq!(r[3].id, existing);
    assert!(!r[4].success);
    assert_eq!(
        r[4].errors[0].code,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        h.sim.record(ORG, &existing).unwrap()["Summary__c"],
        "updated"
    );
    assert_eq!(h.sim.count(ORG, "Project__c"), 2);
}

#[tokio::test]
async fn a_retried_create_never_makes_a_second_record() {
    let mut h = harness().await;
    let writes = || {
        vec![
            create("intent-1", &[("Summary__c", "\"one\"")]),
            create("intent-2", &[("Summary__c", "\"two\"")]),
        ]
    };
    let first = write(&mut h, "Project__c", writes()).await;
    assert!(first.results.iter().all(|r| r.success && r.created));
    // The orchestrator crashed before linking and sends the same creates again.
    let replay = write(&mut h, "Project__c", writes()).await;
    assert!(replay.results.iter().all(|r| r.success && !r.created));
    let ids = |a: &WriteRecordsResponse| a.results.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&replay));
    // A connection dropped mid-call is retried inside the connector: still no duplicate.
    h.sim.drop_next(1);
    let dropped = write(&mut h, "Project__c", writes()).await;
    assert!(dropped.results.iter().all(|r| r.success));
    assert_eq!(ids(&dropped), ids(&first));
    assert_eq!(h.sim.count(ORG, "Project__c"), 2);
}

#[tokio::test]
async fn objects_without_an_external_id_create_plainly() {
    let mut h = harness().await;
    let answer = write(
        &mut h,
        "Account",
        vec![create("k", &[("Name", "\"Acme\"")])],
    )
    .await;
    assert!(answer.results[0].success && answer.results[0].created);
    assert_eq!(h.calls("POST", "/composite/sobjects"), 1);
    assert_eq!(
        h.sim.record(ORG, &answer.results[0].id).unwrap()["Name"],
        "Acme"
    );
}

#[tokio::test]
async fn row_locks_are_written_again_and_succeed() {
    let mut h = harness().await;
    h.sim.lock_next(1);
    let answer = write(
        &mut h,
        "Project__c",
        vec![create("lk", &[("Summary__c", "\"l\"")])],
    )
    .await;
    assert!(answer.results[0].success, "{:?}", answer.results[0]);
    assert_eq!(collection_calls(&h), 2);
    assert_eq!(h.sim.count(ORG, "Project__c"), 1);
}

#[tokio::test]
async fn bad_writes_are_refused_before_anything_is_sent() {
    let mut h = harness().await;
    h.sim.clear_calls();
    let e = h
        .client
        .write_records(h.req(write_request(
            "Project__c",
            vec![
                create("a", &[("Summary__c", "\"ok\"")]),
                create("b", &[("Summary__c", "unquoted")]),
            ],
        )))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().starts_with("writes[1].fields.Summary__c"),
        "{}",
        e.message()
    );
    assert_eq!(collection_calls(&h), 0);
    assert_eq!(h.sim.count(ORG, "Project__c"), 0);
}

#[tokio::test]
async fn a_plain_create_is_retried_after_503_but_not_after_500() {
    let mut h = harness().await;
    // Nothing to write costs nothing; warm the describe so the faults hit the create itself.
    assert!(write(&mut h, "Account", vec![]).await.results.is_empty());
    assert!(h.sim.calls().is_empty());
    let describe = h.req(DescribeObjectRequest {
        connection_id: CONN.into(),
        object: "Account".into(),
    });
    h.client.describe_object(describe).await.unwrap();
    h.sim.fail_next(1, 503);
    let ok = write(
        &mut h,
        "Account",
        vec![create("", &[("Name", "\"After 503\"")])],
    )
    .await;
    assert!(ok.results[0].success);
    h.sim.fail_next(1, 500);
    let e = h
        .client
        .write_records(h.req(write_request(
            "Account",
            vec![create("", &[("Name", "\"After 500\"")])],
        )))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // A 500 may have been a create that happened: not sent again, so never doubled.
    assert_eq!(
        h.calls("POST", "/composite/sobjects"),
        3,
        "503 + retry, then 500 alone"
    );
    assert_eq!(h.sim.count(ORG, "Account"), 1);
}

#[tokio::test]
async fn a_curly_apostrophe_is_stored_and_read_back_unchanged() {
    let mut h = harness().await;
    let name = "O’Brien’s Café – “quoted” ✓";
    let summary = serde_json::to_string(name).unwrap();
    let ascii_escaped = r#""O\u2019Brien\u2019s Caf\u00e9 \u2013 \u201cquoted\u201d \u2713""#;
    let answer = write(
        &mut h,
        "Project__c",
        vec![
            create("curly-1", &[("Summary__c", &summary)]),
            create("curly-2", &[("Summary__c", ascii_escaped)]),
        ],
    )
    .await;
    assert!(answer.results.iter().all(|r| r.success), "{answer:?}");
    let ids: Vec<String> = answer.results.iter().map(|r| r.id.clone()).collect();
    for id in &ids {
        assert_eq!(h.sim.record(ORG, id).unwrap()["Summary__c"], name);
    }
    let got = h
        .client
        .get_records(h.req(GetRecordsRequest {
            connection_id: CONN.into(),
            object: "Project__c".into(),
            ids: ids.clone(),
            fields: vec!["Summary__c".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    for r in &got.records {
        let read: String = serde_json::from_str(&r.fields["Summary__c"]).unwrap();
        assert_eq!(read, name);
    }
    let polled = h
        .client
        .poll_changes(h.req(crate::poll::poll_request(&["Summary__c"])))
        .await
        .unwrap()
        .into_inner();
    let read: Vec<String> = polled
        .records
        .iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| serde_json::from_str(&r.fields["Summary__c"]).unwrap())
        .collect();
    assert_eq!(read, [name, name]);
}
