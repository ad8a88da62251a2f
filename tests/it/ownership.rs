//! Who may start what on an integration: SyncNow and a writing Import are its owner's, a dry
//! run any account member's.

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, user_bearer_in};
use tonic::Code;

use crate::stack::{ORG, Stack, start_stack};

fn import(
    integration: &pb::Integration,
    dry_run: bool,
    bearer: &str,
) -> tonic::Request<pb::ImportRequest> {
    authorized(
        pb::ImportRequest {
            integration_id: integration.id.clone(),
            source: pb::Side::Salesforce as i32,
            dry_run,
            ..Default::default()
        },
        bearer,
    )
}

fn sync_now(integration: &pb::Integration, bearer: &str) -> tonic::Request<pb::SyncNowRequest> {
    authorized(
        pb::SyncNowRequest {
            integration_id: integration.id.clone(),
        },
        bearer,
    )
}

async fn runs(stack: &Stack, integration: &pb::Integration) -> Vec<pb::Run> {
    stack
        .history
        .clone()
        .list_runs(authorized(
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
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_owner_syncs_or_imports_while_account_members_may_preview() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    stack
        .salesforce
        .insert(ORG, "Opportunity", serde_json::json!({"Name": "Nu", "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
        .unwrap();
    let integration = stack.integration().await;
    let bob = user_bearer_in("acme", "bob@acme.test");
    let eve = user_bearer_in("globex", "eve@globex.test");
    let mut orchestrator = stack.orchestrator.clone();
    stack.monday.clear_requests();

    let denied = orchestrator
        .sync_now(sync_now(&integration, &bob))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("belongs to ada@acme.test")
            && denied.message().contains("only its owner may sync it"),
        "{}",
        denied.message()
    );
    let denied = orchestrator
        .import(import(&integration, false, &bob))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("only its owner may import"),
        "{}",
        denied.message()
    );
    // Another account does not learn the integration exists.
    let hidden = orchestrator
        .sync_now(sync_now(&integration, &eve))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    let hidden = orchestrator
        .import(import(&integration, true, &eve))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    // Nothing ran and nothing reached monday.
    assert!(runs(&stack, &integration).await.is_empty());
    assert!(
        stack.monday.requests().is_empty(),
        "a refused call reached monday"
    );

    // A dry run writes nothing: Bob may preview.
    let dry = orchestrator
        .import(import(&integration, true, &bob))
        .await
        .unwrap()
        .into_inner();
    let found = runs(&stack, &integration).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].id, dry.run_id);
    assert_eq!(found[0].trigger, pb::Trigger::DryRun as i32);
    assert!(
        stack
            .monday
            .requests()
            .iter()
            .all(|r| !r.query.contains("mutation")),
        "the dry run wrote to monday"
    );

    // The owner may do both.
    orchestrator
        .import(import(&integration, false, &stack.bearer))
        .await
        .unwrap();
    orchestrator
        .sync_now(sync_now(&integration, &stack.bearer))
        .await
        .unwrap();
    assert_eq!(runs(&stack, &integration).await.len(), 3);
}
