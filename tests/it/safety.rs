//! Never a duplicate, never a lost change: the paths a new user takes that once duplicated
//! records, dropped failed ones or reverted a newer edit, each end to end.

use tandem_proto::v1 as pb;

use crate::stack::{ORG, start_stack, start_stack_with};

fn opportunity(stack: &crate::stack::Stack, name: &str) -> String {
    stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap()
}

/// The monday item a run created for Salesforce record `id`, from its events.
fn monday_partner(events: &[pb::RecordEvent], id: &str) -> i64 {
    events
        .iter()
        .find(|e| e.source_record_id == id && !e.target_record_id.is_empty())
        .unwrap_or_else(|| panic!("{id} crossed: {events:#?}"))
        .target_record_id
        .parse()
        .unwrap()
}

/// Mutations monday-sim served since its request log was last cleared.
fn monday_mutations(stack: &crate::stack::Stack) -> usize {
    stack
        .monday
        .requests()
        .iter()
        .filter(|r| r.query.contains("mutation"))
        .count()
}

fn item(stack: &crate::stack::Stack, name: &str) -> i64 {
    stack
        .monday
        .create_item(stack.board, None, name, serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2026-12-31"}}))
        .unwrap()
}

/// Records on both sides from before the integration: its cycles leave them alone, and an
/// import matching them by name links every pair and creates only what has no partner.
#[tokio::test(flavor = "multi_thread")]
async fn an_import_matching_by_name_links_what_existed_before_and_duplicates_nothing() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let both = ["Acme renewal", "Beta expansion", "Gamma pilot"];
    let mut pairs = Vec::new();
    for name in both {
        pairs.push((
            opportunity(&stack, name),
            item(&stack, &name.to_uppercase()),
        ));
    }
    let only_in_salesforce = opportunity(&stack, "Delta upsell");
    // Made well before the integration, as existing data is.
    for (opportunity, item) in &pairs {
        stack
            .salesforce
            .force_fields(
                ORG,
                opportunity,
                serde_json::json!({"SystemModstamp": "2020-01-01T00:00:00.000+0000"}),
            )
            .unwrap();
        stack
            .monday
            .set_updated_at(*item, time::OffsetDateTime::UNIX_EPOCH);
    }
    stack
        .salesforce
        .force_fields(
            ORG,
            &only_in_salesforce,
            serde_json::json!({"SystemModstamp": "2020-01-01T00:00:00.000+0000"}),
        )
        .unwrap();
    let integration = stack.integration().await;

    // The first cycles create nothing for records that existed before the integration.
    for _ in 0..2 {
        let run = stack.sync(&integration).await;
        let c = run.counters.unwrap();
        assert_eq!((c.created, c.updated), (0, 0), "{c:?}");
    }
    assert_eq!(stack.monday.items(stack.board).len(), 3);

    // A dry run says what the import would do, and does nothing.
    let dry = stack
        .import(
            &integration,
            pb::Side::Salesforce,
            true,
            Some(("name", "Name")),
        )
        .await;
    let events = stack.events(&dry).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.reason.contains("would create on monday"))
            .count(),
        1,
        "{events:#?}"
    );
    assert_eq!(stack.monday.items(stack.board).len(), 3);

    let run = stack
        .import(
            &integration,
            pb::Side::Salesforce,
            false,
            Some(("name", "Name")),
        )
        .await;
    let c = run.counters.unwrap();
    assert_eq!(
        (c.created, c.failed),
        (1, 0),
        "{:#?}",
        stack.events(&run).await
    );
    assert_eq!(
        stack.monday.items(stack.board).len(),
        4,
        "one item for Delta only"
    );
    assert_eq!(stack.status(&integration).await.linked_records, 4);
    for (_, item) in &pairs {
        let name = stack.monday.item(*item).unwrap().name;
        assert!(
            both.contains(&name.as_str()),
            "the existing item took Salesforce's name: {name}"
        );
    }
    // Again, from the other side: everything is linked already, nothing is made.
    let again = stack
        .import(
            &integration,
            pb::Side::Monday,
            false,
            Some(("name", "Name")),
        )
        .await;
    assert_eq!(again.counters.unwrap().created, 0);
    let sync = stack.sync(&integration).await.counters.unwrap();
    assert_eq!((sync.created, sync.updated), (0, 0));
}

