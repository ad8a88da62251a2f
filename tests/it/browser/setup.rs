//! The journey issue 23 names, in Chromium: a new user sets an integration up from nothing
//! through the pages (monday by token, Salesforce over OAuth landing back on the console,
//! board and object, the suggested mapping), creates it paused, previews an import, imports,
//! sees a record fail with its fix, edits a record in each simulator and sees the run's
//! before/after, fixes the mapping through the pages and sees the record cross.

use fantoccini::{Client, Locator};
use serde_json::json;

use super::driver::{self, click, fill, shot, text, wait_until};
use super::sign_in;
use crate::console::start_console;
use crate::stack::{ORG, Stack, start_stack};

#[tokio::test(flavor = "multi_thread")]
async fn a_new_user_sets_up_an_integration_in_the_pages_and_fixes_a_failing_mapping() {
    let Some(driver) = driver::start().await else {
        return;
    };
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let client = driver::session(&driver).await;
    let journey = tokio::spawn(journey(client.clone(), stack));
    if let Err(failure) = journey.await {
        let saved = driver::save(&client, "setup-failure").await;
        eprintln!("browser setup journey failed; the page is saved at {saved:?}");
        let _ = client.close().await;
        std::panic::resume_unwind(failure.into_panic());
    }
    client.close().await.unwrap();
}

/// Chooses `value` in the select `css` selects.
async fn choose(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .select_by_value(value)
        .await
        .unwrap();
}

