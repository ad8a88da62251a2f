//! PollChanges with `pages` (an import): every record once in Id order, the object's count on
//! the first page, a token that survives edits between pages, and a bad token refused.

use serde_json::json;
use tandem_proto::v1::*;
use tonic::Code;

use crate::harness::{CONN, ORG, harness};
use crate::poll::seed_projects;

fn page(token: &str) -> SalesforcePollRequest {
    SalesforcePollRequest {
        connection_id: CONN.into(),
        object: "Project__c".into(),
        fields: vec!["Summary__c".into()],
        max_records: 400,
        pages: true,
        page_token: token.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_import_reads_every_record_once_in_id_order_with_the_objects_count() {
    let mut h = harness().await;
    let made = seed_projects(&h, 1_000);
    let mut token = String::new();
    let mut ids: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let resp = h
            .client
            .poll_changes(h.req(page(&token)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.total, if pages == 0 { 1_000 } else { 0 });
        pages += 1;
        ids.extend(resp.records.into_iter().map(|r| r.id));
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
        // Edits between pages move records in SystemModstamp order, not in Id order.
        if pages == 1 {
            h.sim
                .update_as(
                    ORG,
                    &made[999],
                    json!({"Summary__c": "edited"}),
                    &h.sim.admin_user_id(ORG),
                )
                .unwrap();
            h.sim
                .update_as(
                    ORG,
                    &made[0],
                    json!({"Summary__c": "edited"}),
                    &h.sim.admin_user_id(ORG),
                )
                .unwrap();
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "in Id order");
    sorted.dedup();
    assert_eq!(sorted.len(), 1_000, "every record once");
}

#[tokio::test]
async fn a_page_token_that_is_not_a_record_id_is_refused_naming_it() {
    let mut h = harness().await;
    let refused = h
        .client
        .poll_changes(h.req(page("x' OR Name != '")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("page_token"), "{refused}");
}