/// A value that cannot be converted fails its field, not the record; the record is retried
/// on every following cycle, and once the user fixes the mapping it crosses on the next cycle
/// without an import or an edit.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_field_is_retried_and_crosses_once_the_mapping_is_fixed() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack
        .integration_with(|spec| {
            spec.mappings.push(pb::FieldMapping {
                monday_column_id: "sfid".into(),
                salesforce_field: "Amount".into(),
                direction: pb::Direction::MondayToSalesforce as i32,
                options: None,
            });
        })
        .await;
    let item = stack
        .monday
        .create_item(stack.board, None, "Omega", serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-02-28"}, "sfid": "twelve hundred"}))
        .unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    assert_eq!(
        run.status,
        pb::RunStatus::PartiallyFailed as i32,
        "{events:#?}"
    );
    let created = events
        .iter()
        .find(|e| e.action == pb::EventAction::Created as i32)
        .unwrap_or_else(|| panic!("the other fields crossed: {events:#?}"));
    let failed = events
        .iter()
        .find(|e| e.action == pb::EventAction::Failed as i32)
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(failed.source_record_id, item.to_string());
    assert!(
        failed
            .errors
            .iter()
            .any(|e| e.fields.contains(&"Amount".to_owned())),
        "the failure names the field: {failed:#?}"
    );
    let opportunity = created.target_record_id.clone();
    let record = stack.salesforce.record(ORG, &opportunity).unwrap();
    assert_eq!(record["Name"], "Omega");
    assert!(record["Amount"].is_null());
    assert_eq!(stack.status(&integration).await.failing_records, 1);

    // Retried on the next cycle (still failing: nothing was fixed).
    let run = stack.sync(&integration).await;
    assert_eq!(
        run.counters.unwrap().failed,
        1,
        "{:#?}",
        stack.events(&run).await
    );

    // The user maps the column to a text field instead: the next cycle carries it.
    let integration = stack
        .update(&integration, |spec| {
            spec.mappings.last_mut().unwrap().salesforce_field = "NextStep".into();
        })
        .await;
    let run = stack.sync(&integration).await;
    let c = run.counters.unwrap();
    assert_eq!(
        (c.updated, c.failed),
        (1, 0),
        "{:#?}",
        stack.events(&run).await
    );
    assert_eq!(
        stack.salesforce.record(ORG, &opportunity).unwrap()["NextStep"],
        "twelve hundred"
    );
    assert_eq!(stack.status(&integration).await.failing_records, 0);
    let quiet = stack.sync(&integration).await.counters.unwrap();
    assert_eq!((quiet.created, quiet.updated, quiet.failed), (0, 0, 0));
}

