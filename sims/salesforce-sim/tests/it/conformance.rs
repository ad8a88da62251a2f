//! The simulator against recorded real Salesforce responses (tests/fixtures): every
//! recorded interaction replayed, plus the real Account describe and describeGlobal.

use reqwest::Method;
use serde_json::{Value, json};

use crate::shape::diff;
use crate::support::{self, TestSim, V};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture json")
}

async fn fresh_account(sim: &TestSim, name: &str) -> String {
    sim.handle
        .insert(
            "demo",
            "Account",
            json!({"Name": name, "Industry": "Technology", "BillingCity": "Austin"}),
        )
        .expect("seed account")
}

/// Replaces recorded Account ids (`001dM…`) in a path or query with ids of fresh records.
async fn with_fresh_ids(sim: &TestSim, s: &str) -> String {
    let mut out = s.to_string();
    while let Some(i) = out.find("001dM") {
        let id = fresh_account(sim, "Conformance target").await;
        out.replace_range(i..i + 18, &id);
    }
    out
}

/// For a recorded next page whose first page was not recorded: runs the query the page's
/// records imply (their fields, from their type) and returns the simulator's next page URL.
async fn open_cursor_like(sim: &TestSim, page: &Value) -> String {
    let first = &page["records"][0];
    let object = first["attributes"]["type"].as_str().expect("record type");
    let fields: Vec<&str> = first
        .as_object()
        .expect("record")
        .keys()
        .filter(|k| *k != "attributes")
        .map(String::as_str)
        .collect();
    let soql = format!("SELECT {} FROM {object}", fields.join(", "));
    let (status, body) = sim.query(&soql).await;
    assert_eq!(status, 200, "{soql}: {body}");
    body["nextRecordsUrl"]
        .as_str()
        .expect("a second page")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_interactions_match_real_status_keys_and_types() {
    let sim = support::start_default().await;
    // The recorded paged query saw 2,086 accounts; have as many.
    let records: Vec<Value> = (0..2086)
        .map(|i| json!({"Name": format!("Paging account {i}")}))
        .collect();
    sim.handle
        .insert_many("demo", "Account", records)
        .expect("seed");
    let recorded = fixture("salesforce-recorded-responses.json");
    let mut failures = Vec::new();
    // Recorded query locator → the simulator's nextRecordsUrl for the same query.
    let mut locators: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for it in recorded["interactions"].as_array().expect("interactions") {
        let test = it["test"].as_str().unwrap_or_default();
        let method =
            Method::from_bytes(it["method"].as_str().unwrap_or("GET").as_bytes()).expect("method");
        let mut path = it["path"].as_str().unwrap_or_default().to_string();
        if path.contains("/query/") {
            path = match locators.get(&path) {
                Some(next) => next.clone(),
                None => open_cursor_like(&sim, &it["response_body"]).await,
            };
        } else {
            path = with_fresh_ids(&sim, &path).await;
        }
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(q) = it["query_params"].as_object() {
            for (k, v) in q {
                let v = with_fresh_ids(&sim, v.as_str().unwrap_or_default()).await;
                query.push((k.clone(), v));
            }
        }
        let mut rb = sim
            .client
            .request(method.clone(), format!("{}{path}", sim.base_url))
            .query(&query);
        if path != "/services/data" {
            rb = rb.bearer_auth(&sim.token);
        }
        if !it["request_body"].is_null() {
            rb = rb.json(&it["request_body"]);
        }
        let (status, limit, body) = support::read(rb.send().await.expect("send")).await;
        let label = format!("{test} {method} {path}");
        if status != it["status"].as_u64().unwrap_or(0) as u16 {
            failures.push(format!(
                "{label}: status {status}, real {} — body {body}",
                it["status"]
            ));
            continue;
        }
        if !it["sforce_limit_info"].is_null() {
            let ok = limit.as_deref().is_some_and(|l| {
                l.strip_prefix("api-usage=")
                    .and_then(|r| r.split_once('/'))
                    .is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok())
            });
            if !ok {
                failures.push(format!(
                    "{label}: Sforce-Limit-Info missing or malformed: {limit:?}"
                ));
            }
        }
        let real = &it["response_body"];
        if real == &json!("") {
            if !body.is_null() {
                failures.push(format!("{label}: expected an empty body, got {body}"));
            }
        } else {
            failures.extend(
                diff(real, &body)
                    .into_iter()
                    .map(|d| format!("{label}: {d}")),
            );
        }
        if let (Some(real_next), Some(next)) = (
            real["nextRecordsUrl"].as_str(),
            body["nextRecordsUrl"].as_str(),
        ) {
            locators.insert(real_next.to_string(), next.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn account_describe_matches_the_real_describe() {
    let sim = support::start_default().await;
    let real = fixture("salesforce-account-describe-v58.json");
    let (status, limit, body) = sim
        .json(Method::GET, &sim.api("sobjects/Account/describe"), None)
        .await;
    assert_eq!(status, 200);
    assert!(limit.is_some());
    let d = diff(&real, &body);
    assert!(d.is_empty(), "{}", d.join("\n"));
    // Field metadata a sync engine relies on is the real one, field by field.
    let sim_fields = body["fields"].as_array().expect("fields");
    for rf in real["fields"].as_array().expect("real fields") {
        let name = rf["name"].as_str().unwrap_or_default();
        let sf = sim_fields
            .iter()
            .find(|f| f["name"] == rf["name"])
            .unwrap_or_else(|| panic!("no field {name}"));
        for key in [
            "type",
            "soapType",
            "label",
            "length",
            "nillable",
            "createable",
            "updateable",
            "calculated",
            "defaultedOnCreate",
            "referenceTo",
            "relationshipName",
            "restrictedPicklist",
            "externalId",
            "unique",
            "custom",
            "precision",
            "scale",
            "digits",
            "idLookup",
            "nameField",
            "compoundFieldName",
            "picklistValues",
            "byteLength",
            "dependentPicklist",
            "controllerName",
        ] {
            assert_eq!(sf[key], rf[key], "Account.{name}.{key}");
        }
    }
}

#[tokio::test]
async fn every_object_describe_has_the_real_keys_and_types() {
    let sim = support::start_default().await;
    let real = fixture("salesforce-account-describe-v58.json");
    for object in [
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "User",
        "Profile",
        "Project__c",
    ] {
        let (status, _, body) = sim
            .json(
                Method::GET,
                &sim.api(&format!("sobjects/{object}/describe/")),
                None,
            )
            .await;
        assert_eq!(status, 200, "{object}");
        // `urls` differ per object in real orgs too (User has password utilities, …).
        let (mut real, mut body) = (real.clone(), body);
        assert!(
            body["urls"]["describe"].is_string() && body["urls"]["sobject"].is_string(),
            "{object}"
        );
        real["urls"] = json!({});
        body["urls"] = json!({});
        let d = diff(&real, &body);
        assert!(d.is_empty(), "{object}:\n{}", d.join("\n"));
        assert_eq!(body["name"], json!(object));
    }
}

#[tokio::test]
async fn project_describe_carries_every_field_kind_tandem_maps() {
    let sim = support::start_default().await;
    let (_, _, body) = sim
        .json(Method::GET, &sim.api("sobjects/Project__c/describe"), None)
        .await;
    let fields = body["fields"].as_array().expect("fields");
    let field = |n: &str| {
        fields
            .iter()
            .find(|f| f["name"] == json!(n))
            .unwrap_or_else(|| panic!("{n}"))
            .clone()
    };
    let kinds: Vec<&str> = fields.iter().filter_map(|f| f["type"].as_str()).collect();
    for k in [
        "id",
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "double",
        "currency",
        "percent",
        "boolean",
        "date",
        "datetime",
        "reference",
    ] {
        assert!(kinds.contains(&k), "no {k} field");
    }
    assert_eq!(body["keyPrefix"], json!("a0X"));
    assert_eq!(body["custom"], json!(true));
    let key = field("Tandem_Key__c");
    assert_eq!(
        (key["externalId"].clone(), key["unique"].clone()),
        (json!(true), json!(true))
    );
    let formula = field("Budget_Remaining__c");
    assert_eq!(formula["calculated"], json!(true));
    assert_eq!(formula["createable"], json!(false));
    assert!(formula["calculatedFormula"].is_string());
    let status = field("Status__c");
    assert_eq!(status["restrictedPicklist"], json!(true));
    assert!(
        status["picklistValues"]
            .as_array()
            .is_some_and(|p| p.iter().any(|v| v["active"] == json!(false)))
    );
    let owner = field("OwnerId");
    assert_eq!(owner["referenceTo"], json!(["Group", "User"]));
    assert_eq!(owner["defaultedOnCreate"], json!(true));
    let summary = field("Summary__c");
    assert_eq!(
        (
            summary["nillable"].clone(),
            summary["defaultedOnCreate"].clone()
        ),
        (json!(false), json!(false))
    );
    assert_eq!(field("Account__c")["relationshipName"], json!("Account__r"));
}

#[tokio::test]
async fn describe_global_matches_the_real_entries() {
    let sim = support::start_default().await;
    let real = fixture("salesforce-describe-global-v59-subset.json");
    let (status, limit, body) = sim.json(Method::GET, &sim.api("sobjects"), None).await;
    assert_eq!(status, 200);
    assert!(limit.is_some());
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["sobjects"] = json!([]);
        v
    };
    let mut d = diff(&strip(&real), &strip(&body));
    let real_objects = real["sobjects"].as_array().expect("real sobjects");
    let sim_objects = body["sobjects"].as_array().expect("sobjects");
    for so in sim_objects {
        // Compare with the real entry of the same object, else with the real Account entry.
        let name = so["name"].as_str().unwrap_or_default();
        let like = if name.ends_with("ChangeEvent") {
            "AccountChangeEvent"
        } else {
            "Account"
        };
        let ro = real_objects
            .iter()
            .find(|r| r["name"] == so["name"])
            .or_else(|| real_objects.iter().find(|r| r["name"] == json!(like)))
            .expect("a real entry to compare with");
        d.extend(
            diff(ro, so)
                .into_iter()
                .map(|l| format!("{}: {l}", so["name"])),
        );
    }
    assert!(d.is_empty(), "{}", d.join("\n"));
    for ro in real["sobjects"].as_array().expect("real") {
        if let Some(so) = sim_objects.iter().find(|s| s["name"] == ro["name"]) {
            for key in [
                "keyPrefix",
                "label",
                "labelPlural",
                "custom",
                "queryable",
                "createable",
                "updateable",
            ] {
                assert_eq!(so[key], ro[key], "{}.{key}", ro["name"]);
            }
        }
    }
    assert!(sim_objects.iter().any(|s| s["name"] == json!("Project__c")));
    let event = sim_objects
        .iter()
        .find(|s| s["name"] == json!("Project__ChangeEvent"))
        .expect("change event entry");
    assert_eq!(
        (event["queryable"].clone(), event["createable"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(body["maxBatchSize"], json!(200));
    let urls = &sim_objects[0]["urls"]["describe"];
    assert!(
        urls.as_str()
            .is_some_and(|u| u.starts_with(&format!("/services/data/v{V}/sobjects/")))
    );
}
