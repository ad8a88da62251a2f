//! People who exist on one side only.

use tandem_proto::v1 as pb;

use crate::stack::{ORG, start_stack};

/// Journey seed 111: a monday item whose owner has no Salesforce user is created in
/// Salesforce without `OwnerId`, and Salesforce makes its API user the owner. That default is
/// not a user's edit: with Salesforce winning conflicts it used to be written over the monday
/// person on the next cycle, losing the value the user set.
#[tokio::test(flavor = "multi_thread")]
async fn a_salesforce_default_owner_is_not_written_over_a_monday_person_it_could_not_hold() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack
        .integration_with(|spec| {
            spec.conflict_policy = pb::ConflictPolicy::SalesforceWins as i32;
            spec.mappings.push(pb::FieldMapping {
                monday_column_id: "owner".into(),
                salesforce_field: "OwnerId".into(),
                direction: pb::Direction::Both as i32,
                options: None,
            });
        })
        .await;
    // The org's admin, Salesforce's default owner, is on monday too; Mo is on monday only.
    stack.monday.add_user(
        stack.monday_account,
        "Ada Admin",
        &format!("admin@{ORG}.example.com"),
    );
    let mo = stack
        .monday
        .add_user(stack.monday_account, "Mo Only", "mo@monday-only.test");
    let item = stack
        .monday
        .create_item(
            stack.board,
            None,
            "Mo's deal",
            serde_json::json!({
                "status": {"label": "Prospecting"}, "date4": {"date": "2026-12-31"},
                "owner": {"personsAndTeams": [{"id": mo, "kind": "person"}]},
            }),
        )
        .unwrap();

    let run = stack.sync(&integration).await;
    let events = stack.events(&run).await;
    assert_eq!(run.counters.unwrap().created, 1, "{events:#?}");
    let created = events
        .iter()
        .find(|e| e.action == pb::EventAction::Created as i32)
        .expect("a create event");
    let opportunity = stack
        .salesforce
        .record(ORG, &created.target_record_id)
        .expect("the created Opportunity");
    assert!(
        opportunity["OwnerId"]
            .as_str()
            .is_some_and(|o| !o.is_empty()),
        "Salesforce gives the record its default owner: {opportunity:?}"
    );

    for _ in 0..2 {
        let run = stack.sync(&integration).await;
        let events = stack.events(&run).await;
        let owner = &stack.monday.item(item).unwrap().values["owner"];
        assert_eq!(
            owner["personsAndTeams"][0]["id"].as_i64(),
            Some(mo),
            "the monday person stays: {owner} {events:#?}"
        );
        assert_eq!(
            run.counters.unwrap().updated,
            0,
            "nothing is written: {events:#?}"
        );
        // The person is still tried (and named) every run, in case Salesforce gets the user.
        assert!(
            events
                .iter()
                .any(|e| e.action == pb::EventAction::Failed as i32
                    && format!("{e:?}").contains("OwnerId")),
            "{events:#?}"
        );
    }
}
