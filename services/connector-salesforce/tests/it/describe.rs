//! DescribeGlobal and DescribeObject through the credential stand-in, against the simulator.

use tandem_proto::v1::*;
use tonic::Code;

use crate::harness::{CONN, harness};

fn describe(object: &str) -> DescribeObjectRequest {
    DescribeObjectRequest {
        connection_id: CONN.into(),
        object: object.into(),
    }
}

#[tokio::test]
async fn describe_global_lists_only_queryable_objects() {
    let mut h = harness().await;
    let objects = h
        .client
        .describe_global(h.req(DescribeGlobalRequest {
            connection_id: CONN.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .objects;
    let names: Vec<&str> = objects.iter().map(|o| o.name.as_str()).collect();
    for want in [
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "User",
        "Project__c",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.ends_with("ChangeEvent")),
        "{names:?}"
    );
    let project = objects.iter().find(|o| o.name == "Project__c").unwrap();
    assert!(project.custom && project.createable && project.updateable);
    assert_eq!(project.label, "Project");
}

#[tokio::test]
async fn describe_object_gives_kinds_required_fields_picklists_and_the_idempotency_field() {
    let mut h = harness().await;
    let d = h
        .client
        .describe_object(h.req(describe("Project__c")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.object.as_ref().unwrap().name, "Project__c");
    assert_eq!(d.idempotency_field, "Tandem_Key__c");
    let field = |n: &str| {
        d.fields
            .iter()
            .find(|f| f.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    for (name, kind, sf_type) in [
        ("Summary__c", "string", "string"),
        ("Status__c", "picklist", "picklist"),
        ("Tags__c", "multipicklist", "multipicklist"),
        ("Budget__c", "currency", "currency"),
        ("Reviewer__c", "user", "reference"),
        ("Account__c", "reference", "reference"),
        ("Budget_Remaining__c", "formula", "currency"),
        ("Kickoff_At__c", "datetime", "datetime"),
    ] {
        assert_eq!(field(name).kind, kind, "{name}");
        assert_eq!(field(name).salesforce_type, sf_type, "{name}");
    }
    assert!(field("Summary__c").required);
    assert_eq!(field("Summary__c").length, 120);
    assert!(!field("Status__c").required, "defaulted on create");
    assert!(!field("Notes__c").required);
    let status = field("Status__c");
    assert!(status.restricted_picklist);
    let values: Vec<(&str, bool)> = status
        .picklist_values
        .iter()
        .map(|p| (p.value.as_str(), p.active))
        .collect();
    assert!(values.contains(&("Planned", true)) && values.contains(&("Cancelled", false)));
    assert!(field("Tandem_Key__c").external_id);
    let formula = field("Budget_Remaining__c");
    assert!(!formula.createable && !formula.updateable);
    assert_eq!(field("Reviewer__c").reference_to, ["User"]);
}

#[tokio::test]
async fn describes_are_cached_per_connection() {
    let mut h = harness().await;
    for _ in 0..3 {
        h.client
            .describe_object(h.req(describe("Account")))
            .await
            .unwrap();
        h.client
            .describe_global(h.req(DescribeGlobalRequest {
                connection_id: CONN.into(),
            }))
            .await
            .unwrap();
    }
    assert_eq!(h.calls("GET", "/sobjects/Account/describe"), 1);
    assert_eq!(
        h.calls("GET", "/sobjects"),
        2,
        "one describe + one describeGlobal"
    );
    assert_eq!(h.standin.gets.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_objects_connections_and_bad_names_are_refused_clearly() {
    let mut h = harness().await;
    let e = h
        .client
        .describe_object(h.req(describe("Nope__c")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("Nope__c"), "{}", e.message());
    let e = h
        .client
        .describe_object(h.req(describe("Account/../x")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("object"), "{}", e.message());
    let e = h
        .client
        .describe_object(h.req(DescribeObjectRequest {
            connection_id: "conn-unknown".into(),
            object: "Account".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let e = h
        .client
        .describe_global(h.req(DescribeGlobalRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("connection_id"));
}
