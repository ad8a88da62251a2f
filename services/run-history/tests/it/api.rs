//! The RunHistory RPCs over gRPC against a database of the test's own.

use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::*;
use tandem_testkit::{
    Running, TestDb, any_port, authorized, infra, service_bearer, start, user_bearer_in,
};
use tonic::Code;
use tonic::transport::Channel;

struct Harness {
    db: TestDb,
    running: Running,
    client: RunHistoryClient<Channel>,
    svc: String,
    /// The runs' owner (services do not read history: its RPCs are users').
    owner: String,
}

async fn harness() -> Harness {
    let db = TestDb::create().await;
    let server = run_history::bind(run_history::Config {
        listen: any_port(),
        infra: infra(&db),
        options: Default::default(),
    })
    .await
    .expect("run-history starts");
    let running = start(server);
    let client = RunHistoryClient::new(running.channel().await);
    Harness {
        db,
        running,
        client,
        svc: service_bearer("sync-orchestrator"),
        owner: user_bearer_in("acme", "ada@acme.test"),
    }
}

impl Harness {
    async fn start_run(&mut self, integration: &str) -> Run {
        self.client
            .start_run(authorized(
                StartRunRequest {
                    integration_id: integration.to_owned(),
                    owner: "ada@acme.test".to_owned(),
                    trigger: Trigger::Schedule as i32,
                    account: "acme".to_owned(),
                },
                &self.svc,
            ))
            .await
            .expect("start run")
            .into_inner()
    }

    async fn append(
        &mut self,
        run_id: &str,
        events: Vec<RecordEvent>,
    ) -> Result<u64, tonic::Status> {
        self.client
            .append_events(authorized(
                AppendEventsRequest {
                    run_id: run_id.to_owned(),
                    events,
                },
                &self.svc,
            ))
            .await
            .map(|r| r.into_inner().inserted)
    }

    async fn events(
        &mut self,
        request: ListEventsRequest,
        bearer: &str,
    ) -> Result<ListEventsResponse, tonic::Status> {
        self.client
            .list_events(authorized(request, bearer))
            .await
            .map(|r| r.into_inner())
    }

    async fn event_count(&self) -> i64 {
        let pool = sqlx::PgPool::connect(self.db.url()).await.unwrap();
        let n = sqlx::query_scalar("SELECT count(*) FROM history.events")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }
}

