//! PollChanges with `pages` (an import): every item once across pages, the board's count on
//! the first page, and an expired cursor refused naming `page_token`.

use serde_json::json;
use tandem_proto::v1::MondayPollRequest;
use tonic::Code;

use crate::harness::{CONNECTION, start_harness, svc};

fn page(h: &crate::harness::Harness, token: &str) -> MondayPollRequest {
    MondayPollRequest {
        connection_id: CONNECTION.into(),
        board_id: h.board.to_string(),
        columns: vec!["text".into()],
        max_items: 40,
        pages: true,
        page_token: token.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_import_reads_every_item_once_a_page_at_a_time_with_the_boards_count() {
    let mut h = start_harness().await;
    for n in 0..100 {
        h.sim
            .create_item(h.board, None, &format!("Item {n}"), json!({"text": "t"}))
            .unwrap();
    }
    let mut token = String::new();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let resp = h
            .client
            .poll_changes(svc(page(&h, &token)))
            .await
            .unwrap()
            .into_inner();
        if pages == 0 {
            assert_eq!(resp.total, 100, "the first page counts the board");
        } else {
            assert_eq!(resp.total, 0);
        }
        pages += 1;
        assert!(resp.items.len() <= 40);
        ids.extend(resp.items.into_iter().map(|i| i.id));
        if resp.next_page_token.is_empty() {
            assert!(!resp.has_more);
            break;
        }
        token = resp.next_page_token;
        // An item edited between two pages is not read twice.
        if pages == 1 {
            let first: i64 = ids[0].parse().unwrap();
            h.sim.set_values(first, json!({"text": "edited"})).unwrap();
        }
    }
    assert_eq!(pages, 3);
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((count, ids.len()), (100, 100), "every item once");
}

#[tokio::test]
async fn an_expired_page_token_is_refused_naming_it() {
    let mut h = start_harness().await;
    for n in 0..60 {
        h.sim
            .create_item(h.board, None, &format!("Item {n}"), json!({}))
            .unwrap();
    }
    let first = h
        .client
        .poll_changes(svc(page(&h, "")))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    h.sim.age_cursors(std::time::Duration::from_secs(2 * 3600));
    let refused = h
        .client
        .poll_changes(svc(page(&h, &first.next_page_token)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("page_token"), "{refused}");
}
