//! Two-way sync through every real service and both simulators.

use tandem_proto::v1 as pb;

use crate::stack::{ORG, start_stack, start_stack_with_scheduler};

#[tokio::test(flavor = "multi_thread")]
async fn edits_cross_both_ways_in_one_cycle_and_echoes_move_nothing() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    let opportunity = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": "Acme renewal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
        )
        .unwrap();
    let item = stack
        .monday
        .create_item(
            stack.board,
            None,
            "Beta expansion",
            serde_json::json!({"status": {"label": "Closed Won"}, "date4": {"date": "2027-01-15"}}),
        )
        .unwrap();

    // First cycle: each record is created on the other side.
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    assert_eq!(
        run.status,
        pb::RunStatus::Succeeded as i32,
        "{run:?} {events:#?}"
    );
    let created: Vec<&pb::RecordEvent> = events
        .iter()
        .filter(|e| e.action == pb::EventAction::Created as i32)
        .collect();
    assert_eq!(created.len(), 2, "{events:#?}");
    let new_item: i64 = created
        .iter()
        .find(|e| e.source_record_id == opportunity)
        .expect("the opportunity was created on monday")
        .target_record_id
        .parse()
        .unwrap();
    let new_opportunity = created
        .iter()
        .find(|e| e.source_record_id == item.to_string())
        .expect("the item was created in Salesforce")
        .target_record_id
        .clone();
    let monday_copy = stack.monday.item(new_item).unwrap();
    assert_eq!(monday_copy.name, "Acme renewal");
    assert_eq!(monday_copy.values["date4"]["date"], "2026-12-31");
    let sf_copy = stack.salesforce.record(ORG, &new_opportunity).unwrap();
    assert_eq!(sf_copy["Name"], "Beta expansion");
    assert_eq!(sf_copy["StageName"], "Closed Won");
    assert_eq!(sf_copy["CloseDate"], "2027-01-15");

    // An edit on each side crosses in one cycle.
    let admin = stack.salesforce.admin_user_id(ORG);
    stack
        .salesforce
        .update_as(
            ORG,
            &opportunity,
            serde_json::json!({"StageName": "Closed Won"}),
            &admin,
        )
        .unwrap();
    stack
        .monday
        .set_values(
            item,
            serde_json::json!({"status": {"label": "Closed Lost"}}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    assert_eq!(run.counters.as_ref().unwrap().updated, 2, "{events:#?}");
    let label = |id: i64| stack.monday.item(id).unwrap().values["status"].clone();
    assert_eq!(
        label(new_item)["index"],
        1,
        "Closed Won on monday: {:?}",
        label(new_item)
    );
    assert_eq!(
        stack.salesforce.record(ORG, &new_opportunity).unwrap()["StageName"],
        "Closed Lost"
    );

    // Our own writes come back on the next polls equal to the shadows: nothing moves.
    stack.salesforce.clear_calls();
    stack.monday.clear_requests();
    for _ in 0..2 {
        let run = stack.sync(&integration).await;
        let counters = run.counters.unwrap();
        assert_eq!(
            (counters.created, counters.updated, counters.failed),
            (0, 0, 0),
            "{run:?}"
        );
    }
    let sf_writes = stack
        .salesforce
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .count();
    assert_eq!(sf_writes, 0, "no Salesforce writes after convergence");
    let mo_writes = stack
        .monday
        .requests()
        .into_iter()
        .filter(|r| r.query.contains("mutation"))
        .count();
    assert_eq!(mo_writes, 0, "no monday mutations after convergence");

    // And a quiet cycle costs one poll per side: what it knows of both sides is reused.
    stack.salesforce.clear_calls();
    stack.monday.clear_requests();
    stack.sync(&integration).await;
    let sf_calls = stack.salesforce.calls();
    assert_eq!(sf_calls.len(), 1, "{sf_calls:?}");
    let mo_calls: Vec<String> = stack
        .monday
        .requests()
        .into_iter()
        .map(|r| r.query)
        .collect();
    assert_eq!(mo_calls.len(), 1, "{mo_calls:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_edits_to_one_item_between_cycles_make_one_salesforce_write_with_the_final_values() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    let item = stack
        .monday
        .create_item(stack.board, None, "Gamma", serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-02-01"}}))
        .unwrap();
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().created, 1);
    let status = stack
        .orchestrator
        .clone()
        .get_integration_status(tandem_testkit::authorized(
            pb::GetIntegrationStatusRequest {
                integration_id: integration.id.clone(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            status.state.as_str(),
            status.linked_records,
            status.pending_changes
        ),
        ("active", 1, 0)
    );

    for i in 0..50 {
        let label = ["Prospecting", "Closed Won", "Closed Lost"][i % 3];
        stack
            .monday
            .set_values(item, serde_json::json!({"status": {"label": label}, "date4": {"date": format!("2027-03-{:02}", i % 28 + 1)}}))
            .unwrap();
    }
    stack.salesforce.clear_calls();
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.as_ref().unwrap().updated, 1, "{run:?}");
    let writes: Vec<_> = stack
        .salesforce
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .collect();
    assert_eq!(writes.len(), 1, "one collection call: {writes:?}");
    assert!(writes[0].path.contains("composite/sobjects"), "{writes:?}");
    assert_eq!(
        stack.salesforce.calls().len(),
        2,
        "one poll and one write: the unchanged opportunity is not read"
    );
    let events = stack.events(&run).await;
    let opportunity = &events
        .iter()
        .find(|e| e.action == pb::EventAction::Updated as i32)
        .unwrap()
        .target_record_id;
    let record = stack.salesforce.record(ORG, opportunity).unwrap();
    // Edit 49 is the last: 49 % 3 = 1, 49 % 28 + 1 = 22.
    assert_eq!(
        (record["StageName"].as_str(), record["CloseDate"].as_str()),
        (Some("Closed Won"), Some("2027-03-22"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_edited_on_both_sides_goes_to_the_newer_edit_and_is_recorded_as_a_conflict() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    let opportunity = stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Delta", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let item: i64 = events[0].target_record_id.parse().unwrap();

    // Salesforce first, monday a few seconds later: monday's edit is the newer one.
    let admin = stack.salesforce.admin_user_id(ORG);
    stack
        .salesforce
        .update_as(
            ORG,
            &opportunity,
            serde_json::json!({"StageName": "Closed Lost"}),
            &admin,
        )
        .unwrap();
    // monday records when each status changed (`changed_at`): this one is a minute newer.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    stack
        .monday
        .set_raw_value(
            item,
            "status",
            Some(serde_json::json!({"index": 1, "changed_at": later})),
        )
        .unwrap();
    stack
        .monday
        .set_updated_at(item, time::OffsetDateTime::now_utc());
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let conflicts: Vec<_> = events
        .iter()
        .filter(|e| e.action == pb::EventAction::Conflict as i32)
        .collect();
    assert_eq!(conflicts.len(), 1, "{events:#?}");
    assert!(
        conflicts[0].reason.contains("StageName") && conflicts[0].reason.contains("monday won"),
        "{}",
        conflicts[0].reason
    );
    assert_eq!(
        stack.salesforce.record(ORG, &opportunity).unwrap()["StageName"],
        "Closed Won"
    );
    assert_eq!(
        stack.monday.item(item).unwrap().values["status"]["index"],
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_sync_while_one_runs_is_refused_not_doubled() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    // Slow Salesforce down so that two cycles asked for at once overlap.
    stack
        .salesforce
        .set_latency(std::time::Duration::from_millis(300));
    let ask = || {
        let mut orchestrator = stack.orchestrator.clone();
        let request = tandem_testkit::authorized(
            pb::SyncNowRequest {
                integration_id: integration.id.clone(),
            },
            &stack.bearer,
        );
        async move { orchestrator.sync_now(request).await }
    };
    let (a, b) = tokio::join!(ask(), ask());
    let (done, refused) = match (a, b) {
        (Ok(done), Err(refused)) | (Err(refused), Ok(done)) => (done, refused),
        other => panic!("exactly one of two overlapping cycles must run: {other:?}"),
    };
    assert_eq!(refused.code(), tonic::Code::Aborted, "{refused:?}");
    assert!(
        refused.message().contains("another replica"),
        "{}",
        refused.message()
    );
    assert!(!done.into_inner().run_id.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_record_is_unlinked_and_reported_never_deleted_on_the_other_side() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    let opportunity = stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Epsilon", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    let run = stack.sync(&integration).await;
    let item: i64 = stack.events(&run).await[0]
        .target_record_id
        .parse()
        .unwrap();

    stack.salesforce.delete(ORG, &opportunity).unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let unlinked: Vec<_> = events
        .iter()
        .filter(|e| e.action == pb::EventAction::Unlinked as i32)
        .collect();
    assert_eq!(unlinked.len(), 1, "{events:#?}");
    assert_eq!(
        (
            unlinked[0].source_record_id.as_str(),
            unlinked[0].target_record_id.clone()
        ),
        (opportunity.as_str(), item.to_string())
    );
    let kept = stack
        .monday
        .item(item)
        .expect("the monday item is not deleted");
    assert_eq!(kept.state, "active");
    // An edit of the unlinked item later does not resurrect the pair or create a duplicate.
    stack
        .monday
        .set_values(item, serde_json::json!({"status": {"label": "Closed Won"}}))
        .unwrap();
    let before = stack.salesforce.count(ORG, "Opportunity");
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().created, 0);
    assert_eq!(stack.salesforce.count(ORG, "Opportunity"), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_runs_a_new_integration_without_being_asked() {
    let stack = start_stack_with_scheduler(100).await;
    stack.salesforce.ensure_org(ORG);
    let zeta = stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Zeta", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    // Made long before the integration.
    stack
        .salesforce
        .force_fields(
            ORG,
            &zeta,
            serde_json::json!({"SystemModstamp": "2020-01-01T00:00:00.000+0000"}),
        )
        .unwrap();
    let integration = stack.integration().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let run = loop {
        if let Some(run) = finished_runs(&stack, &integration).await.into_iter().next() {
            break run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler never ran the integration"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(run.trigger, pb::Trigger::Schedule as i32);
    assert_eq!(run.status, pb::RunStatus::Succeeded as i32, "{run:?}");
    // The opportunity existed before the integration: only an import moves it.
    let counters = run.counters.unwrap();
    assert_eq!((counters.created, counters.updated), (0, 0), "{counters:?}");
    assert!(stack.monday.items(stack.board).is_empty());
}

/// Runs of `integration` that finished, newest first.
async fn finished_runs(stack: &crate::stack::Stack, integration: &pb::Integration) -> Vec<pb::Run> {
    stack
        .history
        .clone()
        .list_runs(tandem_testkit::authorized(
            pb::ListRunsRequest {
                integration_id: integration.id.clone(),
                ..Default::default()
            },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner()
        .runs
        .into_iter()
        .filter(|r| r.status != pb::RunStatus::Running as i32)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_borne_edit_crosses_in_seconds_in_low_latency_mode() {
    let stack = start_stack_with_scheduler(100).await;
    stack.salesforce.ensure_org(ORG);
    // Polling hourly: within this test only the webhook can bring the edit across.
    let integration = stack
        .integration_with(|spec| {
            spec.poll_interval_seconds = 3_600;
            spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
            spec.debounce_seconds = 1;
        })
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while finished_runs(&stack, &integration).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first scheduled cycle never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let item = stack
        .monday
        .create_item(stack.board, None, "Eta", serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-04-01"}}))
        .unwrap();
    stack.monday.register_webhook(
        stack.monday_account,
        stack.board,
        &stack.webhook_url,
        "change_column_value",
        None,
    );
    stack
        .monday
        .edit_item_as(
            stack.monday_user,
            item,
            serde_json::json!({"status": {"label": "Closed Won"}}),
        )
        .unwrap();
    // The write lands before its run is recorded as finished: wait for the record of it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let runs = loop {
        let runs = finished_runs(&stack, &integration).await;
        if runs.len() >= 2 {
            break runs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook-borne edit never started a cycle"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        runs.len(),
        2,
        "one first cycle, one for the webhook: {runs:?}"
    );
    let events = stack.events(&runs[0]).await;
    let created = events
        .iter()
        .find(|e| e.source_record_id == item.to_string())
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(
        stack
            .salesforce
            .record(ORG, &created.target_record_id)
            .unwrap()["StageName"],
        "Closed Won"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_integration_moves_nothing_until_its_owner_resumes_it() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Mu", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    let id = integration.id.clone();
    let mut orchestrator = stack.orchestrator.clone();
    let bob = tandem_testkit::user_bearer_in("acme", "bob@acme.test");
    let denied = orchestrator
        .pause_integration(tandem_testkit::authorized(
            pb::PauseIntegrationRequest {
                integration_id: id.clone(),
                reason: String::new(),
            },
            &bob,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");

    let paused = orchestrator
        .pause_integration(tandem_testkit::authorized(
            pb::PauseIntegrationRequest {
                integration_id: id.clone(),
                reason: "quarter-end freeze".into(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (paused.state.as_str(), paused.state_reason.as_str()),
        ("paused", "quarter-end freeze")
    );
    assert!(
        paused.next_run_at.is_none(),
        "a paused integration has no next run"
    );
    let refused = orchestrator
        .sync_now(tandem_testkit::authorized(
            pb::SyncNowRequest {
                integration_id: id.clone(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("quarter-end freeze"),
        "{}",
        refused.message()
    );

    let resumed = orchestrator
        .resume_integration(tandem_testkit::authorized(
            pb::ResumeIntegrationRequest {
                integration_id: id.clone(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (resumed.state.as_str(), resumed.state_reason.as_str()),
        ("active", "")
    );
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().created, 1);
    let status = orchestrator
        .get_integration_status(tandem_testkit::authorized(
            pb::GetIntegrationStatusRequest { integration_id: id },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.last_run_id, run.id);
    assert!(status.next_run_at.unwrap().seconds >= status.last_run_at.unwrap().seconds + 179);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_salesforce_owner_becomes_the_monday_person_with_the_same_email() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack
        .integration_with(|spec| {
            spec.mappings.push(pb::FieldMapping {
                monday_column_id: "owner".into(),
                salesforce_field: "OwnerId".into(),
                direction: pb::Direction::SalesforceToMonday as i32,
                options: None,
            });
        })
        .await;
    // The org's admin (every simulated org has one) also works on monday, under the same email.
    let person = stack.monday.add_user(
        stack.monday_account,
        "Ada Admin",
        &format!("admin@{ORG}.example.com"),
    );
    stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Nu", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    assert_eq!(run.counters.unwrap().created, 1, "{events:#?}");
    let item: i64 = events[0].target_record_id.parse().unwrap();
    let owner = &stack.monday.item(item).unwrap().values["owner"];
    assert_eq!(
        owner["personsAndTeams"][0]["id"].as_i64(),
        Some(person),
        "{owner}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn integrations_are_listed_by_board_for_webhook_routing() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let list = |board_id: String| {
        let mut config = stack.config.clone();
        let request = tandem_testkit::authorized(
            pb::ListIntegrationsRequest {
                active_only: true,
                board_id,
                changed_since: None,
                ..Default::default()
            },
            &tandem_testkit::service_bearer("sync-orchestrator"),
        );
        async move {
            config
                .list_integrations(request)
                .await
                .unwrap()
                .into_inner()
                .integrations
        }
    };
    let on_board = list(stack.board.to_string()).await;
    assert_eq!(
        on_board.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        [integration.id]
    );
    assert!(
        list("424242".to_owned()).await.is_empty(),
        "another board has none"
    );
}

/// A Salesforce datetime lands on a monday date as the org sees it: in the org's default time
/// zone, not in UTC (03:00 UTC on the 31st is still the 30th in Los Angeles).
#[tokio::test(flavor = "multi_thread")]
async fn datetimes_become_dates_in_the_orgs_time_zone() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let one_way = |column: &str, field: &str| pb::FieldMapping {
        monday_column_id: column.into(),
        salesforce_field: field.into(),
        direction: pb::Direction::SalesforceToMonday as i32,
        options: None,
    };
    // The integration first: records made before it cross only through an import.
    let integration = stack
        .integration_with(|spec| {
            spec.salesforce_object = "Project__c".into();
            spec.scope = pb::Scope::SalesforceToMonday as i32;
            spec.mappings = vec![one_way("name", "Name"), one_way("date4", "Kickoff_At__c")];
        })
        .await;
    stack
        .salesforce
        .set_org_time_zone(ORG, "America/Los_Angeles");
    stack
        .salesforce
        .insert(
            ORG,
            "Project__c",
            serde_json::json!({"Name": "Kickoff", "Summary__c": "late-night kickoff", "Kickoff_At__c": "2027-03-31T03:00:00.000+0000"}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    assert_eq!(
        run.status,
        pb::RunStatus::Succeeded as i32,
        "{:#?}",
        stack.events(&run).await
    );
    let items = stack.monday.items(stack.board);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].name, "Kickoff");
    assert_eq!(
        items[0].values["date4"]["date"], "2027-03-30",
        "the date in Los Angeles, not in UTC"
    );
}

/// A read-only monday column (a mirror of another board) reaches Salesforce as the text it
/// shows: its `value` is null by design, so the connector carries its display text.
#[tokio::test(flavor = "multi_thread")]
async fn a_mirror_columns_shown_text_reaches_salesforce() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    stack
        .monday
        .add_column(
            stack.board,
            "tier",
            "Account tier",
            "mirror",
            serde_json::json!({}),
        )
        .unwrap();
    // The integration first: records made before it cross only through an import.
    let integration = stack
        .integration_with(|spec| {
            spec.mappings.push(pb::FieldMapping {
                monday_column_id: "tier".into(),
                salesforce_field: "NextStep".into(),
                direction: pb::Direction::MondayToSalesforce as i32,
                options: None,
            });
        })
        .await;
    let item = stack
        .monday
        .create_item(
            stack.board,
            None,
            "Theta",
            serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-05-31"}, "tier": {"display_value": "Gold"}}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    assert_eq!(
        run.status,
        pb::RunStatus::Succeeded as i32,
        "{:#?}",
        stack.events(&run).await
    );
    let created = stack.events(&run).await[0].target_record_id.clone();
    assert_eq!(
        stack.salesforce.record(ORG, &created).unwrap()["NextStep"],
        "Gold"
    );
    // The mirrored value changes on its own board; the next cycle carries the new text.
    stack
        .monday
        .set_values(
            item,
            serde_json::json!({"tier": {"display_value": "Platinum"}}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    assert_eq!(
        run.counters.unwrap().updated,
        1,
        "{:#?}",
        stack.events(&run).await
    );
    assert_eq!(
        stack.salesforce.record(ORG, &created).unwrap()["NextStep"],
        "Platinum"
    );
}

/// Runs until `integration` has `n` finished runs (with a deadline).
async fn wait_for_runs(
    stack: &crate::stack::Stack,
    integration: &pb::Integration,
    n: usize,
) -> Vec<pb::Run> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let runs = finished_runs(stack, integration).await;
        if runs.len() >= n {
            return runs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} has {} finished runs, not {n}",
            integration.id,
            runs.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The scheduler runs cycles of different integrations side by side: a slow one (here every
/// Salesforce call takes 600 ms) holds up no other.
#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_runs_cycles_of_different_integrations_side_by_side() {
    let stack = start_stack_with_scheduler(100).await;
    stack.salesforce.ensure_org(ORG);
    let second_board = stack
        .monday
        .create_board(stack.monday_account, "Deals West");
    for (id, title, kind, settings) in [
        (
            "status",
            "Stage",
            "status",
            serde_json::json!({"labels": {"0": "Prospecting", "1": "Closed Won", "5": "Closed Lost"}}),
        ),
        ("date4", "Expected Close", "date", serde_json::json!({})),
    ] {
        stack
            .monday
            .add_column(second_board, id, title, kind, settings)
            .unwrap();
    }
    let mut integrations = Vec::new();
    let mut items = Vec::new();
    for board in [stack.board, second_board] {
        let integration = stack
            .integration_with(|spec| {
                spec.board_id = board.to_string();
                spec.poll_interval_seconds = 3_600;
                spec.coalescing_mode = pb::CoalescingMode::LowLatency as i32;
                spec.debounce_seconds = 1;
            })
            .await;
        wait_for_runs(&stack, &integration, 1).await;
        items.push(
            stack
                .monday
                .create_item(board, None, "Iota", serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-06-30"}}))
                .unwrap(),
        );
        stack.monday.register_webhook(
            stack.monday_account,
            board,
            &stack.webhook_url,
            "change_column_value",
            None,
        );
        integrations.push(integration);
    }
    // Both become due within the same second, and each cycle is slow.
    stack
        .salesforce
        .set_latency(std::time::Duration::from_millis(600));
    for item in &items {
        stack
            .monday
            .edit_item_as(
                stack.monday_user,
                *item,
                serde_json::json!({"status": {"label": "Closed Won"}}),
            )
            .unwrap();
    }
    let a = wait_for_runs(&stack, &integrations[0], 2).await;
    let b = wait_for_runs(&stack, &integrations[1], 2).await;
    let span = |runs: &[pb::Run]| {
        let run = runs
            .iter()
            .max_by_key(|r| r.started_at.as_ref().map(|t| (t.seconds, t.nanos)))
            .unwrap();
        let at = |t: Option<(i64, i32)>| {
            let (seconds, nanos) = t.unwrap();
            seconds * 1_000 + i64::from(nanos) / 1_000_000
        };
        (
            at(run.started_at.as_ref().map(|t| (t.seconds, t.nanos))),
            at(run.finished_at.as_ref().map(|t| (t.seconds, t.nanos))),
        )
    };
    let (a_start, a_end) = span(&a);
    let (b_start, b_end) = span(&b);
    assert!(
        a_start < b_end && b_start < a_end,
        "the two cycles ran one after the other: {a_start}..{a_end} and {b_start}..{b_end}"
    );
}

/// A checkbox's custom labels (a boolean shown as a status of the board's own words) reach the
/// other side: the orchestrator applies the same rules mapping-config validated.
#[tokio::test(flavor = "multi_thread")]
async fn custom_checkbox_labels_reach_the_other_side() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    stack
        .monday
        .add_column(
            stack.board,
            "billing",
            "Billing",
            "status",
            serde_json::json!({"labels": {"0": "Billable", "1": "Internal"}}),
        )
        .unwrap();
    let one_way =
        |column: &str, field: &str, options: Option<pb::ConversionOptions>| pb::FieldMapping {
            monday_column_id: column.into(),
            salesforce_field: field.into(),
            direction: pb::Direction::SalesforceToMonday as i32,
            options,
        };
    let integration = stack
        .integration_with(|spec| {
            spec.salesforce_object = "Project__c".into();
            spec.scope = pb::Scope::SalesforceToMonday as i32;
            spec.mappings = vec![
                one_way("name", "Name", None),
                one_way(
                    "billing",
                    "Is_Billable__c",
                    Some(pb::ConversionOptions {
                        true_label: "Billable".into(),
                        false_label: "Internal".into(),
                        ..Default::default()
                    }),
                ),
            ];
        })
        .await;
    for (name, billable) in [("Rollout", true), ("Offsite", false)] {
        stack
            .salesforce
            .insert(
                ORG,
                "Project__c",
                serde_json::json!({"Name": name, "Summary__c": name, "Is_Billable__c": billable}),
            )
            .unwrap();
    }
    let run = stack.sync(&integration).await;
    assert_eq!(
        run.status,
        pb::RunStatus::Succeeded as i32,
        "{:#?}",
        stack.events(&run).await
    );
    let label = |name: &str| {
        let items = stack.monday.items(stack.board);
        let item = items.iter().find(|i| i.name == name).unwrap();
        item.values["billing"]["index"].as_u64()
    };
    assert_eq!(label("Rollout"), Some(0), "true → Billable");
    assert_eq!(label("Offsite"), Some(1), "false → Internal");
}
