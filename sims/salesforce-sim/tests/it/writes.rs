//! Record writes: CRUD, upsert, collections with per-record errors, validation, audit fields.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support;

fn is_sf_datetime(v: &Value) -> bool {
    // 2024-01-02T03:04:05.000+0000
    v.as_str().is_some_and(|s| {
        s.len() == 28
            && s.ends_with("+0000")
            && s.as_bytes()[10] == b'T'
            && s.as_bytes()[19] == b'.'
    })
}

#[tokio::test]
async fn create_get_update_delete_answer_like_salesforce() {
    let sim = support::start_default().await;
    let (status, limit, body) = sim
        .json(
            Method::POST,
            &sim.api("sobjects/Account/"),
            Some(json!({"Name": "Acme", "Industry": "Energy"})),
        )
        .await;
    assert_eq!(status, 201);
    assert!(limit.is_some());
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(body, json!({"id": id, "success": true, "errors": []}));
    assert!(id.starts_with("001") && id.len() == 18);

    let (status, _, rec) = sim
        .json(
            Method::GET,
            &sim.api(&format!("sobjects/Account/{id}")),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(rec["attributes"]["type"], json!("Account"));
    assert_eq!(rec["OwnerId"], json!(sim.handle.admin_user_id("demo")));
    for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        assert!(is_sf_datetime(&rec[f]), "{f}: {}", rec[f]);
    }
    let (_, _, some) = sim
        .json(
            Method::GET,
            &sim.api(&format!(
                "sobjects/Account/{}?fields=Name,Industry",
                &id[..15]
            )),
            None,
        )
        .await;
    assert_eq!(some["Name"], json!("Acme"));
    assert!(some.get("Phone").is_none());

    let r = sim
        .call(
            Method::PATCH,
            &sim.api(&format!("sobjects/Account/{id}")),
            Some(json!({"Phone": "555"})),
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.text().await.unwrap_or_default(), "");
    let r = sim
        .call(
            Method::DELETE,
            &sim.api(&format!("sobjects/Account/{id}")),
            None,
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"Phone": "1"}))),
        (Method::DELETE, None),
    ] {
        let (status, _, err) = sim
            .json(
                method.clone(),
                &sim.api(&format!("sobjects/Account/{id}")),
                body,
            )
            .await;
        assert_eq!(status, 404, "{method}");
        assert_eq!(err[0]["errorCode"], json!("ENTITY_IS_DELETED"), "{method}");
    }
    let (status, _, err) = sim
        .json(
            Method::GET,
            &sim.api("sobjects/Account/001dS000000zzzzQAA"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(err[0]["errorCode"], json!("NOT_FOUND"));
}

#[tokio::test]
async fn restricted_picklist_error_is_verbatim() {
    let sim = support::start_default().await;
    let (status, _, body) = sim
        .json(
            Method::POST,
            &sim.api("sobjects/Opportunity"),
            Some(json!({"Name": "Deal", "CloseDate": "2026-01-31", "StageName": "Won Big"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!([{"message": "Stage: bad value for restricted picklist field: Won Big", "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["StageName"]}])
    );
}

#[tokio::test]
async fn validation_errors_carry_real_codes() {
    let sim = support::start_default().await;
    let cases = [
        (
            "Account",
            json!({"Industry": "Energy"}),
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name]",
        ),
        (
            "Account",
            json!({"Name": "x".repeat(256)}),
            "STRING_TOO_LONG",
            "Account Name: data value too large",
        ),
        (
            "Account",
            json!({"Name": "A", "Bogus__c": 1}),
            "INVALID_FIELD",
            "No such column 'Bogus__c' on sobject of type Account",
        ),
        (
            "Account",
            json!({"Name": "A", "SystemModstamp": "2024-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: SystemModstamp.",
        ),
        (
            "Project__c",
            json!({"Summary__c": "s", "Budget_Remaining__c": 5}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: Budget_Remaining__c.",
        ),
        (
            "Project__c",
            json!({"Summary__c": "s", "Budget__c": "lots"}),
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            "Budget: value not of required type: lots",
        ),
        (
            "Project__c",
            json!({"Summary__c": "s", "Tags__c": "Design;Nope"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Tags: bad value for restricted picklist field: Nope",
        ),
        (
            "Project__c",
            json!({"Summary__c": "s", "Status__c": "Cancelled"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Status: bad value for restricted picklist field: Cancelled",
        ),
        (
            "Project__c",
            json!({"Summary__c": "s", "Contact_Email__c": "nope"}),
            "INVALID_EMAIL_ADDRESS",
            "Contact Email: invalid email address: nope",
        ),
        (
            "Project__c",
            json!({"Summary__c": "s", "Account__c": "003dS0000000001AAA"}),
            "FIELD_INTEGRITY_EXCEPTION",
            "Account: id value of incorrect type",
        ),
        (
            "Project__c",
            json!({"Summary__c": "s", "Account__c": "bad"}),
            "MALFORMED_ID",
            "Account: id value of incorrect type: bad",
        ),
    ];
    for (object, body, code, msg) in cases {
        let (status, _, err) = sim
            .json(
                Method::POST,
                &sim.api(&format!("sobjects/{object}")),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err[0]["errorCode"], json!(code), "{body}: {err}");
        assert!(
            err[0]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(msg)),
            "{body}: {err}"
        );
    }
}

#[tokio::test]
async fn upsert_by_external_id_creates_then_updates_and_rejects_duplicates() {
    let sim = support::start_default().await;
    let url = sim.api("sobjects/Project__c/Tandem_Key__c/k%2F1");
    let (status, _, created) = sim
        .json(Method::PATCH, &url, Some(json!({"Summary__c": "first"})))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["created"], json!(true));
    let (status, _, updated) = sim
        .json(Method::PATCH, &url, Some(json!({"Summary__c": "second"})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (updated["created"].clone(), updated["id"].clone()),
        (json!(false), created["id"].clone())
    );
    let (_, _, rec) = sim.json(Method::GET, &url, None).await;
    assert_eq!(
        (rec["Summary__c"].clone(), rec["Tandem_Key__c"].clone()),
        (json!("second"), json!("k/1"))
    );
    let (status, _, dup) = sim
        .json(
            Method::POST,
            &sim.api("sobjects/Project__c"),
            Some(json!({"Summary__c": "dup", "Tandem_Key__c": "K/1"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(dup[0]["errorCode"], json!("DUPLICATE_VALUE"));
    let (status, _, _) = sim
        .json(
            Method::PATCH,
            &format!(
                "{}?updateOnly=true",
                sim.api("sobjects/Project__c/Tandem_Key__c/none")
            ),
            Some(json!({"Summary__c": "x"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn collection_of_200_reports_mixed_errors_per_record_in_order() {
    let sim = support::start_default().await;
    let records: Vec<Value> = (0..200)
        .map(|i| match i % 5 {
            1 => json!({"attributes": {"type": "Project__c"}, "Summary__c": "s", "Status__c": "Nope"}),
            3 => json!({"attributes": {"type": "Project__c"}, "Tandem_Key__c": format!("c{i}")}),
            _ => json!({"attributes": {"type": "Project__c"}, "Summary__c": format!("ok {i}"), "Tandem_Key__c": format!("c{i}")}),
        })
        .collect();
    let (status, limit, body) = sim
        .json(
            Method::POST,
            &sim.api("composite/sobjects"),
            Some(json!({"allOrNone": false, "records": records})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(limit.is_some());
    let results = body.as_array().expect("array");
    assert_eq!(results.len(), 200);
    for (i, r) in results.iter().enumerate() {
        match i % 5 {
            1 => {
                assert_eq!(r["success"], json!(false), "{i}");
                assert_eq!(
                    r["errors"][0]["statusCode"],
                    json!("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
                );
                assert_eq!(
                    r["errors"][0]["message"],
                    json!("Status: bad value for restricted picklist field: Nope")
                );
                assert_eq!(r["errors"][0]["fields"], json!(["Status__c"]));
                assert!(r.get("id").is_none());
            }
            3 => assert_eq!(
                r["errors"][0]["statusCode"],
                json!("REQUIRED_FIELD_MISSING"),
                "{i}"
            ),
            _ => {
                assert_eq!(r["success"], json!(true), "{i}: {r}");
                assert_eq!(r["errors"], json!([]));
            }
        }
    }
    assert_eq!(sim.handle.count("demo", "Project__c"), 120);
    assert_eq!(sim.handle.count_calls("POST", "/composite/sobjects"), 1);

    let too_many: Vec<Value> = (0..201)
        .map(|_| json!({"attributes": {"type": "Account"}, "Name": "x"}))
        .collect();
    let (status, _, body) = sim
        .json(
            Method::POST,
            &sim.api("composite/sobjects"),
            Some(json!({"records": too_many})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], json!("EXCEEDED_ID_LIMIT"));
}

#[tokio::test]
async fn all_or_none_rolls_back_every_record() {
    let sim = support::start_default().await;
    let a = sim
        .handle
        .insert("demo", "Account", json!({"Name": "Before"}))
        .expect("a");
    let body = json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Account"}, "id": a, "Name": "After"},
        {"attributes": {"type": "Account"}, "id": a, "Name": null},
    ]});
    let (status, _, res) = sim
        .json(Method::PATCH, &sim.api("composite/sobjects"), Some(body))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        res[0]["errors"][0]["statusCode"],
        json!("ALL_OR_NONE_OPERATION_ROLLED_BACK")
    );
    assert_eq!(
        res[1]["errors"][0]["statusCode"],
        json!("REQUIRED_FIELD_MISSING")
    );
    assert_eq!(
        sim.handle.record("demo", &a).expect("record")["Name"],
        json!("Before")
    );
}

#[tokio::test]
async fn collection_update_upsert_and_delete_work_per_record() {
    let sim = support::start_default().await;
    let ids: Vec<String> = (0..3)
        .map(|i| {
            sim.handle
                .insert("demo", "Account", json!({"Name": format!("A{i}")}))
                .expect("seed")
        })
        .collect();
    let body = json!({"records": [
        {"attributes": {"type": "Account"}, "id": ids[0], "Name": "Renamed"},
        {"attributes": {"type": "Account"}, "id": "001dS000000zzzzQAA", "Name": "Ghost"},
    ]});
    let (_, _, res) = sim
        .json(Method::PATCH, &sim.api("composite/sobjects"), Some(body))
        .await;
    assert_eq!(res[0], json!({"id": ids[0], "success": true, "errors": []}));
    assert_eq!(
        res[1]["errors"][0]["statusCode"],
        json!("INVALID_CROSS_REFERENCE_KEY")
    );

    let body = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Project__c"}, "Tandem_Key__c": "u1", "Summary__c": "new"},
        {"Tandem_Key__c": "u2", "Summary__c": "no attributes"},
    ]});
    let (_, _, res) = sim
        .json(
            Method::PATCH,
            &sim.api("composite/sobjects/Project__c/Tandem_Key__c"),
            Some(body),
        )
        .await;
    assert_eq!(
        (res[0]["success"].clone(), res[0]["created"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        res[1]["errors"][0]["statusCode"],
        json!("JSON_PARSER_ERROR")
    );

    let url = format!(
        "{}?ids={},{}&allOrNone=false",
        sim.api("composite/sobjects"),
        ids[1],
        ids[2]
    );
    let (status, _, res) = sim.json(Method::DELETE, &url, None).await;
    assert_eq!(status, 200);
    assert!(
        res.as_array()
            .is_some_and(|r| r.iter().all(|x| x["success"] == json!(true)))
    );
    assert_eq!(sim.handle.count("demo", "Account"), 1);
}

#[tokio::test]
async fn audit_fields_follow_each_write_and_user_edits() {
    let sim = support::start_demo().await;
    let (_, body) = sim
        .query("SELECT Id FROM User WHERE FirstName = 'Ben'")
        .await;
    let ben = body["records"][0]["Id"].as_str().expect("ben").to_string();
    let id = sim
        .handle
        .insert(
            "demo",
            "Project__c",
            json!({"Summary__c": "s", "Budget__c": 100, "Spent__c": 40}),
        )
        .expect("p");
    let before = sim.handle.record("demo", &id).expect("rec");
    assert_eq!(before["Budget_Remaining__c"], json!(60.0));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    // SystemModstamp has millisecond resolution; wait until the clock has moved on.
    let stamp = before["SystemModstamp"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    while crate::support::now_stamp() <= stamp {
        assert!(std::time::Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    sim.handle
        .update_as("demo", &id, json!({"Spent__c": 90}), &ben)
        .expect("edit");
    let after = sim.handle.record("demo", &id).expect("rec");
    assert_eq!(after["LastModifiedById"], json!(ben));
    assert_eq!(after["CreatedById"], before["CreatedById"]);
    assert!(after["SystemModstamp"].as_str() > before["SystemModstamp"].as_str());
    assert!(is_sf_datetime(&after["LastModifiedDate"]));
    assert_eq!(after["Budget_Remaining__c"], json!(10.0));
}

#[tokio::test]
async fn updated_and_deleted_list_changes_in_a_window() {
    let sim = support::start_default().await;
    let a = sim
        .handle
        .insert("demo", "Account", json!({"Name": "A"}))
        .expect("a");
    let b = sim
        .handle
        .insert("demo", "Account", json!({"Name": "B"}))
        .expect("b");
    sim.handle.delete("demo", &b).expect("delete");
    let url = |kind: &str| {
        format!(
            "{}?start=2020-01-01T00:00:00%2B00:00&end=2099-01-01T00:00:00Z",
            sim.api(&format!("sobjects/Account/{kind}/"))
        )
    };
    let (status, _, updated) = sim.json(Method::GET, &url("updated"), None).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["ids"], json!([a]));
    assert_eq!(
        updated["latestDateCovered"],
        json!("2099-01-01T00:00:00.000+0000")
    );
    let (_, _, deleted) = sim.json(Method::GET, &url("deleted"), None).await;
    assert_eq!(deleted["deletedRecords"][0]["id"], json!(b));
    assert!(is_sf_datetime(&deleted["deletedRecords"][0]["deletedDate"]));
    assert!(deleted["earliestDateAvailable"].is_string());
}

#[tokio::test]
async fn upsert_on_a_lookup_field_matching_several_records_answers_300() {
    let sim = support::start_default().await;
    for first in ["A", "B"] {
        sim.handle
            .insert(
                "demo",
                "Contact",
                json!({"FirstName": first, "LastName": "Twin", "Email": "twin@example.com"}),
            )
            .expect("seed");
    }
    let (status, _, body) = sim
        .json(
            Method::PATCH,
            &sim.api("sobjects/Contact/Email/twin%40example.com"),
            Some(json!({"Title": "x"})),
        )
        .await;
    assert_eq!(status, 300, "{body}");
    assert_eq!(body[0]["errorCode"], json!("DUPLICATE_EXTERNAL_ID"));
    let (status, _, urls) = sim
        .json(
            Method::GET,
            &sim.api("sobjects/Contact/Email/twin%40example.com"),
            None,
        )
        .await;
    assert_eq!(status, 300);
    assert_eq!(urls.as_array().map(Vec::len), Some(2));
}