/// A run that wrote to Salesforce and then failed before committing: its write comes back on
/// the next poll, and it is recognised as the run's own — the user's newer edit on monday
/// still wins, even when the conflict policy favours Salesforce.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_runs_own_write_is_not_taken_for_a_newer_change() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack
        .integration_with(|spec| spec.conflict_policy = pb::ConflictPolicy::SalesforceWins as i32)
        .await;
    let first = item(&stack, "First");
    let second = opportunity(&stack, "Second");
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().created, 2);
    let events = stack.events(&run).await;
    let partner_of_first = events
        .iter()
        .find(|e| e.source_record_id == first.to_string())
        .unwrap()
        .target_record_id
        .clone();
    let partner_of_second: i64 = events
        .iter()
        .find(|e| e.source_record_id == second)
        .unwrap()
        .target_record_id
        .parse()
        .unwrap();

    // The user moves First's stage on monday and renames Second in Salesforce. The next run
    // writes First to Salesforce; while its monday write is slow, another replica takes the
    // lease over, so the run commits nothing.
    stack
        .monday
        .set_values(
            first,
            serde_json::json!({"status": {"label": "Closed Won"}}),
        )
        .unwrap();
    let admin = stack.salesforce.admin_user_id(ORG);
    stack
        .salesforce
        .update_as(
            ORG,
            &second,
            serde_json::json!({"Name": "Second, renamed"}),
            &admin,
        )
        .unwrap();
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: 1_500,
        ..Default::default()
    });
    let running = stack.sync_in_background(&integration);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while stack.salesforce.record(ORG, &partner_of_first).unwrap()["StageName"] != "Closed Won" {
        assert!(
            std::time::Instant::now() < deadline,
            "the Salesforce write never landed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sqlx::query("UPDATE sync.leases SET epoch = epoch + 1")
        .execute(&pool)
        .await
        .unwrap();
    let refused = running.await.unwrap().expect_err("the run lost its lease");
    assert_eq!(refused.code(), tonic::Code::Aborted, "{refused:?}");
    stack.monday.set_faults(monday_sim::Faults::default());

    // The user moves First's stage again; the next run must carry that, not revert it.
    stack
        .monday
        .set_values(
            first,
            serde_json::json!({"status": {"label": "Closed Lost"}}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    assert_eq!(run.status, pb::RunStatus::Succeeded as i32, "{events:#?}");
    assert!(
        events
            .iter()
            .all(|e| e.action != pb::EventAction::Conflict as i32),
        "{events:#?}"
    );
    assert_eq!(
        stack.monday.item(first).unwrap().values["status"]["index"],
        5
    );
    assert_eq!(
        stack.salesforce.record(ORG, &partner_of_first).unwrap()["StageName"],
        "Closed Lost"
    );
    assert_eq!(
        stack.monday.item(partner_of_second).unwrap().name,
        "Second, renamed"
    );
}

/// A remote that refuses while the run reads what it needs (the describe, the people) leaves
/// a failed run in history with the remote's message, not nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_fails_before_it_starts_is_in_the_history() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    stack.salesforce.fail_next(50, 503);
    let refused = stack
        .orchestrator
        .clone()
        .sync_now(tandem_testkit::authorized(
            pb::SyncNowRequest {
                integration_id: integration.id.clone(),
            },
            &stack.bearer,
        ))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    stack.salesforce.clear_faults();
    let runs = stack
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
        .runs;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].status, pb::RunStatus::Failed as i32);
    assert!(!runs[0].error.is_empty(), "{runs:#?}");
}

/// A monday item deleted or archived by a user, with no webhook to say so: the next write
/// into it finds out, the link ends with an event, and nothing is written to it again.
#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_or_archived_partner_is_unlinked_and_never_written_again() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let deleted = opportunity(&stack, "Sigma");
    let archived = opportunity(&stack, "Tau");
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().created, 2);
    let events = stack.events(&run).await;
    let partner = |id: &str| monday_partner(&events, id);
    stack.monday.set_item_state(partner(&deleted), "deleted");
    stack.monday.set_item_state(partner(&archived), "archived");

    let admin = stack.salesforce.admin_user_id(ORG);
    let edit = |id: &str, stage: &str| {
        stack
            .salesforce
            .update_as(ORG, id, serde_json::json!({"StageName": stage}), &admin)
            .unwrap();
    };
    edit(&deleted, "Closed Won");
    edit(&archived, "Closed Won");
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let unlinked: Vec<&pb::RecordEvent> = events
        .iter()
        .filter(|e| e.action == pb::EventAction::Unlinked as i32)
        .collect();
    assert_eq!(unlinked.len(), 2, "{events:#?}");
    assert_eq!(run.counters.unwrap().failed, 0, "{events:#?}");
    assert_eq!(stack.status(&integration).await.linked_records, 0);
    assert_eq!(stack.status(&integration).await.failing_records, 0);

    // Later edits write nothing to monday.
    edit(&deleted, "Closed Lost");
    edit(&archived, "Closed Lost");
    stack.monday.clear_requests();
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().failed, 0);
    assert_eq!(
        monday_mutations(&stack),
        0,
        "nothing is written to a partner that is gone"
    );
    assert_eq!(
        stack.monday.item(partner(&archived)).unwrap().values["status"]["index"],
        1,
        "the archived item kept what it had when it was found archived"
    );
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        2,
        "deletions are never propagated"
    );
}

