//! Two-way sync through every real service and both simulators.

use tandem_proto::v1 as pb;

use crate::stack::{ORG, start_stack};

#[tokio::test(flavor = "multi_thread")]
async fn edits_cross_both_ways_in_one_cycle_and_echoes_move_nothing() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
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
    let integration = stack.integration().await;

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
}
