//! A randomized convergence run: hundreds of random edits on both sides over several cycles,
//! with Salesforce failures, expired tokens and monday budget refusals injected, ending with both sides equal on every
//! mapped field and every link one-to-one.

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use tandem_proto::v1 as pb;

use crate::stack::{ORG, start_stack};

const STAGES: [&str; 3] = ["Prospecting", "Closed Won", "Closed Lost"];

#[tokio::test(flavor = "multi_thread")]
async fn random_edits_with_faults_converge_to_equal_sides_and_one_to_one_links() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for i in 0..10 {
        stack
            .salesforce
            .insert(ORG, "Opportunity", serde_json::json!({"Name": format!("SF {i}"), "StageName": STAGES[i % 3], "CloseDate": "2026-12-31"}))
            .unwrap();
        stack
            .monday
            .create_item(stack.board, None, &format!("MO {i}"), serde_json::json!({"status": {"label": STAGES[(i + 1) % 3]}, "date4": {"date": "2027-01-31"}}))
            .unwrap();
    }
    stack.sync(&integration).await;
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    let pairs: Vec<(String, String)> =
        sqlx::query_as("SELECT salesforce_id, monday_item_id FROM sync.links ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(pairs.len(), 20);
    let admin = stack.salesforce.admin_user_id(ORG);

    let mut edits = 0;
    for round in 0..6 {
        for _ in 0..40 {
            let (sf, mo) = &pairs[rng.random_range(0..pairs.len())];
            let item: i64 = mo.parse().unwrap();
            let stage = STAGES[rng.random_range(0..3)];
            let day = rng.random_range(1..=28);
            let on_salesforce = rng.random_bool(0.5);
            match (on_salesforce, rng.random_range(0..3)) {
                (true, 0) => stack
                    .salesforce
                    .update_as(
                        ORG,
                        sf,
                        serde_json::json!({"Name": format!("Deal {round}-{edits}")}),
                        &admin,
                    )
                    .unwrap(),
                (true, 1) => stack
                    .salesforce
                    .update_as(ORG, sf, serde_json::json!({"StageName": stage}), &admin)
                    .unwrap(),
                (true, _) => stack
                    .salesforce
                    .update_as(
                        ORG,
                        sf,
                        serde_json::json!({"CloseDate": format!("2027-05-{day:02}")}),
                        &admin,
                    )
                    .unwrap(),
                (false, 0) => stack
                    .monday
                    .edit_item_as(
                        stack.monday_user,
                        item,
                        serde_json::json!({"name": format!("Deal {round}-{edits}")}),
                    )
                    .unwrap(),
                (false, 1) => stack
                    .monday
                    .set_values(item, serde_json::json!({"status": {"label": stage}}))
                    .unwrap(),
                (false, _) => stack
                    .monday
                    .set_values(
                        item,
                        serde_json::json!({"date4": {"date": format!("2027-06-{day:02}")}}),
                    )
                    .unwrap(),
            }
            edits += 1;
        }
        // Faults: Salesforce fails twice with 503 (retried by the connector), and in some
        // rounds every token expires (refreshed once through mapping-config).
        stack.salesforce.fail_next(2, 503);
        if round % 2 == 1 {
            stack.salesforce.expire_all_tokens();
        }
        // and in others monday refuses the next calls as over its complexity budget.
        if round % 3 == 2 {
            stack.monday.set_faults(monday_sim::Faults {
                exhaust_budget_next: 2,
                retry_in_seconds: Some(1),
                ..Default::default()
            });
        }
        let run = stack.sync(&integration).await;
        assert_ne!(
            run.status,
            pb::RunStatus::Failed as i32,
            "round {round}: {run:?} {:#?}",
            stack.events(&run).await
        );
    }
    // Quiet cycles: whatever a round left half-done settles, then nothing moves.
    stack.sync(&integration).await;
    let last = stack.sync(&integration).await;
    let counters = last.counters.unwrap();
    assert_eq!(
        (counters.created, counters.updated, counters.failed),
        (0, 0, 0),
        "{:#?}",
        stack.events(&last).await
    );

    let links: Vec<(String, String)> = sqlx::query_as(
        "SELECT salesforce_id, monday_item_id FROM sync.links WHERE unlinked_at IS NULL ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(links, pairs, "links stay one-to-one and unchanged");
    assert_eq!(
        links.iter().map(|(s, _)| s).collect::<BTreeSet<_>>().len(),
        20
    );
    assert_eq!(
        links.iter().map(|(_, m)| m).collect::<BTreeSet<_>>().len(),
        20
    );
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        20,
        "no duplicate in Salesforce"
    );
    for (sf, mo) in &links {
        let record = stack.salesforce.record(ORG, sf).unwrap();
        let item = stack.monday.item(mo.parse().unwrap()).unwrap();
        let label = crate::stack::stage_label(item.values["status"]["index"].as_u64().unwrap());
        assert_eq!(
            record["Name"].as_str(),
            Some(item.name.as_str()),
            "{sf} ↔ {mo}"
        );
        assert_eq!(record["StageName"].as_str(), Some(label), "{sf} ↔ {mo}");
        assert_eq!(
            record["CloseDate"], item.values["date4"]["date"],
            "{sf} ↔ {mo}"
        );
    }
    assert!(edits >= 200);
    pool.close().await;
}
