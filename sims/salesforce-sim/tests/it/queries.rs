//! SOQL over the demo org: filters, relationships, ordering, errors.

use reqwest::Method;
use serde_json::json;

use crate::support;

#[tokio::test]
async fn soql_filters_select_the_right_records() {
    let sim = support::start_demo().await;
    let cases = [
        ("SELECT Id FROM Project__c", 36),
        ("SELECT Id FROM Project__c WHERE Status__c = 'done'", 9),
        (
            "SELECT Id FROM Project__c WHERE Status__c IN ('Done', 'Blocked')",
            18,
        ),
        (
            "SELECT Id FROM Project__c WHERE Status__c NOT IN ('Done', 'Blocked')",
            18,
        ),
        ("SELECT Id FROM Project__c WHERE Is_Billable__c = false", 12),
        ("SELECT Id FROM Project__c WHERE Budget__c >= 100000", 1),
        ("SELECT Id FROM Project__c WHERE Name LIKE 'Project 00%'", 9),
        (
            "SELECT Id FROM Project__c WHERE Tags__c INCLUDES ('Design')",
            14,
        ),
        (
            "SELECT Id FROM Project__c WHERE Start_Date__c < 2026-02-01",
            3,
        ),
        (
            "SELECT Id FROM Project__c WHERE Kickoff_At__c > 2026-12-01T00:00:00Z",
            3,
        ),
        (
            "SELECT Id FROM Project__c WHERE (Status__c = 'Done' OR Status__c = 'Planned') AND NOT Is_Billable__c = true",
            6,
        ),
        (
            "SELECT Id FROM Project__c WHERE Reviewer__c != null AND Account__r.Name = 'GenePoint'",
            3,
        ),
        (
            "SELECT Id FROM Project__c WHERE Owner.Email LIKE 'ben@%'",
            7,
        ),
        ("SELECT Id FROM Project__c WHERE CreatedDate = TODAY", 36),
        (
            "SELECT Id FROM Project__c WHERE CreatedDate = LAST_N_DAYS:3",
            36,
        ),
        ("SELECT Id FROM Project__c WHERE CreatedDate < YESTERDAY", 0),
        (
            "SELECT Id FROM User WHERE IsActive = true AND UserType = 'Standard'",
            5,
        ),
        (
            "SELECT Id FROM Contact WHERE Email IN ('rose.contact1@example.com', 'SEAN.CONTACT3@EXAMPLE.COM')",
            2,
        ),
        ("SELECT Id FROM Project__c LIMIT 5 OFFSET 34", 2),
    ];
    for (soql, want) in cases {
        let (status, body) = sim.query(soql).await;
        assert_eq!(status, 200, "{soql}: {body}");
        assert_eq!(body["totalSize"], json!(want), "{soql}");
    }
}

#[tokio::test]
async fn relationship_fields_come_back_nested_with_attributes() {
    let sim = support::start_demo().await;
    let (_, body) = sim
        .query("SELECT Name, Owner.Email, Account__r.Name, Account__r.Owner.Email FROM Project__c ORDER BY Name DESC LIMIT 1")
        .await;
    let r = &body["records"][0];
    assert_eq!(r["Name"], json!("Project 036"));
    assert_eq!(r["Owner"]["attributes"]["type"], json!("User"));
    assert!(
        r["Owner"]["Email"]
            .as_str()
            .is_some_and(|e| e.contains('@'))
    );
    assert_eq!(r["Account__r"]["attributes"]["type"], json!("Account"));
    assert!(r["Account__r"]["Owner"]["Email"].is_string());
    let (_, body) = sim
        .query("SELECT Id, Account.Name FROM Contact WHERE AccountId = null")
        .await;
    assert_eq!(body["totalSize"], json!(0));
}

