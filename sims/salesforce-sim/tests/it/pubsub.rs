//! The Pub/Sub API over real gRPC: change events of REST writes, decoded with GetSchema,
//! header facts, bitmaps, auth, topics, publishing.

use apache_avro::types::Value as Avro;
use reqwest::Method;
use salesforce_sim::pubsub::proto::{self, ReplayPreset};
use serde_json::json;
use std::time::Duration;
use tonic::Code;

use crate::pubsub_support::{self as bus, fetch};
use crate::support::{self, TestSim};

const PROJECTS: &str = "/data/Project__ChangeEvent";

fn error_code(st: &tonic::Status) -> String {
    st.metadata()
        .get("error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn project(sim: &TestSim, summary: &str) -> String {
    sim.handle
        .insert(
            "demo",
            "Project__c",
            json!({"Name": "P", "Summary__c": summary}),
        )
        .expect("insert")
}

async fn patch(sim: &TestSim, id: &str, body: serde_json::Value, client: &str) -> u16 {
    sim.client
        .patch(sim.api(&format!("sobjects/Project__c/{id}")))
        .bearer_auth(&sim.token)
        .header("Sforce-Call-Options", format!("client={client}"))
        .json(&body)
        .send()
        .await
        .expect("patch")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_update_arrives_decoded_with_its_changed_fields_in_the_bitmap() {
    let sim = support::start_default().await;
    let id = project(&sim, "before").await;
    let mut b = bus::connect(&sim).await;
    let topic = b
        .client
        .get_topic(b.req(proto::TopicRequest {
            topic_name: PROJECTS.into(),
        }))
        .await
        .expect("topic")
        .into_inner();
    assert!(topic.can_subscribe && !topic.can_publish);
    assert_eq!(topic.tenant_guid, b.org_id);
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    assert_eq!(
        patch(
            &sim,
            &id,
            json!({"Summary__c": "after", "Priority__c": "High"}),
            "tandem-it"
        )
        .await,
        204
    );
    let events = sub.events(1).await;
    let ev = events[0].event.as_ref().expect("event");
    assert_eq!(
        ev.schema_id, topic.schema_id,
        "the event uses the topic's schema"
    );
    let d = b.decode(&events[0]).await;
    assert_eq!(d.header_str("entityName"), "Project__c");
    assert_eq!(d.header_str("changeType"), "UPDATE");
    assert_eq!(d.header_list("recordIds"), vec![id.clone()]);
    assert_eq!(
        d.header_str("changeOrigin"),
        "com/salesforce/api/rest/62.0;client=tandem-it"
    );
    assert_eq!(d.header_str("commitUser"), sim.handle.admin_user_id("demo"));
    assert!(!d.header_str("transactionKey").is_empty());
    assert!(matches!(d.header("sequenceNumber"), Avro::Int(1)));
    assert!(matches!(d.header("commitTimestamp"), Avro::Long(ms) if *ms > 1_700_000_000_000));
    let mut changed = d.names_in("changedFields");
    changed.sort();
    assert_eq!(
        changed,
        vec!["LastModifiedDate", "Priority__c", "Summary__c"]
    );
    assert!(d.header_list("changedFields")[0].starts_with("0x"));
    assert!(d.names_in("nulledFields").is_empty());
    assert_eq!(d.field("Summary__c"), &Avro::String("after".into()));
    assert_eq!(d.field("Name"), &Avro::Null, "unchanged fields are null");
    assert_eq!(d.field("Status__c"), &Avro::Null);
    assert!(!events[0].replay_id.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_nulling_delete_and_undelete_each_make_their_event() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    let mut sub = b
        .live(fetch("/data/ChangeEvents", ReplayPreset::Latest, 50))
        .await;
    let (status, _, body) = sim
        .json(
            Method::POST,
            &sim.api("sobjects/Project__c"),
            Some(json!({"Name": "New", "Summary__c": "s", "Notes__c": "n"})),
        )
        .await;
    assert_eq!(status, 201);
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(patch(&sim, &id, json!({"Notes__c": null}), "x").await, 204);
    let (status, _, _) = sim
        .json(
            Method::DELETE,
            &sim.api(&format!("sobjects/Project__c/{id}")),
            None,
        )
        .await;
    assert_eq!(status, 204);
    sim.handle.undelete("demo", &id).expect("undelete");
    let events = sub.events(4).await;
    let mut kinds = Vec::new();
    for e in &events {
        let d = b.decode(e).await;
        kinds.push(d.header_str("changeType"));
        match d.header_str("changeType").as_str() {
            "CREATE" | "UNDELETE" => {
                assert_eq!(d.field("Name"), &Avro::String("New".into()));
                assert!(d.header_list("changedFields").is_empty());
            }
            "UPDATE" => {
                assert_eq!(d.names_in("nulledFields"), vec!["Notes__c"]);
                assert!(
                    d.names_in("changedFields")
                        .contains(&"Notes__c".to_string())
                );
            }
            "DELETE" => assert_eq!(d.field("Name"), &Avro::Null),
            other => panic!("{other}"),
        }
    }
    assert_eq!(kinds, vec!["CREATE", "UPDATE", "DELETE", "UNDELETE"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_transaction_with_the_same_change_to_several_records_is_one_event() {
    let sim = support::start_default().await;
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..3 {
            v.push(project(&sim, &format!("s{i}")).await);
        }
        v
    };
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    let records: Vec<_> = ids
        .iter()
        .map(|id| json!({"attributes": {"type": "Project__c"}, "id": id, "Priority__c": "Low"}))
        .collect();
    let (status, _, body) = sim
        .json(
            Method::PATCH,
            &sim.api("composite/sobjects"),
            Some(json!({"allOrNone": false, "records": records})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let events = sub.events(1).await;
    let d = b.decode(&events[0]).await;
    let mut got = d.header_list("recordIds");
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(
        sub.quiet_for(Duration::from_millis(300)).await,
        "one event only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compound_name_changes_use_the_nested_bitmap() {
    let sim = support::start_default().await;
    let id = sim
        .handle
        .insert(
            "demo",
            "Contact",
            json!({"LastName": "Lovelace", "FirstName": "Ada"}),
        )
        .expect("contact");
    let mut b = bus::connect(&sim).await;
    let mut sub = b
        .live(fetch("/data/ContactChangeEvent", ReplayPreset::Latest, 10))
        .await;
    let admin = sim.handle.admin_user_id("demo");
    sim.handle
        .update_as("demo", &id, json!({"FirstName": "Augusta"}), &admin)
        .expect("edit");
    let d = b.decode(&sub.events(1).await[0]).await;
    let changed = d.names_in("changedFields");
    assert!(changed.contains(&"Name".to_string()), "{changed:?}");
    assert!(
        changed.contains(&"Name.FirstName".to_string()),
        "{changed:?}"
    );
    assert!(
        d.header_list("changedFields")
            .iter()
            .any(|b| b.contains("-0x"))
    );
    assert_eq!(
        d.header_str("changeOrigin"),
        "",
        "a control-plane edit has no API origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_valid_auth_headers_are_unauthenticated() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    let bare = b
        .client
        .get_topic(tonic::Request::new(proto::TopicRequest {
            topic_name: PROJECTS.into(),
        }))
        .await
        .expect_err("no headers");
    assert_eq!(bare.code(), Code::Unauthenticated);
    assert_eq!(
        error_code(&bare),
        "sfdc.platform.eventbus.grpc.service.auth.error"
    );
    assert!(bare.message().contains("rpcId: "), "{}", bare.message());
    for (token, tenant) in [
        ("not-a-token".to_string(), b.org_id.clone()),
        (b.token.clone(), "00Dxx0000000001AAA".to_string()),
    ] {
        let mut r = tonic::Request::new(proto::TopicRequest {
            topic_name: PROJECTS.into(),
        });
        r.metadata_mut()
            .insert("accesstoken", token.parse().unwrap());
        r.metadata_mut()
            .insert("instanceurl", b.instance_url.parse().unwrap());
        r.metadata_mut().insert("tenantid", tenant.parse().unwrap());
        let st = b.client.get_topic(r).await.expect_err("refused");
        assert_eq!(st.code(), Code::Unauthenticated);
    }
    sim.handle.expire_all_tokens();
    let Err(st) = b.subscribe(fetch(PROJECTS, ReplayPreset::Latest, 1)).await else {
        panic!("an expired token subscribed")
    };
    assert_eq!(st.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topics_and_publishing_change_events_are_refused() {
    let sim = support::start_default().await;
    let mut b = bus::connect(&sim).await;
    let st = b
        .client
        .get_topic(b.req(proto::TopicRequest {
            topic_name: "/data/projectChangeEvent".into(),
        }))
        .await
        .expect_err("case-sensitive");
    assert_eq!(st.code(), Code::NotFound);
    let mut sub = b
        .subscribe(fetch("/data/NopeChangeEvent", ReplayPreset::Latest, 1))
        .await
        .expect("opens");
    assert_eq!(
        sub.next().await.expect_err("not found").code(),
        Code::NotFound
    );
    let st = b
        .client
        .publish(b.req(proto::PublishRequest {
            topic_name: PROJECTS.into(),
            ..Default::default()
        }))
        .await
        .expect_err("change events are Salesforce's");
    assert_eq!(st.code(), Code::PermissionDenied);
    let st = b
        .client
        .get_schema(b.req(proto::SchemaRequest {
            schema_id: "nope".into(),
        }))
        .await
        .expect_err("no such schema");
    assert_eq!(st.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_event_published_with_its_schema_reaches_a_subscriber() {
    let sim = support::start_default().await;
    let schema_id = sim
        .handle
        .define_platform_event("Order_Shipped__e", &[("Order_Number__c", "string")])
        .expect("define");
    let mut b = bus::connect(&sim).await;
    let topic = "/event/Order_Shipped__e";
    let info = b
        .client
        .get_topic(b.req(proto::TopicRequest {
            topic_name: topic.into(),
        }))
        .await
        .expect("topic")
        .into_inner();
    assert!(info.can_publish);
    assert_eq!(info.schema_id, schema_id);
    let schema = b.schema(&schema_id).await;
    let value = Avro::Record(vec![
        ("CreatedDate".into(), Avro::Long(1_700_000_000_000)),
        (
            "CreatedById".into(),
            Avro::String(sim.handle.admin_user_id("demo")),
        ),
        (
            "Order_Number__c".into(),
            Avro::Union(1, Box::new(Avro::String("A-1".into()))),
        ),
    ]);
    let payload = apache_avro::to_avro_datum(&schema, value).unwrap();
    let mut sub = b.live(fetch(topic, ReplayPreset::Latest, 5)).await;
    let res = b
        .client
        .publish(b.req(proto::PublishRequest {
            topic_name: topic.into(),
            events: vec![
                proto::ProducerEvent {
                    id: "e1".into(),
                    schema_id: schema_id.clone(),
                    payload,
                    headers: vec![],
                },
                proto::ProducerEvent {
                    id: "e2".into(),
                    schema_id: "stale".into(),
                    payload: vec![1],
                    headers: vec![],
                },
            ],
            ..Default::default()
        }))
        .await
        .expect("publish")
        .into_inner();
    assert!(res.results[0].error.is_none() && !res.results[0].replay_id.is_empty());
    assert!(
        res.results[1].error.is_some(),
        "a wrong schema id is refused per event"
    );
    let got = sub.events(1).await;
    assert_eq!(got[0].event.as_ref().unwrap().id, "e1");
    assert_eq!(got[0].replay_id, res.results[0].replay_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_field_gives_the_object_a_new_schema_id_and_old_events_keep_theirs() {
    let sim = support::start_default().await;
    let id = project(&sim, "s").await;
    let mut b = bus::connect(&sim).await;
    let mut sub = b.live(fetch(PROJECTS, ReplayPreset::Latest, 10)).await;
    assert_eq!(
        patch(&sim, &id, json!({"Summary__c": "one"}), "x").await,
        204
    );
    let first = sub.events(1).await;
    let old_id = first[0].event.as_ref().unwrap().schema_id.clone();
    sim.handle
        .add_field(
            "Project__c",
            json!({"name": "Region__c", "type": "string", "label": "Region"}),
        )
        .expect("add field");
    assert_eq!(
        patch(&sim, &id, json!({"Region__c": "EMEA"}), "x").await,
        204
    );
    let second = sub.events(1).await;
    let new_id = second[0].event.as_ref().unwrap().schema_id.clone();
    assert_ne!(old_id, new_id, "the schema id follows the object's fields");
    let topic = b
        .client
        .get_topic(b.req(proto::TopicRequest {
            topic_name: PROJECTS.into(),
        }))
        .await
        .expect("topic")
        .into_inner();
    assert_eq!(topic.schema_id, new_id);
    let d = b.decode(&second[0]).await;
    assert!(
        d.names_in("changedFields")
            .contains(&"Region__c".to_string())
    );
    assert_eq!(d.field("Region__c"), &Avro::String("EMEA".into()));
    // The event written before the change still decodes with its own schema.
    let old = b.decode(&first[0]).await;
    assert!(old.fields.iter().all(|(name, _)| name != "Region__c"));
}
