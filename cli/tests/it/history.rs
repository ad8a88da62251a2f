//! `tandem history events RUN` after an update, a conflict and a failure, as a new user reads
//! it: both records by name, the direction, each field's before → after, both sides and the
//! winner of a conflict, and a failure as the target's, with the remote's message and a fix.

use crate::configure::{json_of, setup, tandem, text};

const ORG: &str = "acme";

#[tokio::test(flavor = "multi_thread")]
async fn history_events_show_names_direction_before_after_the_winner_and_a_fix() {
    let setup = setup().await;
    let env = &setup.env;
    let mut with_token = env.clone();
    with_token.push(("MY_MONDAY_TOKEN", setup.monday_token.clone()));
    let monday = json_of(
        &tandem(
            &with_token,
            &[
                "connect",
                "monday",
                "--token-env",
                "MY_MONDAY_TOKEN",
                "--json",
            ],
        )
        .await,
    );
    let monday_id = monday["id"].as_str().unwrap().to_owned();
    let salesforce_id = setup.connect_salesforce().await;
    let file = setup.write(
        "history.yaml",
        &format!(
            "name: Deals ↔ Opportunities\nboard_id: {}\nsalesforce_object: Opportunity\n\
             scope: two_way\nmappings:\n\
             \x20 - {{monday_column_id: name, salesforce_field: Name, direction: both}}\n\
             \x20 - {{monday_column_id: status, salesforce_field: StageName}}\n\
             \x20 - {{monday_column_id: close_date, salesforce_field: CloseDate}}\n",
            setup.board
        ),
    );
    let created = tandem(
        env,
        &[
            "integration",
            "create",
            "--file",
            &file,
            "--monday-connection",
            &monday_id,
            "--salesforce-connection",
            &salesforce_id,
            "--json",
        ],
    )
    .await;
    // Before it creates anything, Tandem says it will add its key column to the board, and why.
    let notice = text(&created.stderr);
    assert!(
        notice.contains("add a text column `tandem_key`")
            && notice.contains("instead of making a second one"),
        "{notice}"
    );
    let integration = json_of(&created);
    let id = integration["id"].as_str().unwrap().to_owned();

    // Two opportunities cross to monday first.
    let opportunity = |name: &str| {
        setup
            .salesforce
            .insert(
                ORG,
                "Opportunity",
                serde_json::json!({"Name": name, "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
            )
            .unwrap()
    };
    let (acme, delta) = (opportunity("Acme"), opportunity("Delta"));
    let first = json_of(&tandem(env, &["sync", "now", &id, "--json"]).await);
    assert_eq!(first["counters"]["created"], 2, "{first}");
    let item_of = |name: &str| {
        setup
            .monday
            .items(setup.board)
            .into_iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("{name} crossed to monday"))
            .id
    };
    let delta_item = item_of("Delta");

    // An update in Salesforce; a stage changed on both sides (monday's change is newer); an
    // item without the close date Salesforce requires.
    let admin = setup.salesforce.admin_user_id(ORG);
    setup
        .salesforce
        .update_as(
            ORG,
            &acme,
            serde_json::json!({"StageName": "Closed Won"}),
            &admin,
        )
        .unwrap();
    setup
        .salesforce
        .update_as(
            ORG,
            &delta,
            serde_json::json!({"StageName": "Closed Lost"}),
            &admin,
        )
        .unwrap();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    setup
        .monday
        .set_raw_value(
            delta_item,
            "status",
            Some(serde_json::json!({"index": 1, "changed_at": later})),
        )
        .unwrap();
    setup
        .monday
        .set_updated_at(delta_item, time::OffsetDateTime::now_utc());
    setup
        .monday
        .create_item(
            setup.board,
            None,
            "Zeta",
            serde_json::json!({"status": {"label": "Prospecting"}}),
        )
        .unwrap();
    let run = json_of(&tandem(env, &["sync", "now", &id, "--json"]).await);
    let run_id = run["id"].as_str().unwrap().to_owned();

    let out = tandem(env, &["history", "events", &run_id]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    println!("$ tandem history events {run_id}\n{shown}");
    let expect = |what: &str, needle: &str| {
        assert!(shown.contains(needle), "{what}: `{needle}` in\n{shown}");
    };
    let acme_item = item_of("Acme");
    expect(
        "an update names both records and its direction",
        &format!("updated  Salesforce → monday: \"Acme\" ({acme}) → \"Acme\" ({acme_item})"),
    );
    expect(
        "and shows the field's before and after",
        "status: \"Prospecting\" → \"Closed Won\"  (from StageName)",
    );
    expect(
        "a conflict moves from the winner",
        &format!("conflict  monday → Salesforce: \"Delta\" ({delta_item}) → \"Delta\" ({delta})"),
    );
    expect(
        "with both sides' values",
        "Salesforce had \"Closed Lost\", monday had \"Closed Won\"; monday won",
    );
    expect(
        "a failure of a change from monday is Salesforce's",
        "failed  monday → Salesforce: \"Zeta\"",
    );
    expect(
        "with Salesforce's own message",
        "Salesforce error REQUIRED_FIELD_MISSING [CloseDate]: Required fields are missing: [CloseDate]",
    );
    expect(
        "and a fix that fits: the mapped column is empty, not unmapped",
        "fix: Salesforce needs a value for CloseDate, and the monday column mapped to it is empty on this item",
    );
    assert!(
        !shown.contains("from salesforce") && !shown.contains("Status {"),
        "{shown}"
    );

    // The same through --json, for scripts.
    let events = json_of(&tandem(env, &["history", "events", &run_id, "--json"]).await);
    let conflict = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "conflict")
        .unwrap_or_else(|| panic!("{events}"));
    assert_eq!(conflict["changes"][0]["winner"], "monday", "{conflict}");
    assert_eq!(conflict["target_side"], "salesforce", "{conflict}");
}
