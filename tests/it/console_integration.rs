//! One integration's page against the real stack: conflicts come from the latest run only,
//! and a paused integration's Import and Sync now are disabled on the page and refused by
//! the console as the orchestrator refuses them (a preview still runs).

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use crate::console::{Visitor, csrf_of, start_console};
use crate::stack::{ORG, Stack, start_stack};

/// The `<button …>` whose id is `id` on a page.
fn button<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind("<button").unwrap();
    &html[start..start + html[start..].find('>').unwrap()]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_integration_imports_nothing_the_console_says_so_and_a_preview_still_runs() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration_paused_with(|_| {}).await;
    let page = format!("/integrations/{}", integration.id);
    // What the console mirrors: the orchestrator refuses a writing import while paused.
    let refused = stack
        .orchestrator
        .clone()
        .import(authorized(
            pb::ImportRequest {
                integration_id: integration.id.clone(),
                source: pb::Side::Salesforce as i32,
                dry_run: false,
                ..Default::default()
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

    let console = start_console(&stack).await;
    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;
    let (status, body) = ada.get(&page).await;
    assert_eq!(status, 200, "{body}");
    for (id, note) in [("import-run", "import-paused"), ("sync-now", "sync-paused")] {
        let tag = button(&body, id);
        assert!(
            tag.contains("disabled") && tag.contains(&format!(r#"aria-describedby="{note}""#)),
            "{tag}"
        );
    }
    assert!(!button(&body, "import-preview").contains("disabled"));
    assert!(body.contains("resume it to import"), "{body}");

    // A forged POST is refused by the server, saying why and what to do.
    let csrf = csrf_of(&body);
    let form = |mode: &str| {
        [
            ("csrf", csrf.clone()),
            ("source", "salesforce".to_owned()),
            ("mode", mode.to_owned()),
        ]
    };
    let (status, _, body) = ada
        .post_form(&format!("{page}/import"), &form("import"))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("it is paused (created paused): a paused integration imports nothing")
            && body.contains("preview an import"),
        "{body}"
    );
    let (status, _, body) = ada.post(&format!("{page}/sync"), &csrf).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("a paused integration does not sync"),
        "{body}"
    );
    assert!(stack.runs(&integration).await.is_empty(), "nothing ran");
    // A preview writes nothing: it runs while paused.
    let (status, location, _) = ada
        .post_form(&format!("{page}/import"), &form("preview"))
        .await;
    assert_eq!(status, 303);
    let runs = stack.runs(&integration).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, pb::Trigger::DryRun as i32);
    assert_eq!(location, format!("/runs/{}", runs[0].id));

    // Resumed, the import is offered again.
    let (status, _, _) = ada.post(&format!("{page}/resume"), &csrf).await;
    assert_eq!(status, 303);
    let (_, body) = ada.get(&page).await;
    assert!(!button(&body, "import-run").contains("disabled"), "{body}");
    assert!(!button(&body, "sync-now").contains("disabled"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_the_conflicts_of_the_latest_run_only() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let opportunity = stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            serde_json::json!({"Name": "Delta", "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
        )
        .unwrap();
    let run = stack.sync(&integration).await;
    let item: i64 = stack.events(&run).await[0]
        .target_record_id
        .parse()
        .unwrap();
    let first = both_edit(&stack, &integration, &opportunity, item, "Closed Lost", 1).await;
    assert_eq!(first.counters.unwrap().conflicts, 1, "{first:?}");

    let console = start_console(&stack).await;
    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;
    let page = format!("/integrations/{}", integration.id);
    let (_, body) = ada.get(&page).await;
    assert!(body.contains("Conflicts in the latest run"), "{body}");
    assert!(
        body.contains(&format!(r#"href="/runs/{}""#, first.id)),
        "{body}"
    );
    assert_eq!(
        body.matches("<code>StageName</code></td>").count(),
        1,
        "{body}"
    );

    // A quiet cycle after it: its conflicts were settled then, the page shows none.
    let quiet = stack.sync(&integration).await;
    assert_eq!(quiet.counters.unwrap().conflicts, 0);
    let (_, body) = ada.get(&page).await;
    assert!(!body.contains(r#"id="conflicts""#), "{body}");

    // Another conflict: only that run's, not the first one's too.
    let second = both_edit(&stack, &integration, &opportunity, item, "Prospecting", 5).await;
    assert_eq!(second.counters.unwrap().conflicts, 1, "{second:?}");
    let (_, body) = ada.get(&page).await;
    assert!(
        body.contains(&format!(r#"href="/runs/{}""#, second.id)),
        "{body}"
    );
    let table = &body[body.find(r#"id="conflicts""#).unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(
        table.matches("<tr>").count(),
        2,
        "a header and one conflict: {table}"
    );
}

/// Both sides edit the stage (monday a minute later), then a cycle runs: it records a
/// conflict.
async fn both_edit(
    stack: &Stack,
    integration: &pb::Integration,
    opportunity: &str,
    item: i64,
    stage: &str,
    label: u64,
) -> pb::Run {
    let admin = stack.salesforce.admin_user_id(ORG);
    stack
        .salesforce
        .update_as(
            ORG,
            opportunity,
            serde_json::json!({"StageName": stage}),
            &admin,
        )
        .unwrap();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    stack
        .monday
        .set_raw_value(
            item,
            "status",
            Some(serde_json::json!({"index": label, "changed_at": later})),
        )
        .unwrap();
    stack
        .monday
        .set_updated_at(item, time::OffsetDateTime::now_utc());
    stack.sync(integration).await
}
