//! Import (backfill): a dry run that writes nothing, then the import itself, re-linking pairs
//! from an earlier setup by the link key instead of duplicating them.

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use crate::stack::{ORG, start_stack};

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_writes_nothing_and_the_import_relinks_instead_of_duplicating() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let opportunity = |name: &str| {
        stack
            .salesforce
            .insert(ORG, "Opportunity", serde_json::json!({"Name": name, "StageName": "Closed Won", "CloseDate": "2026-12-31"}))
            .unwrap()
    };
    let (first, second, paired) = (
        opportunity("Theta"),
        opportunity("Iota"),
        opportunity("Kappa"),
    );
    // An item from an earlier setup already stands for "Kappa": it holds its Salesforce Id.
    let existing = stack
        .monday
        .create_item(
            stack.board,
            None,
            "Kappa (old)",
            serde_json::json!({"status": {"label": "Prospecting"}, "sfid": paired}),
        )
        .unwrap();
    let integration = stack
        .integration_with(|spec| {
            spec.link_monday_column_id = "sfid".into();
            spec.link_salesforce_field = "Id".into();
        })
        .await;
    let import = |dry_run: bool| {
        let mut orchestrator = stack.orchestrator.clone();
        let request = authorized(
            pb::ImportRequest {
                integration_id: integration.id.clone(),
                source: pb::Side::Salesforce as i32,
                dry_run,
                ..Default::default()
            },
            &stack.bearer,
        );
        async move {
            orchestrator
                .import(request)
                .await
                .unwrap()
                .into_inner()
                .run_id
        }
    };
    let run = |run_id: String| {
        let mut history = stack.history.clone();
        let request = authorized(pb::GetRunRequest { run_id }, &stack.bearer);
        async move { history.get_run(request).await.unwrap().into_inner() }
    };

    stack.salesforce.clear_calls();
    stack.monday.clear_requests();
    let dry = run(import(true).await).await;
    assert_eq!(dry.trigger, pb::Trigger::DryRun as i32);
    let events = stack.events(&dry).await;
    let would_create: Vec<_> = events
        .iter()
        .filter(|e| e.reason.contains("would create on monday"))
        .collect();
    assert_eq!(would_create.len(), 2, "{events:#?}");
    assert!(
        events
            .iter()
            .any(|e| e.source_record_id == paired && e.target_record_id == existing.to_string()),
        "{events:#?}"
    );
    assert_eq!(
        stack
            .salesforce
            .calls()
            .iter()
            .filter(|c| c.method != "GET")
            .count(),
        0,
        "the dry run wrote to Salesforce"
    );
    assert!(
        stack
            .monday
            .requests()
            .iter()
            .all(|r| !r.query.contains("mutation")),
        "the dry run wrote to monday"
    );
    assert_eq!(stack.monday.item(existing).unwrap().name, "Kappa (old)");

    let done = run(import(false).await).await;
    assert_eq!(done.trigger, pb::Trigger::Import as i32);
    let counters = done.counters.unwrap();
    assert_eq!(
        (counters.created, counters.updated, counters.failed),
        (2, 1, 0),
        "{:#?}",
        stack.events(&done).await
    );
    // The existing item took Salesforce's values instead of a duplicate being made.
    let kappa = stack.monday.item(existing).unwrap();
    assert_eq!(kappa.name, "Kappa");
    assert_eq!(kappa.values["status"]["index"], 1);
    let events = stack.events(&done).await;
    for source in [&first, &second] {
        assert!(
            events
                .iter()
                .any(|e| &e.source_record_id == source
                    && e.action == pb::EventAction::Created as i32)
        );
    }

    // Everything is linked: a second import skips all, and a cycle writes nothing.
    let again = run(import(false).await).await;
    assert_eq!(again.counters.unwrap().skipped, 3);
    let cycle = stack.sync(&integration).await;
    let counters = cycle.counters.unwrap();
    assert_eq!(
        (counters.created, counters.updated),
        (0, 0),
        "{:#?}",
        stack.events(&cycle).await
    );
}