fn event(key: &str, action: EventAction, record: &str) -> RecordEvent {
    RecordEvent {
        key: key.to_owned(),
        source_side: Side::Salesforce as i32,
        source_record_id: record.to_owned(),
        target_record_id: format!("item-{record}"),
        action: action as i32,
        changes: vec![FieldChange {
            field: "Amount".to_owned(),
            before: "\"100\"".to_owned(),
            after: "\"250.50\"".to_owned(),
            redacted: false,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A conflict on `Amount` that monday won, between two named records.
fn conflict(key: &str) -> RecordEvent {
    RecordEvent {
        key: key.to_owned(),
        source_side: Side::Monday as i32,
        target_side: Side::Salesforce as i32,
        source_record_id: "17".to_owned(),
        source_name: "Acme deal".to_owned(),
        target_record_id: "006C".to_owned(),
        target_name: "Acme Deal".to_owned(),
        action: EventAction::Conflict as i32,
        changes: vec![FieldChange {
            field: "Amount".to_owned(),
            source_field: "numbers".to_owned(),
            before: "\"100\"".to_owned(),
            after: "\"300\"".to_owned(),
            salesforce_value: "\"100\"".to_owned(),
            monday_value: "\"300\"".to_owned(),
            winner: Side::Monday as i32,
            redacted: false,
        }],
        ..Default::default()
    }
}

fn page(size: Option<u32>, token: &str) -> Option<PageRequest> {
    Some(PageRequest {
        page_size: size,
        page_token: token.to_owned(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn appended_events_list_back_newest_first_with_explanations() {
    let mut h = harness().await;
    let run = h.start_run("int-1").await;
    assert_eq!(run.status, RunStatus::Running as i32);
    let mut failed = event("k-fail", EventAction::Failed, "006A");
    failed.errors = vec![RemoteError {
        code: "REQUIRED_FIELD_MISSING".to_owned(),
        message: "Required fields are missing: [StageName]".to_owned(),
        fields: vec!["StageName".to_owned()],
        explanation: String::new(),
        // No mapping supplies it.
        source_kind: String::new(),
        target_kind: "picklist".to_owned(),
    }];
    let inserted = h
        .append(
            &run.id,
            vec![event("k-1", EventAction::Created, "006B"), failed],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 2);

    let listed = h
        .events(
            ListEventsRequest {
                run_id: run.id.clone(),
                ..Default::default()
            },
            &h.owner.clone(),
        )
        .await
        .unwrap();
    let keys: Vec<&str> = listed.events.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["k-fail", "k-1"], "newest first");
    let error = &listed.events[0].errors[0];
    assert_eq!(
        error.message, "Required fields are missing: [StageName]",
        "verbatim"
    );
    assert!(
        error.explanation.contains("Map a column to StageName"),
        "{}",
        error.explanation
    );
    assert_eq!(error.target_kind, "picklist", "the kinds are kept");
    assert_eq!(listed.events[1].changes[0].after, "\"250.50\"");

    let only_failed = h
        .events(
            ListEventsRequest {
                run_id: run.id.clone(),
                action: EventAction::Failed as i32,
                ..Default::default()
            },
            &h.owner.clone(),
        )
        .await
        .unwrap();
    assert_eq!(only_failed.events.len(), 1);
    let by_record = h
        .events(
            ListEventsRequest {
                run_id: run.id.clone(),
                record_id: "item-006B".to_owned(),
                ..Default::default()
            },
            &h.owner.clone(),
        )
        .await
        .unwrap();
    assert_eq!(by_record.events.len(), 1);
    assert_eq!(by_record.events[0].key, "k-1");

    let finished = h
        .client
        .finish_run(authorized(
            FinishRunRequest {
                run_id: run.id.clone(),
                status: RunStatus::PartiallyFailed as i32,
                counters: Some(RunCounters {
                    read: 2,
                    created: 1,
                    failed: 1,
                    salesforce_api_calls: 3,
                    ..Default::default()
                }),
                error: String::new(),
            },
            &h.svc.clone(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(finished.status, RunStatus::PartiallyFailed as i32);
    assert!(finished.finished_at.is_some());
    assert_eq!(finished.counters.unwrap().salesforce_api_calls, 3);
    // A finished run takes no more events, and cannot finish twice.
    let late = h
        .append(&run.id, vec![event("k-late", EventAction::Created, "006C")])
        .await;
    assert_eq!(late.unwrap_err().code(), Code::FailedPrecondition);
    drop(h.running);
}

#[tokio::test(flavor = "multi_thread")]
async fn re_appending_the_same_keys_never_doubles_a_row() {
    let mut h = harness().await;
    let run = h.start_run("int-1").await;
    let batch: Vec<RecordEvent> = (0..500)
        .map(|i| event(&format!("k-{i}"), EventAction::Updated, &format!("r{i}")))
        .collect();
    assert_eq!(h.append(&run.id, batch.clone()).await.unwrap(), 500);
    assert_eq!(
        h.append(&run.id, batch.clone()).await.unwrap(),
        0,
        "a retried append adds nothing"
    );
    let mut overlapping = batch[250..].to_vec();
    overlapping.push(event("k-new", EventAction::Updated, "rnew"));
    overlapping.push(event("k-new", EventAction::Updated, "rnew"));
    assert_eq!(h.append(&run.id, overlapping).await.unwrap(), 1);
    assert_eq!(h.event_count().await, 501);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_neither_skip_nor_repeat_while_events_arrive() {
    let mut h = harness().await;
    let run = h.start_run("int-1").await;
    let first: Vec<RecordEvent> = (0..95)
        .map(|i| event(&format!("old-{i}"), EventAction::Updated, &format!("r{i}")))
        .collect();
    h.append(&run.id, first).await.unwrap();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut round = 0;
    loop {
        let response = h
            .events(
                ListEventsRequest {
                    run_id: run.id.clone(),
                    page: page(Some(10), &token),
                    ..Default::default()
                },
                &h.owner.clone(),
            )
            .await
            .unwrap();
        seen.extend(response.events.into_iter().map(|e| e.key));
        // New events keep arriving between pages.
        let fresh = vec![event(&format!("new-{round}"), EventAction::Created, "rx")];
        h.append(&run.id, fresh).await.unwrap();
        round += 1;
        token = response.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let expected: Vec<String> = (0..95).rev().map(|i| format!("old-{i}")).collect();
    assert_eq!(
        seen, expected,
        "every event present at the start, once, in order"
    );
    assert_eq!(round, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_page_by_integration_newest_first() {
    let mut h = harness().await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(h.start_run("int-a").await.id);
    }
    h.start_run("int-b").await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let response = h
            .client
            .list_runs(authorized(
                ListRunsRequest {
                    integration_id: "int-a".to_owned(),
                    page: page(Some(3), &token),
                    ..Default::default()
                },
                &h.owner.clone(),
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(response.runs.into_iter().map(|r| r.id));
        token = response.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    // Another account sees none of them.
    let other = user_bearer_in("globex", "hank@globex.test");
    let response = h
        .client
        .list_runs(authorized(ListRunsRequest::default(), &other))
        .await
        .unwrap()
        .into_inner();
    assert!(response.runs.is_empty());
    let hidden = h
        .client
        .get_run(authorized(
            GetRunRequest {
                run_id: ids[0].clone(),
            },
            &other,
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_owner_sees_field_values_and_sensitive_ones_are_never_stored() {
    let mut h = harness().await;
    let run = h.start_run("int-1").await;
    let mut sensitive = event("k-secret", EventAction::Updated, "r2");
    sensitive.changes[0] = FieldChange {
        field: "SSN__c".to_owned(),
        before: "\"123-45-6789\"".to_owned(),
        after: "\"987-65-4321\"".to_owned(),
        salesforce_value: "\"123-45-6789\"".to_owned(),
        monday_value: "\"987-65-4321\"".to_owned(),
        winner: Side::Monday as i32,
        redacted: true,
        ..Default::default()
    };
    let mut failed = event("k-fail", EventAction::Failed, "r3");
    failed.errors = vec![RemoteError {
        code: "STRING_TOO_LONG".to_owned(),
        message: "Name: data value too large".to_owned(),
        fields: vec!["Name".to_owned()],
        explanation: String::new(),
        ..Default::default()
    }];
    h.append(
        &run.id,
        vec![
            event("k-1", EventAction::Updated, "r1"),
            sensitive,
            failed,
            conflict("k-conflict"),
        ],
    )
    .await
    .unwrap();
    let request = || ListEventsRequest {
        run_id: run.id.clone(),
        ..Default::default()
    };

    let owner = h
        .events(request(), &user_bearer_in("acme", "ada@acme.test"))
        .await
        .unwrap();
    let plain = owner.events.iter().find(|e| e.key == "k-1").unwrap();
    assert_eq!(plain.changes[0].after, "\"250.50\"");
    assert!(!plain.changes[0].redacted);
    let secret = owner.events.iter().find(|e| e.key == "k-secret").unwrap();
    assert!(
        secret.changes[0].redacted
            && secret.changes[0].after.is_empty()
            && secret.changes[0].salesforce_value.is_empty()
            && secret.changes[0].monday_value.is_empty(),
        "even the owner: {secret:?}"
    );
    // Names, direction, both sides' values and the winner come back as appended.
    let both = owner.events.iter().find(|e| e.key == "k-conflict").unwrap();
    assert_eq!(
        (both.source_name.as_str(), both.target_name.as_str()),
        ("Acme deal", "Acme Deal")
    );
    assert_eq!(both.target_side, Side::Salesforce as i32);
    assert_eq!(
        both.changes[0],
        conflict("k-conflict").changes[0],
        "the owner sees the whole conflict"
    );
    // An event without a target side goes to the other side of its source.
    assert_eq!(plain.target_side, Side::Monday as i32);

    let colleague = h
        .events(request(), &user_bearer_in("acme", "bob@acme.test"))
        .await
        .unwrap();
    assert_eq!(
        colleague.events.len(),
        4,
        "actions are visible to the account"
    );
    for e in &colleague.events {
        for c in &e.changes {
            assert!(
                c.redacted
                    && c.before.is_empty()
                    && c.after.is_empty()
                    && c.salesforce_value.is_empty()
                    && c.monday_value.is_empty(),
                "{e:?}"
            );
            assert!(!c.field.is_empty(), "field names stay visible");
        }
    }
    let both = colleague
        .events
        .iter()
        .find(|e| e.key == "k-conflict")
        .unwrap();
    assert_eq!(
        (both.source_name.as_str(), both.changes[0].winner),
        ("Acme deal", Side::Monday as i32),
        "names and the winner stay visible"
    );
    let failed = colleague.events.iter().find(|e| e.key == "k-fail").unwrap();
    assert_eq!(
        failed.errors[0].message, "Name: data value too large",
        "errors are visible to all"
    );

    let pool = sqlx::PgPool::connect(h.db.url()).await.unwrap();
    let stored: String =
        sqlx::query_scalar("SELECT changes::text FROM history.events WHERE key = 'k-secret'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !stored.contains("123-45") && !stored.contains("987-65"),
        "sensitive values are never stored: {stored}"
    );
    pool.close().await;

    let outsider = h
        .events(request(), &user_bearer_in("globex", "hank@globex.test"))
        .await;
    assert_eq!(outsider.unwrap_err().code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_removes_exactly_what_is_older_than_the_retention() {
    let mut h = harness().await;
    let old = h.start_run("int-gone").await;
    let edge = h.start_run("int-1").await;
    let fresh = h.start_run("int-1").await;
    for run in [&old, &edge, &fresh] {
        let events = (0..1200)
            .map(|i| event(&format!("k{i}"), EventAction::Updated, "r"))
            .collect();
        h.append(&run.id, events).await.unwrap();
    }
    let pool = sqlx::PgPool::connect(h.db.url()).await.unwrap();
    // 21 days is the default retention: one run well past it, one just inside it.
    sqlx::query("UPDATE history.runs SET started_at = now() - interval '30 days' WHERE id = $1")
        .bind(old.id.parse::<uuid::Uuid>().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE history.runs SET started_at = now() - interval '20 days 23 hours' WHERE id = $1",
    )
    .bind(edge.id.parse::<uuid::Uuid>().unwrap())
    .execute(&pool)
    .await
    .unwrap();

    let user = h
        .client
        .purge_expired(authorized(
            PurgeExpiredRequest {},
            &user_bearer_in("acme", "ada@acme.test"),
        ))
        .await
        .unwrap_err();
    assert_eq!(user.code(), Code::PermissionDenied);

    let svc = h.svc.clone();
    let purged = h
        .client
        .purge_expired(authorized(PurgeExpiredRequest {}, &svc))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((purged.runs_deleted, purged.events_deleted), (1, 1200));
    let remaining: Vec<(uuid::Uuid,)> =
        sqlx::query_as("SELECT id FROM history.runs ORDER BY started_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    let remaining: Vec<String> = remaining.into_iter().map(|(id,)| id.to_string()).collect();
    assert_eq!(remaining, [edge.id.clone(), fresh.id.clone()]);
    assert_eq!(h.event_count().await, 2400);
    let again = h
        .client
        .purge_expired(authorized(PurgeExpiredRequest {}, &svc))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.runs_deleted, again.events_deleted), (0, 0));
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let mut h = harness().await;
    let run = h.start_run("int-1").await;
    let svc = h.svc.clone();

    let cases: Vec<(&str, Vec<RecordEvent>, Code, &str)> = vec![
        (
            "missing key",
            vec![
                event("k", EventAction::Created, "r"),
                event("", EventAction::Created, "r"),
            ],
            Code::InvalidArgument,
            "events[1].key",
        ),
        (
            "no action",
            vec![RecordEvent {
                key: "k".to_owned(),
                source_side: Side::Monday as i32,
                ..Default::default()
            }],
            Code::InvalidArgument,
            "events[0].action",
        ),
        (
            "no side",
            vec![RecordEvent {
                key: "k".to_owned(),
                action: EventAction::Created as i32,
                ..Default::default()
            }],
            Code::InvalidArgument,
            "events[0].source_side",
        ),
        (
            "unknown target side",
            vec![RecordEvent {
                target_side: 7,
                ..conflict("k")
            }],
            Code::InvalidArgument,
            "events[0].target_side",
        ),
        (
            "unknown winner",
            vec![{
                let mut e = conflict("k");
                e.changes[0].winner = 9;
                e
            }],
            Code::InvalidArgument,
            "events[0].changes[0].winner",
        ),
    ];
    for (case, events, code, field) in cases {
        let status = h.append(&run.id, events).await.unwrap_err();
        assert_eq!(status.code(), code, "{case}");
        assert!(
            status.message().contains(field),
            "{case}: {}",
            status.message()
        );
    }
    let too_many: Vec<RecordEvent> = (0..10_001)
        .map(|i| event(&format!("k{i}"), EventAction::Created, "r"))
        .collect();
    let status = h.append(&run.id, too_many).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("at most 10000"),
        "{}",
        status.message()
    );

    let unknown = h
        .append(
            &uuid::Uuid::new_v4().to_string(),
            vec![event("k", EventAction::Created, "r")],
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let malformed = h.append("not-a-uuid", vec![]).await.unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert!(malformed.message().contains("run_id"));
    assert_eq!(h.event_count().await, 0, "nothing was written");

    for (size, token, field) in [
        (Some(0), "", "page.page_size"),
        (Some(1_000_000), "", "page.page_size"),
        (None, "garbage", "page.page_token"),
    ] {
        let status = h
            .events(
                ListEventsRequest {
                    run_id: run.id.clone(),
                    page: page(size, token),
                    ..Default::default()
                },
                &h.owner.clone(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(status.message().contains(field), "{}", status.message());
        let status = h
            .client
            .list_runs(authorized(
                ListRunsRequest {
                    page: page(size, token),
                    ..Default::default()
                },
                &h.owner.clone(),
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
    }

    let user = user_bearer_in("acme", "ada@acme.test");
    let status = h
        .client
        .start_run(authorized(
            StartRunRequest {
                integration_id: "int-1".to_owned(),
                owner: "ada@acme.test".to_owned(),
                trigger: Trigger::Manual as i32,
                account: "acme".to_owned(),
            },
            &user,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::PermissionDenied,
        "users cannot write history"
    );
    let status = h
        .client
        .start_run(authorized(
            StartRunRequest {
                integration_id: "int-1".to_owned(),
                owner: "ada@acme.test".to_owned(),
                trigger: 0,
                account: "acme".to_owned(),
            },
            &svc,
        ))
        .await
        .unwrap_err();
    assert!(status.message().contains("trigger"));
}
