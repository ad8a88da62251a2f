//! GetBoard, ListUsers, GetItems, PollChanges; identity, credentials and retries.

use std::sync::atomic::Ordering;

use serde_json::json;
use tandem_proto::v1::{
    GetBoardRequest, GetItemsRequest, ListUsersRequest, MondayPollRequest, WriteItemsRequest,
};
use tandem_testkit::{authorized, user_bearer_in};
use time::OffsetDateTime;
use tonic::Code;

use crate::harness::{CONNECTION, served, start_harness, svc};

fn board_req(h: &crate::harness::Harness) -> GetBoardRequest {
    GetBoardRequest {
        connection_id: CONNECTION.into(),
        board_id: h.board.to_string(),
    }
}

#[tokio::test]
async fn get_board_gives_columns_with_kinds_labels_and_read_only_flags() {
    let mut h = start_harness().await;
    let board = h
        .client
        .get_board(svc(board_req(&h)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(board.board_id, h.board.to_string());
    assert_eq!(board.name, "Deals");
    let col = |id: &str| board.columns.iter().find(|c| c.id == id).unwrap().clone();
    let status = col("status");
    assert_eq!(
        (status.kind.as_str(), status.monday_type.as_str()),
        ("status", "status")
    );
    assert_eq!(status.labels, ["Working on it", "Done", "Stuck"]);
    assert!(!status.read_only);
    assert_eq!(col("dropdown").labels, ["Technology", "Marketing"]);
    let mirror = col("mirror");
    assert!(mirror.read_only, "mirror is computed by monday");
    assert_eq!(col("numbers").kind, "numbers");
    assert_eq!(col("name").kind, "name");
    assert!(!board.groups.is_empty());
}

#[tokio::test]
async fn get_board_of_an_unknown_board_is_not_found() {
    let mut h = start_harness().await;
    let err = h
        .client
        .get_board(svc(GetBoardRequest {
            connection_id: CONNECTION.into(),
            board_id: "999999999".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let mut h = start_harness().await;
    let cases = [
        (CONNECTION, "abc", "board_id `abc` is not a monday id"),
        (CONNECTION, "", "board_id is required"),
        ("", "123", "connection_id is required"),
    ];
    for (conn, board, want) in cases {
        let err = h
            .client
            .get_board(svc(GetBoardRequest {
                connection_id: conn.into(),
                board_id: board.into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains(want), "{}", err.message());
    }
}

#[tokio::test]
async fn list_users_gives_every_user_with_email_and_enabled() {
    let mut h = start_harness().await;
    let users = h
        .client
        .list_users(svc(ListUsersRequest {
            connection_id: CONNECTION.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .users;
    let mut emails: Vec<_> = users.iter().map(|u| u.email.as_str()).collect();
    emails.sort();
    assert_eq!(emails, ["ann@acme.test", "bob@acme.test"]);
    assert!(users.iter().all(|u| u.enabled && !u.id.is_empty()));
}

#[tokio::test]
async fn a_user_identity_is_denied_every_rpc() {
    let mut h = start_harness().await;
    let bearer = user_bearer_in("acme", "ann@acme.test");
    let e1 = h
        .client
        .get_board(authorized(board_req(&h), &bearer))
        .await
        .unwrap_err();
    let e2 = h
        .client
        .list_users(authorized(
            ListUsersRequest {
                connection_id: CONNECTION.into(),
            },
            &bearer,
        ))
        .await
        .unwrap_err();
    let e3 = h
        .client
        .poll_changes(authorized(
            MondayPollRequest {
                connection_id: CONNECTION.into(),
                board_id: h.board.to_string(),
                ..Default::default()
            },
            &bearer,
        ))
        .await
        .unwrap_err();
    let e4 = h
        .client
        .get_items(authorized(
            GetItemsRequest {
                connection_id: CONNECTION.into(),
                board_id: h.board.to_string(),
                ..Default::default()
            },
            &bearer,
        ))
        .await
        .unwrap_err();
    let e5 = h
        .client
        .write_items(authorized(
            WriteItemsRequest {
                connection_id: CONNECTION.into(),
                board_id: h.board.to_string(),
                ..Default::default()
            },
            &bearer,
        ))
        .await
        .unwrap_err();
    for e in [e1, e2, e3, e4, e5] {
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    }
    assert!(h.sim.requests().is_empty(), "nothing reached monday");
}

#[tokio::test]
async fn a_refused_token_asks_for_reauthentication_and_is_dropped_from_the_cache() {
    let mut h = start_harness().await;
    h.client.get_board(svc(board_req(&h))).await.unwrap();
    h.client.get_board(svc(board_req(&h))).await.unwrap();
    assert_eq!(h.credentials.calls.load(Ordering::SeqCst), 1, "cached");
    h.sim.revoke_token(&h.account.token);
    let err = h.client.get_board(svc(board_req(&h))).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("needs re-authentication"),
        "{}",
        err.message()
    );
    assert!(
        !err.message().contains(&h.account.token),
        "no token in errors"
    );
    let fresh = h.sim.create_token(h.account.account_id, h.account.user_id);
    h.credentials
        .tokens
        .lock()
        .unwrap()
        .insert(CONNECTION.into(), fresh);
    h.client.get_board(svc(board_req(&h))).await.unwrap();
    assert_eq!(
        h.credentials.calls.load(Ordering::SeqCst),
        2,
        "fetched again"
    );
}

#[tokio::test]
async fn an_unknown_connection_is_not_found() {
    let mut h = start_harness().await;
    let err = h
        .client
        .list_users(svc(ListUsersRequest {
            connection_id: "nope".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let mut h = start_harness().await;
    h.client.get_board(svc(board_req(&h))).await.unwrap();
    h.sim.set_faults(monday_sim::Faults {
        fail_next: 2,
        status: Some(502),
        ..Default::default()
    });
    let board = h.client.get_board(svc(board_req(&h))).await.unwrap();
    assert_eq!(board.into_inner().name, "Deals");
    h.sim.set_faults(monday_sim::Faults {
        fail_next: 10,
        status: Some(503),
        ..Default::default()
    });
    let err = h.client.get_board(svc(board_req(&h))).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    h.sim.set_faults(monday_sim::Faults::default());
}

#[tokio::test]
async fn get_items_reads_requested_columns_and_reports_missing_ids() {
    let mut h = start_harness().await;
    let a = h
        .sim
        .create_item(
            h.board,
            None,
            "Alpha",
            json!({"status": {"label": "Done"}, "text": "hi", "numbers": "5"}),
        )
        .unwrap();
    let other = h.sim.create_board(h.account.account_id, "Other");
    let elsewhere = h
        .sim
        .create_item(other, None, "Elsewhere", json!({}))
        .unwrap();
    let resp = h
        .client
        .get_items(svc(GetItemsRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            ids: vec![a.to_string(), elsewhere.to_string(), "987654321".into()],
            columns: vec!["status".into(), "text".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.items.len(), 1);
    let item = &resp.items[0];
    assert_eq!(item.id, a.to_string());
    assert_eq!(item.fields["name"], "\"Alpha\"");
    assert_eq!(item.fields["text"], "\"hi\"");
    let status: serde_json::Value = serde_json::from_str(&item.fields["status"]).unwrap();
    assert_eq!(status["index"], 1);
    assert!(
        !item.fields.contains_key("numbers"),
        "only requested columns"
    );
    assert!(item.modified_at.is_some());
    assert_eq!(
        resp.missing_ids,
        [elsewhere.to_string(), "987654321".to_string()]
    );
}

#[tokio::test]
async fn poll_pages_through_two_thousand_items() {
    let mut h = start_harness().await;
    for n in 0..2_000 {
        h.sim
            .create_item(
                h.board,
                None,
                &format!("Item {n}"),
                json!({"text": format!("t{n}")}),
            )
            .unwrap();
    }
    h.sim.clear_requests();
    let resp = h
        .client
        .poll_changes(svc(MondayPollRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            columns: vec!["text".into()],
            watermark: None,
            max_items: 0,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.items.len(), 2_000);
    let mut ids: Vec<_> = resp.items.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2_000, "no item twice");
    assert!(!resp.has_more);
    assert!(resp.watermark.is_some());
    assert_eq!(served(&h.sim, "query PollFirst"), 1, "one first page");
    assert_eq!(
        served(&h.sim, "query PollNext"),
        4,
        "then cursor pages of 500 (the first page holds 25)"
    );
    assert!(
        resp.items.iter().all(|r| r.fields.len() == 2),
        "name and text only"
    );
    assert!(resp.complexity.unwrap().used > 0);
}

#[tokio::test]
async fn a_quiet_poll_asks_for_a_small_page_and_a_busy_one_goes_on_in_full_pages() {
    let mut h = start_harness().await;
    for n in 0..30 {
        h.sim
            .create_item(h.board, None, &format!("Item {n}"), json!({}))
            .unwrap();
    }
    let poll = |watermark| MondayPollRequest {
        connection_id: CONNECTION.into(),
        board_id: h.board.to_string(),
        columns: vec!["text".into()],
        watermark,
        max_items: 0,
        ..Default::default()
    };
    h.sim.clear_requests();
    let busy = h
        .client
        .poll_changes(svc(poll(None)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(busy.items.len(), 30);
    let pages = h.sim.requests();
    let limits: Vec<u64> = pages
        .iter()
        .filter_map(|r| r.variables["limit"].as_u64())
        .collect();
    assert_eq!(limits, [25, 500], "a full first page, then full pages");

    // Nothing changed since (a watermark past the items' second, which a poll reads again):
    // one small page, a twentieth of a full page's complexity.
    h.sim.clear_requests();
    let mut later = busy.watermark.unwrap();
    later.seconds += 1;
    let quiet = h
        .client
        .poll_changes(svc(poll(Some(later))))
        .await
        .unwrap()
        .into_inner();
    let requests = h.sim.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].variables["limit"], 25);
    assert!(quiet.items.is_empty());
    let full = pages
        .iter()
        .find(|r| r.variables["limit"] == 500)
        .expect("a page of 500");
    assert!(
        requests[0].complexity * 10 < full.complexity,
        "a quiet poll costs {} points, a page of 500 {}",
        requests[0].complexity,
        full.complexity
    );
}

#[tokio::test]
async fn poll_returns_items_changed_since_the_watermark_and_advances_it() {
    let mut h = start_harness().await;
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::hours(2);
    let mut ids = Vec::new();
    for n in 0..10 {
        let id = h
            .sim
            .create_item(h.board, None, &format!("I{n}"), json!({}))
            .unwrap();
        h.sim.set_updated_at(id, base + time::Duration::minutes(n));
        ids.push(id);
    }
    let req = |watermark, max_items| {
        svc(MondayPollRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            columns: vec![],
            watermark,
            max_items,
            ..Default::default()
        })
    };
    let since = base + time::Duration::minutes(6);
    let ts = |t: OffsetDateTime| prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: 0,
    };
    let resp = h
        .client
        .poll_changes(req(Some(ts(since)), 0))
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = resp.items.iter().map(|r| r.id.clone()).collect();
    let want: Vec<_> = ids[6..].iter().map(|i| i.to_string()).collect();
    assert_eq!(got, want, "from the watermark's second on, oldest first");
    assert_eq!(
        resp.watermark.unwrap().seconds,
        (base + time::Duration::minutes(9)).unix_timestamp()
    );

    // max_items cuts the poll and says so; the watermark lets the next poll continue.
    let first = h
        .client
        .poll_changes(req(Some(ts(base - time::Duration::minutes(1))), 4))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.items.len(), 4);
    assert!(first.has_more);
    let next = h
        .client
        .poll_changes(req(first.watermark, 4))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        next.items[0].id,
        ids[3].to_string(),
        "the watermark's own second again"
    );
    assert_eq!(next.items.last().unwrap().id, ids[7].to_string());
    assert!(next.has_more);
}

#[tokio::test]
async fn an_expired_cursor_restarts_the_poll_without_losing_or_repeating_items() {
    let mut h = start_harness().await;
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::hours(1);
    for n in 0..1_200 {
        let id = h
            .sim
            .create_item(h.board, None, &format!("I{n}"), json!({}))
            .unwrap();
        h.sim.set_updated_at(id, base + time::Duration::seconds(n));
    }
    // Warm the session, then slow monday down so the test can age the first cursor.
    h.client.get_board(svc(board_req(&h))).await.unwrap();
    h.sim.clear_requests();
    h.sim.set_faults(monday_sim::Faults {
        latency_ms: 300,
        ..Default::default()
    });
    let mut client = h.client.clone();
    let board = h.board.to_string();
    let poll = tokio::spawn(async move {
        client
            .poll_changes(svc(MondayPollRequest {
                connection_id: CONNECTION.into(),
                board_id: board,
                ..Default::default()
            }))
            .await
    });
    let sim = h.sim.clone();
    assert!(
        crate::harness::eventually(std::time::Duration::from_secs(10), || {
            served(&sim, "query PollFirst") == 1
        })
        .await
    );
    h.sim.age_cursors(std::time::Duration::from_secs(2 * 3600));
    let resp = poll.await.unwrap().unwrap().into_inner();
    h.sim.set_faults(monday_sim::Faults::default());
    let mut ids: Vec<_> = resp.items.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 1_200, "every item once");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1_200);
    let log = h.sim.requests();
    assert!(
        log.iter()
            .any(|r| r.error_codes.iter().any(|c| c == "CursorException")),
        "the cursor did expire"
    );
    assert_eq!(served(&h.sim, "query PollFirst"), 2, "restarted once");
}

#[tokio::test]
async fn find_items_returns_the_items_whose_column_shows_a_value() {
    let mut h = start_harness().await;
    let a = h
        .sim
        .create_item(
            h.board,
            None,
            "Alpha",
            json!({"text": "006A", "status": {"label": "Done"}}),
        )
        .unwrap();
    let b = h
        .sim
        .create_item(h.board, None, "Beta", json!({"text": "006B"}))
        .unwrap();
    h.sim
        .create_item(h.board, None, "Gamma", json!({"text": "006C"}))
        .unwrap();
    let resp = h
        .client
        .find_items(svc(tandem_proto::v1::FindItemsRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            column_id: "text".into(),
            values: vec!["006A".into(), "006B".into(), "006Z".into()],
            columns: vec!["status".into(), "text".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    let mut ids: Vec<String> = resp.items.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    let mut want = vec![a.to_string(), b.to_string()];
    want.sort();
    assert_eq!(ids, want);
    let alpha = resp.items.iter().find(|i| i.id == a.to_string()).unwrap();
    assert_eq!(alpha.fields["name"], "\"Alpha\"");
    assert!(
        alpha.fields.contains_key("status"),
        "the requested columns are read"
    );
    assert!(resp.api_calls >= 1);

    let too_many = h
        .client
        .find_items(svc(tandem_proto::v1::FindItemsRequest {
            connection_id: CONNECTION.into(),
            board_id: h.board.to_string(),
            column_id: "text".into(),
            values: vec!["x".into(); 1_001],
            columns: vec![],
        }))
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument);
    assert!(too_many.message().contains("values"), "{too_many:?}");
}

/// An account whose daily calls are spent is refused RESOURCE_EXHAUSTED with the wait until
/// monday's reset, and from then on without a call to monday: a refused call would count too.
#[tokio::test]
async fn spent_daily_calls_are_refused_until_the_reset_without_calling_monday() {
    let mut h = start_harness().await;
    h.client.get_board(svc(board_req(&h))).await.unwrap();
    h.sim.set_daily_call_limit(h.account.account_id, Some(1));
    h.sim.spend_daily_calls(h.account.account_id, 1);
    h.sim.clear_requests();
    let first = h.client.get_board(svc(board_req(&h))).await.unwrap_err();
    assert_eq!(first.code(), Code::ResourceExhausted, "{first}");
    assert!(first.message().contains("DAILY_LIMIT_EXCEEDED"), "{first}");
    let served = h.sim.requests().len();
    assert_eq!(served, 1, "monday refused once");
    let again = h.client.get_board(svc(board_req(&h))).await.unwrap_err();
    assert_eq!(again.code(), Code::ResourceExhausted, "{again}");
    assert_eq!(
        h.sim.requests().len(),
        served,
        "no call spent on a known refusal"
    );
}