/// A large import goes a page at a time and commits each page: killed half way (the replica
/// running it gone, as with SIGKILL), it is run again and resumes after the last page it
/// committed — every record crosses exactly once, and what was done is not read again.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_killed_half_way_resumes_from_its_last_page_and_duplicates_nothing() {
    const N: usize = 40;
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let records = (0..N)
        .map(|i| serde_json::json!({"Name": format!("Deal {i:02}"), "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .collect();
    stack
        .salesforce
        .insert_many(ORG, "Opportunity", records)
        .unwrap();
    let integration = stack.integration().await;
    let replica = stack
        .replica(sync_orchestrator::Options {
            scheduler_tick_ms: 0,
            lease_ms: 1_000,
            import_page_size: 10,
            ..Default::default()
        })
        .await;
    let mut on_replica = replica.client().await;
    // monday slow enough that the import is caught between two pages.
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: 1_000,
        ..Default::default()
    });
    let request = || {
        authorized(
            pb::ImportRequest {
                integration_id: integration.id.clone(),
                source: pb::Side::Salesforce as i32,
                ..Default::default()
            },
            &stack.bearer,
        )
    };
    let first = request();
    let running = tokio::spawn(async move { on_replica.import(first).await });
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let pages: Option<i32> =
            sqlx::query_scalar("SELECT pages FROM sync.import_progress WHERE integration_id = $1")
                .bind(&integration.id)
                .fetch_optional(&pool)
                .await
                .unwrap();
        if pages.is_some_and(|p| p >= 2) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import never committed two pages"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    replica.kill();
    let _ = running.await;
    stack.monday.set_faults(monday_sim::Faults::default());
    let linked_before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sync.links WHERE integration_id = $1 AND unlinked_at IS NULL",
    )
    .bind(&integration.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!((10..N as i64).contains(&linked_before), "{linked_before}");
    // The status shows the import that stopped: what it did of how many.
    let status = |stack: &crate::stack::Stack| {
        let mut orchestrator = stack.orchestrator.clone();
        let request = authorized(
            pb::GetIntegrationStatusRequest {
                integration_id: integration.id.clone(),
            },
            &stack.bearer,
        );
        async move {
            orchestrator
                .get_integration_status(request)
                .await
                .unwrap()
                .into_inner()
        }
    };
    let stopped = status(&stack).await.import.expect("an import in progress");
    assert_eq!(
        (
            stopped.source,
            stopped.records_done as i64,
            stopped.records_total
        ),
        (pb::Side::Salesforce as i32, linked_before, N as u64)
    );

    // Run again (once the dead replica's lease ran out): it resumes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let run_id = loop {
        match stack.orchestrator.clone().import(request()).await {
            Ok(answer) => break answer.into_inner().run_id,
            Err(e) if e.code() == tonic::Code::Aborted => {
                assert!(std::time::Instant::now() < deadline, "{e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    let run = stack.run(&run_id).await;
    assert_eq!(run.status, pb::RunStatus::Succeeded as i32, "{run:?}");
    let read = run.counters.unwrap().read as i64;
    assert!(
        read < N as i64 && read >= N as i64 - linked_before,
        "the resumed import read {read} records; {linked_before} were linked before"
    );
    let items = stack.monday.items(stack.board);
    let names: std::collections::BTreeSet<&str> = items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        (items.len(), names.len()),
        (N, N),
        "each opportunity once on the board"
    );
    let linked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sync.links WHERE integration_id = $1 AND unlinked_at IS NULL",
    )
    .bind(&integration.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(linked, N as i64);
    let left: Option<i32> =
        sqlx::query_scalar("SELECT pages FROM sync.import_progress WHERE integration_id = $1")
            .bind(&integration.id)
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert_eq!(left, None, "a finished import leaves no progress behind");
    assert_eq!(status(&stack).await.import, None);
}

/// An import of more monday items than the Bulk threshold goes to Salesforce as Bulk API 2.0
/// ingest jobs, not collections: every item crosses once, links and all, and importing again
/// finds them linked.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_import_into_salesforce_goes_through_bulk_jobs_and_duplicates_nothing() {
    const N: usize = 60;
    let stack = crate::stack::start_stack_with(|config| {
        config.salesforce_bulk_write_threshold = 50;
    })
    .await;
    stack.salesforce.ensure_org(ORG);
    for i in 0..N {
        stack
            .monday
            .create_item(
                stack.board,
                None,
                &format!("Item {i:02}"),
                serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2026-12-31"}}),
            )
            .unwrap();
    }
    let integration = stack.integration().await;
    let import = || {
        let mut orchestrator = stack.orchestrator.clone();
        let request = authorized(
            pb::ImportRequest {
                integration_id: integration.id.clone(),
                source: pb::Side::Monday as i32,
                ..Default::default()
            },
            &stack.bearer,
        );
        async move { orchestrator.import(request).await.unwrap().into_inner() }
    };
    stack.salesforce.clear_calls();
    let run = stack.run(&import().await.run_id).await;
    assert_eq!(run.status, pb::RunStatus::Succeeded as i32, "{run:?}");
    assert_eq!(run.counters.unwrap().created, N as u64);
    assert!(
        stack.salesforce.count_calls("POST", "/jobs/ingest") >= 1,
        "an ingest job was made"
    );
    assert_eq!(
        stack.salesforce.count_calls("POST", "/composite/sobjects"),
        0,
        "no collections"
    );
    let names: std::collections::BTreeSet<String> = stack
        .salesforce
        .records(ORG, "Opportunity")
        .iter()
        .map(|r| r["Name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names.len(), N, "each item once in Salesforce");
    assert_eq!(stack.salesforce.count(ORG, "Opportunity"), N);
    let again = stack.run(&import().await.run_id).await;
    let c = again.counters.unwrap();
    assert_eq!((c.created, c.skipped), (0, N as u64), "all already linked");
}

/// An import lasts as long as it needs: a caller that gives up does not cut it short, and a
/// detached one is answered as soon as the run is open.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_goes_on_when_its_caller_leaves_and_a_detached_one_is_answered_at_once() {
    use std::time::{Duration, Instant};
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let opportunities = |from: usize, to: usize| {
        for i in from..to {
            stack
                .salesforce
                .insert(
                    ORG,
                    "Opportunity",
                    serde_json::json!({"Name": format!("Deal {i}"), "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
                )
                .unwrap();
        }
    };
    opportunities(0, 40);
    let integration = stack.integration().await;
    // Every Salesforce call takes 100 ms: an import lasts longer than its callers wait.
    stack.salesforce.set_latency(Duration::from_millis(100));
    let request = |detach: bool| {
        authorized(
            pb::ImportRequest {
                integration_id: integration.id.clone(),
                source: pb::Side::Salesforce as i32,
                detach,
                ..Default::default()
            },
            &stack.bearer,
        )
    };

    let mut impatient = request(false);
    impatient.set_timeout(Duration::from_millis(50));
    let gone = stack.orchestrator.clone().import(impatient).await;
    assert!(gone.is_err(), "{gone:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let first = loop {
        let runs = stack.runs(&integration).await;
        if let Some(run) = runs.iter().find(|r| {
            r.trigger == pb::Trigger::Import as i32 && r.status != pb::RunStatus::Running as i32
        }) {
            break run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the import never finished: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(first.status, pb::RunStatus::Succeeded as i32, "{first:?}");
    assert_eq!(first.counters.unwrap_or_default().created, 40, "{first:?}");
    assert_eq!(stack.monday.items(stack.board).len(), 40);

    opportunities(40, 45);
    let answered = Instant::now();
    let run_id = stack
        .orchestrator
        .clone()
        .import(request(true))
        .await
        .unwrap()
        .into_inner()
        .run_id;
    let open = stack.run(&run_id).await;
    assert_eq!(
        open.status,
        pb::RunStatus::Running as i32,
        "answered after {:?}",
        answered.elapsed()
    );
    let second = stack.finished_run(&run_id).await;
    assert_eq!(second.status, pb::RunStatus::Succeeded as i32, "{second:?}");
    assert_eq!(second.counters.unwrap_or_default().created, 5, "{second:?}");
    assert_eq!(stack.monday.items(stack.board).len(), 45);
}

/// An import of more Salesforce records than the Bulk query threshold reads them through
/// Bulk API 2.0 query jobs, a page of results at a time: every record crosses once, and
/// importing again finds them linked.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_import_from_salesforce_reads_through_bulk_queries_and_duplicates_nothing() {
    const N: usize = 60;
    let stack = crate::stack::start_stack_with(|config| {
        config.salesforce_bulk_query_threshold = 50;
    })
    .await;
    stack.salesforce.ensure_org(ORG);
    for i in 0..N {
        stack
            .salesforce
            .insert(
                ORG,
                "Opportunity",
                serde_json::json!({"Name": format!("Bulk {i:02}"), "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
            )
            .unwrap();
    }
    let integration = stack.integration().await;
    stack.salesforce.clear_calls();
    let run = stack
        .import(&integration, pb::Side::Salesforce, false, None)
        .await;
    assert_eq!(run.status, pb::RunStatus::Succeeded as i32, "{run:?}");
    assert_eq!(run.counters.unwrap().created, N as u64, "{run:?}");
    assert_eq!(
        stack.salesforce.count_calls("POST", "/jobs/query"),
        1,
        "one query job"
    );
    let names: std::collections::BTreeSet<String> = stack
        .monday
        .items(stack.board)
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names.len(), N, "each record once on monday");
    assert_eq!(stack.monday.items(stack.board).len(), N);
    let again = stack
        .import(&integration, pb::Side::Salesforce, false, None)
        .await;
    let c = again.counters.unwrap();
    assert_eq!((c.created, c.skipped), (0, N as u64), "all already linked");
}