async fn journey(client: Client, stack: Stack) {
    // The org holds two opportunities: one at a stage the board has, one at a stage it has not.
    let renewal = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            json!({"Name": "Acme renewal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
        )
        .unwrap();
    let expansion = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            json!({"Name": "Globex expansion", "StageName": "Negotiation/Review", "CloseDate": "2026-11-30"}),
        )
        .unwrap();
    let console = start_console(&stack).await;
    let base = console.base.clone();

    // Nothing yet: the first page points to setup.
    sign_in(&client, &base, "acme", "ada@acme.test").await;
    click(&client, "#start-setup").await;
    wait_until(&client, "the setup page", |path, _| path == "/setup").await;
    shot(&client, "10-setup").await;

    // monday by token: a wrong one is refused at its field and not shown again.
    fill(&client, "#monday-token", "not-a-real-token").await;
    click(&client, "#connect-monday-submit").await;
    wait_until(&client, "the refused token", |_, html| {
        html.contains("id=\"problem-monday-token\"")
    })
    .await;
    shot(&client, "11-token-refused").await;
    let field = client.find(Locator::Css("#monday-token")).await.unwrap();
    assert_eq!(field.prop("value").await.unwrap().unwrap_or_default(), "");
    assert_eq!(
        field.attr("aria-describedby").await.unwrap().as_deref(),
        Some("problem-monday-token")
    );
    fill(&client, "#monday-token", &stack.monday_token).await;
    click(&client, "#connect-monday-submit").await;
    wait_until(&client, "the monday connection", |path, html| {
        path == "/setup" && html.contains("— <span class=\"note\">active</span>")
    })
    .await;

    // Salesforce over OAuth: to the simulator's authorize page and back to the console.
    fill(&client, "#subdomain", ORG).await;
    choose(&client, "#environment", "production").await;
    click(&client, "#connect-salesforce-submit").await;
    wait_until(&client, "the Salesforce connection", |path, html| {
        path == "/setup" && html.contains("acme (production")
    })
    .await;
    let url = client.current_url().await.unwrap();
    assert!(
        url.as_str().starts_with(&base),
        "back on the console: {url}"
    );
    shot(&client, "12-connected").await;

    // Board and object, from the connections.
    click(&client, "#continue").await;
    wait_until(&client, "the board and object", |path, _| {
        path == "/setup/choose"
    })
    .await;
    choose(&client, "#board", &stack.board.to_string()).await;
    choose(&client, "#object", "Opportunity").await;
    fill(&client, "#name", "Deals ↔ Opportunities").await;
    shot(&client, "13-choose").await;
    click(&client, "#to-mapping").await;
    wait_until(&client, "the mapping editor", |path, html| {
        path == "/setup/mapping" && html.contains("id=\"mapping-editor\"")
    })
    .await;
    shot(&client, "14-editor").await;
    let required = text(&client, "#required-fields").await;
    assert!(required.contains("Close Date"), "{required}");
    // The suggestion maps the stage and the close date.
    let status_row = row_of(&client, "status")
        .await
        .expect("the stage is suggested");
    assert_eq!(
        client
            .find(Locator::Css(&format!("#m-{status_row}-field")))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("StageName")
    );
    let date_row = row_of(&client, "date4")
        .await
        .expect("the close date is suggested");
    assert_eq!(
        client
            .find(Locator::Css(&format!("#m-{date_row}-field")))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("CloseDate")
    );
    // A row added and removed again, with the buttons.
    let before = rows(&client).await;
    click(&client, "#add-mapping").await;
    wait_until(&client, "a new empty row", |_, html| {
        html.contains(&format!("id=\"mapping-{before}\""))
    })
    .await;
    click(
        &client,
        &format!("button[value=\"remove_mapping:{before}\"]"),
    )
    .await;
    wait_until(&client, "the row removed", |_, html| {
        !html.contains(&format!("id=\"mapping-{before}\""))
    })
    .await;
    assert_eq!(rows(&client).await, before);
    click(&client, "#validate").await;
    wait_until(&client, "the settings valid", |_, html| {
        html.contains("id=\"valid\"")
    })
    .await;
    click(&client, "#create").await;
    let page = wait_until(&client, "the new integration, paused", |path, html| {
        path.starts_with("/integrations/") && html.contains("created paused")
    })
    .await;
    shot(&client, "15-created").await;

    // Preview, then import from Salesforce.
    choose(&client, "#import-source", "salesforce").await;
    click(&client, "#import-preview").await;
    wait_until(&client, "the dry run", |path, html| {
        path.starts_with("/runs/") && html.contains("dry run")
    })
    .await;
    shot(&client, "16-preview").await;
    assert!(
        stack.monday.items(stack.board).is_empty(),
        "a preview writes nothing"
    );
    // An import writes: it runs once the integration is resumed.
    client.goto(&format!("{base}{page}")).await.unwrap();
    assert!(
        text(&client, "#import-paused")
            .await
            .contains("resume it to import")
    );
    click(&client, "#resume").await;
    wait_until(&client, "the integration resumed", |_, html| {
        html.contains("id=\"pause\"")
    })
    .await;
    choose(&client, "#import-source", "salesforce").await;
    click(&client, "#import-run").await;
    wait_until(&client, "the import", |path, html| {
        path.starts_with("/runs/") && html.contains("Acme renewal") && !html.contains("dry run")
    })
    .await;
    shot(&client, "17-import").await;

    // The record whose stage the board lacks failed, with the fix.
    client.goto(&format!("{base}{page}")).await.unwrap();
    let failing = text(&client, "#failing").await;
    assert!(failing.contains("Globex expansion"), "{failing}");
    assert!(failing.contains("Negotiation/Review"), "{failing}");
    assert!(
        failing.contains("allow creating missing labels for this mapping"),
        "{failing}"
    );
    shot(&client, "18-failing").await;

    // An edit in each simulator crosses on Sync now, with before and after.
    let admin = stack.salesforce.admin_user_id(ORG);
    stack
        .salesforce
        .update_as(ORG, &renewal, json!({"StageName": "Closed Won"}), &admin)
        .unwrap();
    let item = stack
        .monday
        .items(stack.board)
        .into_iter()
        .find(|i| i.name == "Acme renewal")
        .expect("the renewal imported to monday");
    stack
        .monday
        .edit_item_as(
            stack.monday_user,
            item.id,
            json!({"date4": {"date": "2027-01-15"}}),
        )
        .unwrap();
    click(&client, "#sync-now").await;
    wait_until(&client, "the run with both edits", |path, html| {
        path.starts_with("/runs/") && html.contains("Closed Won") && html.contains("2027-01-15")
    })
    .await;
    shot(&client, "19-edits").await;
    let events = text(&client, "#events").await;
    assert!(
        events.contains("Prospecting") && events.contains("Closed Won"),
        "{events}"
    );
    assert!(
        events.contains("Salesforce → monday") && events.contains("monday → Salesforce"),
        "{events}"
    );
    let close = stack
        .salesforce
        .records(ORG, "Opportunity")
        .into_iter()
        .find(|r| r["Id"] == renewal.as_str())
        .unwrap();
    assert_eq!(close["CloseDate"], "2027-01-15");

    // Fix the mapping through the pages: let Tandem add the missing label.
    client.goto(&format!("{base}{page}")).await.unwrap();
    click(&client, "#edit-mapping").await;
    wait_until(&client, "the editor on the integration", |path, html| {
        path.ends_with("/edit") && html.contains("id=\"save\"")
    })
    .await;
    // The suggested owner ↔ OwnerId mapping fails too (the org's admin is no monday user):
    // it goes, and the stage mapping may add the label monday lacks.
    if let Some(owner_row) = row_of(&client, "owner").await {
        click(
            &client,
            &format!("button[value=\"remove_mapping:{owner_row}\"]"),
        )
        .await;
        wait_until(&client, "the owner mapping removed", |_, html| {
            !html.contains("<option value=\"owner\" selected>")
        })
        .await;
    }
    let status_row = row_of(&client, "status").await.expect("the stage mapping");
    click(&client, &format!("#m-{status_row}-create_labels")).await;
    shot(&client, "20-fix").await;
    click(&client, "#save").await;
    wait_until(&client, "the integration after the fix", |path, _| {
        path == page
    })
    .await;

    // The failed record crosses on the next cycle.
    stack
        .salesforce
        .update_as(ORG, &expansion, json!({"Amount": 250000}), &admin)
        .unwrap();
    click(&client, "#sync-now").await;
    wait_until(&client, "the fixed record crossing", |path, html| {
        path.starts_with("/runs/") && html.contains("Globex expansion")
    })
    .await;
    shot(&client, "21-crossed").await;
    let events = text(&client, "#events").await;
    assert!(
        events.contains("status: (empty) → \"Negotiation/Review\""),
        "{events}"
    );
    assert!(
        !events.contains("failed"),
        "nothing fails any more: {events}"
    );
    let item = stack
        .monday
        .items(stack.board)
        .into_iter()
        .find(|i| i.name == "Globex expansion")
        .expect("the item is on the board");
    assert!(
        item.values.get("status").is_some_and(|v| !v.is_null()),
        "{:?}",
        item.values
    );
}

/// The index of the mapping row whose column is `column`, if any.
async fn row_of(client: &Client, column: &str) -> Option<usize> {
    let found = client
        .execute(
            "const s = [...document.querySelectorAll('select[name$=\".column\"]')]
               .find(s => s.value === arguments[0]);
             return s ? Number(s.name.split('.')[1]) : null;",
            vec![json!(column)],
        )
        .await
        .unwrap();
    found.as_u64().map(|i| i as usize)
}

/// How many mapping rows the editor shows.
async fn rows(client: &Client) -> usize {
    client
        .find_all(Locator::Css("#mapping-editor tbody tr"))
        .await
        .unwrap()
        .len()
}