#[tokio::test]
async fn order_by_sorts_with_nulls_and_directions() {
    let sim = support::start_default().await;
    for (name, rev) in [("b", json!(2)), ("a", json!(null)), ("c", json!(1))] {
        sim.handle
            .insert(
                "demo",
                "Account",
                json!({"Name": name, "AnnualRevenue": rev}),
            )
            .expect("seed");
    }
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["records"]
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|r| r["Name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (_, b) = sim
        .query("SELECT Name FROM Account ORDER BY AnnualRevenue")
        .await;
    assert_eq!(names(&b), ["a", "c", "b"]);
    let (_, b) = sim
        .query("SELECT Name FROM Account ORDER BY AnnualRevenue DESC")
        .await;
    assert_eq!(names(&b), ["b", "c", "a"]);
    let (_, b) = sim
        .query("SELECT Name FROM Account ORDER BY AnnualRevenue ASC NULLS LAST")
        .await;
    assert_eq!(names(&b), ["c", "b", "a"]);
    let (_, b) = sim
        .query("SELECT COUNT() FROM Account WHERE AnnualRevenue > 1")
        .await;
    assert_eq!(
        (b["totalSize"].clone(), b["records"].clone()),
        (json!(1), json!([]))
    );
}

#[tokio::test]
async fn bad_queries_answer_400_with_salesforce_codes() {
    let sim = support::start_default().await;
    let cases = [
        (
            "SELECT Id, Foo FROM Account",
            "INVALID_FIELD",
            "No such column 'Foo' on entity 'Account'",
        ),
        (
            "SELECT Id FROM Nope__c",
            "INVALID_TYPE",
            "sObject type 'Nope__c' is not supported",
        ),
        (
            "SELECT Id FROM Account WHERE",
            "MALFORMED_QUERY",
            "unexpected token: <EOF>",
        ),
        (
            "SELECT Id FROM Account GROUP BY Name",
            "MALFORMED_QUERY",
            "unexpected token: 'GROUP'",
        ),
        (
            "SELECT Id, Boss.Name FROM Account",
            "INVALID_FIELD",
            "Didn't understand relationship 'Boss'",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type string",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate > 2024-01-01",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type dateTime",
        ),
    ];
    for (soql, code, msg) in cases {
        let (status, body) = sim.query(soql).await;
        assert_eq!(status, 400, "{soql}");
        assert_eq!(body[0]["errorCode"], json!(code), "{soql}: {body}");
        let message = body[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(msg), "{soql}: {message}");
        assert!(
            message.contains("ERROR at Row:1:Column:"),
            "{soql}: {message}"
        );
    }
}

#[tokio::test]
async fn forced_stamps_drive_a_system_modstamp_poll() {
    let sim = support::start_default().await;
    let old = sim
        .handle
        .insert("demo", "Account", json!({"Name": "old"}))
        .expect("old");
    let new = sim
        .handle
        .insert("demo", "Account", json!({"Name": "new"}))
        .expect("new");
    sim.handle
        .force_fields("demo", &old, json!({"SystemModstamp": "2024-01-01T00:00:00Z", "LastModifiedDate": "2024-01-01T00:00:00Z"}))
        .expect("force");
    assert_eq!(
        sim.handle.record("demo", &old).expect("rec")["SystemModstamp"],
        json!("2024-01-01T00:00:00.000+0000")
    );
    let (status, body) = sim
        .query("SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > 2025-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalSize"], json!(1));
    assert_eq!(body["records"][0]["Id"], json!(new));
}

#[tokio::test]
async fn curly_apostrophes_are_stored_returned_and_matched_unchanged() {
    let sim = support::start_default().await;
    let name = "O’Brien’s Café";
    let (status, _, body) = sim
        .json(
            Method::POST,
            &sim.api("sobjects/Account/"),
            Some(json!({"Name": name})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (_, _, rec) = sim
        .json(
            Method::GET,
            &sim.api(&format!("sobjects/Account/{id}")),
            None,
        )
        .await;
    assert_eq!(rec["Name"], json!(name));
    let (status, body) = sim
        .query("SELECT Id, Name FROM Account WHERE Name = 'O’Brien’s Café'")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalSize"], json!(1), "{body}");
    assert_eq!(body["records"][0]["Name"], json!(name));
}

#[tokio::test]
async fn an_empty_lookup_answers_null_and_a_polymorphic_one_its_record_type() {
    let sim = support::start_demo().await;
    let (status, _, body) = sim
        .json(
            Method::POST,
            &sim.api("sobjects/Project__c/"),
            Some(json!({"Summary__c": "no account"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, body) = sim
        .query(&format!(
            "SELECT Id, Account__r.Name, Owner.Name FROM Project__c WHERE Id = '{id}'"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["records"][0];
    assert!(
        r.as_object().unwrap().contains_key("Account__r") && r["Account__r"].is_null(),
        "{r}"
    );
    // OwnerId may point to a Group or a User: the nested record names its real type.
    assert_eq!(r["Owner"]["attributes"]["type"], json!("User"), "{r}");
    assert!(r["Owner"]["Name"].is_string(), "{r}");
}
