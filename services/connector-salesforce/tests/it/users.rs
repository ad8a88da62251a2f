//! FindUsers against the simulator.

use serde_json::json;
use tandem_proto::v1::*;
use tonic::Code;

use crate::harness::{CONN, ORG, harness};

#[tokio::test]
async fn finds_active_users_by_email_case_insensitively_in_one_query() {
    let mut h = harness().await;
    let admin = h.sim.admin_user_id(ORG);
    let admin_email = h.sim.record(ORG, &admin).unwrap()["Email"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = |name: &str, email: &str, active: bool| {
        json!({"Username": format!("{name}@tandem.test.sim"), "LastName": name, "Alias": &name[..3],
               "Email": email, "TimeZoneSidKey": "Europe/Paris", "IsActive": active})
    };
    let ada = h
        .sim
        .insert(ORG, "User", user("Lovelace", "ada@acme.test", true))
        .unwrap();
    h.sim
        .insert(ORG, "User", user("Retired", "old@acme.test", false))
        .unwrap();
    h.sim.clear_calls();
    let users = h
        .client
        .find_users(h.req(FindUsersRequest {
            connection_id: CONN.into(),
            emails: vec![
                "ADA@acme.test".into(),
                admin_email.to_uppercase(),
                "old@acme.test".into(),
                "nobody@acme.test".into(),
                "ada@acme.test".into(),
            ],
        }))
        .await
        .unwrap()
        .into_inner()
        .users;
    let mut ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    ids.sort();
    let mut want = vec![ada.as_str(), admin.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert!(users.iter().all(|u| u.active));
    let found = users.iter().find(|u| u.id == ada).unwrap();
    assert_eq!(
        (found.email.as_str(), found.name.as_str()),
        ("ada@acme.test", "Lovelace")
    );
    assert_eq!(h.sim.calls().len(), 1, "one SOQL IN query");
}

#[tokio::test]
async fn a_malformed_email_names_its_index() {
    let mut h = harness().await;
    let e = h
        .client
        .find_users(h.req(FindUsersRequest {
            connection_id: CONN.into(),
            emails: vec!["a@b.test".into(), "x' OR Name != '".into()],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().starts_with("emails[1]"), "{}", e.message());
    assert!(h.sim.calls().is_empty());
}

#[tokio::test]
async fn the_organization_and_its_time_zone_are_read_once_then_cached() {
    let mut h = harness().await;
    h.sim.set_org_time_zone(ORG, "Asia/Tokyo");
    h.sim.clear_calls();
    let ask = || GetOrganizationRequest {
        connection_id: CONN.into(),
    };
    let org = h
        .client
        .get_organization(h.req(ask()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(org.time_zone, "Asia/Tokyo");
    assert_eq!(
        (org.default_locale.as_str(), org.country.as_str()),
        ("en_US", "US"),
        "the locale's country is the phone default"
    );
    assert!(org.id.starts_with("00D"), "{org:?}");
    assert!(!org.is_sandbox);
    let again = h
        .client
        .get_organization(h.req(ask()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, org);
    let calls = h.sim.calls();
    assert_eq!(calls.len(), 1, "the second answer is cached: {calls:?}");
    assert!(calls[0].path.contains("/query"), "{calls:?}");
    let missing = h
        .client
        .get_organization(h.req(GetOrganizationRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert!(missing.message().contains("connection_id"), "{missing:?}");
}

#[tokio::test]
async fn users_are_read_by_id_active_or_not_for_the_email_fallback() {
    let mut h = harness().await;
    let user = |name: &str, email: &str, active: bool| {
        json!({"Username": format!("{name}@tandem.test.sim"), "LastName": name, "Alias": &name[..3],
               "Email": email, "TimeZoneSidKey": "Europe/Paris", "IsActive": active})
    };
    let ada = h
        .sim
        .insert(ORG, "User", user("Lovelace", "ada@acme.test", true))
        .unwrap();
    let old = h
        .sim
        .insert(ORG, "User", user("Retired", "old@acme.test", false))
        .unwrap();
    let got = h
        .client
        .get_records(h.req(GetRecordsRequest {
            connection_id: CONN.into(),
            object: "User".into(),
            ids: vec![ada.clone(), old.clone()],
            fields: vec!["Email".into(), "Name".into(), "IsActive".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(got.missing_ids.is_empty(), "{:?}", got.missing_ids);
    let by_id = |id: &str| got.records.iter().find(|r| r.id == id).unwrap();
    assert_eq!(by_id(&ada).fields["Email"], "\"ada@acme.test\"");
    assert_eq!(by_id(&old).fields["Email"], "\"old@acme.test\"");
    assert_eq!(by_id(&old).fields["IsActive"], "false");
}
