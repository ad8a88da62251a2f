//! The web console in a real browser (Debian's Chromium, headless, through chromedriver)
//! against the whole stack with both simulators. Skipped, saying so, where chromedriver is not
//! installed; CI installs it (`.ci/run`). On failure the page is saved as a screenshot and its
//! HTML under `TANDEM_BROWSER_ARTIFACTS` (default `target/tmp/browser/`);
//! `TANDEM_BROWSER_SCREENSHOTS=1` saves every page the journey visits.

mod driver;
mod setup;

use fantoccini::{Client, Locator};

use crate::console::start_console;
use crate::stack::{ORG, Stack, start_stack};
use driver::{click, fill, shot, text, wait_until};

/// The WebDriver key code of Enter.
const ENTER: &str = "\u{E007}";

async fn sign_in(client: &Client, base: &str, account: &str, email: &str) {
    client.goto(&format!("{base}/")).await.unwrap();
    // Not signed in: the console sends the browser to its sign-in page.
    wait_until(client, "the sign-in page", |path, _| path == "/sign-in").await;
    assert_eq!(text(client, "h1").await, "Sign in to Tandem");
    // Labelled fields, submitted from the keyboard.
    for (id, label) in [("account", "Account"), ("email", "Email")] {
        let found = text(client, &format!("label[for={id}]")).await;
        assert_eq!(found, label);
    }
    fill(client, "#account", account).await;
    fill(client, "#email", email).await;
    client
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    wait_until(client, "the integrations list", |path, html| {
        path == "/" && html.contains("<h1>Integrations</h1>")
    })
    .await;
}

async fn sign_out(client: &Client) {
    click(client, "header.top form button").await;
    wait_until(client, "the sign-in page", |path, _| path == "/sign-in").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_syncs_from_the_console_and_another_user_is_read_only() {
    let Some(driver) = driver::start().await else {
        return;
    };
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let client = driver::session(&driver).await;
    let journey = tokio::spawn(journey(client.clone(), stack));
    let outcome = journey.await;
    if let Err(failure) = outcome {
        let saved = driver::save(&client, "failure").await;
        eprintln!("browser journey failed; the page is saved at {saved:?}");
        let _ = client.close().await;
        std::panic::resume_unwind(failure.into_panic());
    }
    client.close().await.unwrap();
}

async fn journey(client: Client, stack: Stack) {
    // An integration created through the API, and a record made after it.
    let integration = stack.integration().await;
    let opportunity = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": "Acme renewal", "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
        )
        .unwrap();
    let console = start_console(&stack).await;
    let base = console.base.clone();

    // A user of an account without integrations is told what to do next.
    sign_in(&client, &base, "globex", "eve@globex.test").await;
    shot(&client, "01-empty-list").await;
    let empty = text(&client, "#empty").await;
    assert!(
        empty.contains("No integrations in account globex yet"),
        "{empty}"
    );
    assert!(empty.contains("tandem integration create"), "{empty}");
    sign_out(&client).await;
    shot(&client, "00-sign-in").await;

    // The owner: the list, the integration, its mapping.
    sign_in(&client, &base, "acme", "ada@acme.test").await;
    shot(&client, "02-list").await;
    let list = text(&client, "#integrations").await;
    assert!(
        list.contains("Deals ↔ Opportunities") && list.contains("ada@acme.test"),
        "{list}"
    );
    client
        .find(Locator::LinkText("Deals ↔ Opportunities"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = format!("/integrations/{}", integration.id);
    wait_until(&client, "the integration page", |path, _| path == page).await;
    shot(&client, "03-integration").await;
    let mapping = text(&client, "#mapping").await;
    for expected in ["status", "StageName", "date4", "CloseDate", "both ways"] {
        assert!(mapping.contains(expected), "`{expected}` in {mapping}");
    }

    // Sync now: the run appears with the record it created on monday.
    click(&client, "#sync-now").await;
    wait_until(&client, "the first run", |path, html| {
        path.starts_with("/runs/") && html.contains("Acme renewal")
    })
    .await;
    let events = text(&client, "#events").await;
    assert!(
        events.contains("created") && events.contains("Salesforce → monday"),
        "{events}"
    );

    // An edit in the Salesforce simulator crosses on the next Sync now, with before and after.
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
    let first_run = stack.runs(&integration).await[0].id.clone();
    client.goto(&format!("{base}{page}")).await.unwrap();
    click(&client, "#sync-now").await;
    wait_until(&client, "the second run", |path, html| {
        path.starts_with("/runs/") && !path.ends_with(&first_run) && html.contains("updated")
    })
    .await;
    shot(&client, "04-run").await;
    assert_eq!(
        text(&client, "#events .changes .before").await,
        "\"Prospecting\""
    );
    assert_eq!(
        text(&client, "#events .changes .after").await,
        "\"Closed Won\""
    );
    let event = text(&client, "#events").await;
    assert!(
        event.contains("Salesforce → monday") && event.contains("(from StageName)"),
        "{event}"
    );
    client.goto(&format!("{base}{page}")).await.unwrap();
    let runs = text(&client, "#runs").await;
    assert_eq!(runs.matches("sync now").count(), 2, "{runs}");
    sign_out(&client).await;

    // Another user of the account: read-only, and a forged POST with a valid CSRF token of
    // their own session is refused by the server.
    sign_in(&client, &base, "acme", "bob@acme.test").await;
    client.goto(&format!("{base}{page}")).await.unwrap();
    wait_until(&client, "the read-only page", |_, html| {
        html.contains("id=\"read-only\"")
    })
    .await;
    shot(&client, "05-read-only").await;
    assert!(
        client.find(Locator::Css("#sync-now")).await.is_err(),
        "no Sync now button"
    );
    assert!(
        client.find(Locator::Css("#mapping")).await.is_err(),
        "no mapping for bob"
    );
    client
        .execute(
            "const form = document.createElement('form');
             form.method = 'post';
             form.action = arguments[0];
             const csrf = document.createElement('input');
             csrf.type = 'hidden';
             csrf.name = 'csrf';
             csrf.value = document.querySelector('input[name=csrf]').value;
             form.appendChild(csrf);
             document.body.appendChild(form);
             form.submit();",
            vec![serde_json::json!(format!("{page}/sync"))],
        )
        .await
        .unwrap();
    wait_until(&client, "the refusal", |_, html| {
        html.contains("<h1>Not allowed</h1>")
    })
    .await;
    shot(&client, "06-refused").await;
    let refusal = text(&client, "[role=alert]").await;
    assert!(refusal.contains("only its owner may sync it"), "{refusal}");
    assert_eq!(
        stack.runs(&integration).await.len(),
        2,
        "the forged POST ran no cycle"
    );
}
