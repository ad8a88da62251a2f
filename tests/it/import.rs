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