/// Created paused, an integration lets its owner preview an import: the dry run runs and says
/// what it would do, nothing is written, nothing syncs until resumed.
#[tokio::test(flavor = "multi_thread")]
async fn an_integration_created_paused_previews_an_import_and_moves_nothing() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let existing = opportunity(&stack, "Upsilon");
    stack
        .salesforce
        .force_fields(
            ORG,
            &existing,
            serde_json::json!({"SystemModstamp": "2020-01-01T00:00:00.000+0000"}),
        )
        .unwrap();
    let integration = stack.integration_paused_with(|_| {}).await;
    assert_eq!(integration.state(), pb::IntegrationState::Paused);
    stack.salesforce.clear_calls();
    stack.monday.clear_requests();
    let dry = stack
        .import(&integration, pb::Side::Salesforce, true, None)
        .await;
    assert_eq!(dry.status, pb::RunStatus::Succeeded as i32, "{dry:?}");
    let events = stack.events(&dry).await;
    assert!(
        events
            .iter()
            .any(|e| e.source_record_id == existing && e.reason.contains("would create on monday")),
        "{events:#?}"
    );
    let refused = stack
        .orchestrator
        .clone()
        .sync_now(tandem_testkit::authorized(
            pb::SyncNowRequest {
                integration_id: integration.id.clone(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert!(stack.salesforce.calls().iter().all(|c| c.method == "GET"));
    assert_eq!(monday_mutations(&stack), 0);
    assert!(stack.monday.items(stack.board).is_empty());
}

/// Without a webhook and without a write into it, a deleted or archived monday item is found
/// by the sweep of linked items: the link ends with an event, the Salesforce record stays.
#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_finds_a_deleted_item_no_poll_returns() {
    let stack = start_stack_with(|config| config.deletion_sweep_seconds = 0).await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let kept = opportunity(&stack, "Phi");
    let deleted = opportunity(&stack, "Chi");
    let archived = opportunity(&stack, "Psi");
    let run = stack.sync(&integration).await;
    assert_eq!(run.counters.unwrap().created, 3);
    let events = stack.events(&run).await;
    let partner = |id: &str| monday_partner(&events, id);
    stack.monday.set_item_state(partner(&deleted), "deleted");
    stack.monday.set_item_state(partner(&archived), "archived");
    stack.monday.clear_requests();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let unlinked: Vec<&str> = events
        .iter()
        .filter(|e| e.action == pb::EventAction::Unlinked as i32)
        .map(|e| e.target_record_id.as_str())
        .collect();
    assert_eq!(unlinked.len(), 2, "{events:#?}");
    assert!(unlinked.contains(&deleted.as_str()) && unlinked.contains(&archived.as_str()));
    assert_eq!(monday_mutations(&stack), 0, "nothing was written");
    assert_eq!(stack.status(&integration).await.linked_records, 1);
    assert!(stack.salesforce.record(ORG, &kept).is_some());
    assert_eq!(stack.salesforce.count(ORG, "Opportunity"), 3);
}

/// With a link key, a record from before the integration that changes is paired with the
/// other side's record its key names, even though that one did not change (no poll returned
/// it): found by its key, not duplicated by a create.
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_record_finds_its_unchanged_partner_by_the_link_key() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let old = "2020-01-01T00:00:00.000+0000";
    let mut pairs = Vec::new();
    for name in ["Omicron", "Rho"] {
        let opportunity = opportunity(&stack, name);
        let item = stack
            .monday
            .create_item(stack.board, None, name, serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2026-12-31"}, "sfid": opportunity}))
            .unwrap();
        stack
            .salesforce
            .force_fields(
                ORG,
                &opportunity,
                serde_json::json!({"SystemModstamp": old}),
            )
            .unwrap();
        stack
            .monday
            .set_updated_at(item, time::OffsetDateTime::UNIX_EPOCH);
        pairs.push((opportunity, item));
    }
    let integration = stack
        .integration_with(|spec| {
            spec.link_monday_column_id = "sfid".into();
            spec.link_salesforce_field = "Id".into();
        })
        .await;
    // One changes in Salesforce, the other on monday.
    let admin = stack.salesforce.admin_user_id(ORG);
    stack
        .salesforce
        .update_as(
            ORG,
            &pairs[0].0,
            serde_json::json!({"StageName": "Closed Won"}),
            &admin,
        )
        .unwrap();
    stack
        .monday
        .set_values(
            pairs[1].1,
            serde_json::json!({"status": {"label": "Closed Lost"}}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let c = run.counters.unwrap();
    assert_eq!((c.created, c.failed), (0, 0), "{events:#?}");
    assert_eq!(
        stack.monday.items(stack.board).len(),
        2,
        "no copy on monday"
    );
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        2,
        "no copy in Salesforce"
    );
    assert_eq!(stack.status(&integration).await.linked_records, 2);
    assert_eq!(
        stack.monday.item(pairs[0].1).unwrap().values["status"]["index"],
        1,
        "Closed Won reached the existing item"
    );
    assert_eq!(
        stack.salesforce.record(ORG, &pairs[1].0).unwrap()["StageName"],
        "Closed Lost"
    );
    let quiet = stack.sync(&integration).await.counters.unwrap();
    assert_eq!((quiet.created, quiet.updated), (0, 0));
}

/// An item from an earlier setup whose link key names a Salesforce record deleted since is
/// that record's partner: the pair ends with an event, and neither a retry nor a later edit of
/// the item makes a new record in Salesforce (deletions are not propagated, in either way).
#[tokio::test(flavor = "multi_thread")]
async fn an_item_whose_key_names_a_deleted_record_is_unlinked_and_never_created_anew() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let opportunity = opportunity(&stack, "Sigma");
    let item = stack
        .monday
        .create_item(stack.board, None, "Sigma", serde_json::json!({"status": {"label": "Prospecting"}, "date4": {"date": "2026-12-31"}, "sfid": opportunity}))
        .unwrap();
    let integration = stack
        .integration_with(|spec| {
            spec.link_monday_column_id = "sfid".into();
            spec.link_salesforce_field = "Id".into();
        })
        .await;
    stack.salesforce.delete(ORG, &opportunity).unwrap();
    let edit = |stage: &str| {
        stack
            .monday
            .set_values(item, serde_json::json!({"status": {"label": stage}}))
            .unwrap()
    };
    edit("Closed Won");
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    assert!(
        events
            .iter()
            .any(|e| e.action == pb::EventAction::Unlinked as i32),
        "{events:#?}"
    );
    for _ in 0..2 {
        stack.sync(&integration).await;
    }
    edit("Closed Lost");
    stack.sync(&integration).await;
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        0,
        "nothing made anew: {:?}",
        stack.salesforce.records(ORG, "Opportunity")
    );
}

/// A record failing on one field stays failing while its retry waits out its backoff, even
/// when its partner changes meanwhile (a cycle then takes the failing side as unchanged, which
/// is no sign that it crossed): once the mapping is fixed, it crosses.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_record_is_not_forgotten_when_its_partner_changes_during_its_backoff() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    // monday's board lacks "Qualification": the stage fails, the rest crosses.
    let opportunity = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": "Tau", "StageName": "Qualification", "CloseDate": "2027-01-31"}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    let item = monday_partner(&events, &opportunity);
    // Retried at once twice, then it waits a minute.
    for _ in 0..3 {
        stack.sync(&integration).await;
    }
    assert_eq!(stack.status(&integration).await.failing_records, 1);
    stack
        .monday
        .set_values(item, serde_json::json!({"date4": {"date": "2027-03-31"}}))
        .unwrap();
    stack.sync(&integration).await;
    assert_eq!(
        stack.status(&integration).await.failing_records,
        1,
        "the stage has not crossed: it is still failing"
    );
    let integration = stack
        .update(&integration, |spec| {
            for m in &mut spec.mappings {
                if m.monday_column_id == "status" {
                    m.options = Some(pb::ConversionOptions {
                        create_missing_labels: true,
                        ..Default::default()
                    });
                }
            }
        })
        .await;
    stack.sync(&integration).await;
    assert_eq!(stack.status(&integration).await.failing_records, 0);
    let status = &stack.monday.item(item).unwrap().values["status"];
    assert!(status["index"].is_u64(), "the stage crossed: {status}");
}
