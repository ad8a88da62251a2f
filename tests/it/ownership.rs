//! Who may start what on an integration: SyncNow and a writing Import are its owner's, a dry
//! run any account member's; after a transfer the new owner resumes only on their own
//! connections.

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, user_bearer_in};
use tonic::Code;

use crate::stack::{ORG, start_stack};

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
    assert!(stack.runs(&integration).await.is_empty());
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
    let found = stack.runs(&integration).await;
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
    assert_eq!(stack.runs(&integration).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_transfer_the_new_owner_resumes_only_on_their_own_connections() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let bob = user_bearer_in("acme", "bob@acme.test");
    let mut config = stack.config.clone();
    let mut orchestrator = stack.orchestrator.clone();
    let moved = config
        .transfer_ownership(authorized(
            pb::TransferOwnershipRequest {
                id: integration.id.clone(),
                new_owner: "bob@acme.test".into(),
                version: integration.version,
            },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.state, pb::IntegrationState::Paused as i32);

    // Bob resumes on Ada's connections: refused, naming the connection setting.
    let resume = |bearer: &str| {
        authorized(
            pb::ResumeIntegrationRequest {
                integration_id: integration.id.clone(),
            },
            bearer,
        )
    };
    let refused = orchestrator
        .resume_integration(resume(&bob))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("_connection_id")
            && refused.message().contains("belongs to ada@acme.test"),
        "{}",
        refused.message()
    );
    // Ada no longer owns it: she may neither sync nor resume it.
    let denied = orchestrator
        .sync_now(sync_now(&integration, &stack.bearer))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let status = orchestrator
        .get_integration_status(authorized(
            pb::GetIntegrationStatusRequest {
                integration_id: integration.id.clone(),
            },
            &bob,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state, "paused");
    assert!(stack.runs(&integration).await.is_empty());

    // Bob connects his own accounts, points the integration at them and resumes.
    let monday = config
        .create_connection(authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Monday as i32,
                monday_token: stack.monday_token.clone(),
                ..Default::default()
            },
            &bob,
        ))
        .await
        .unwrap()
        .into_inner()
        .connection
        .unwrap();
    let salesforce = tandem_stack::connect_simulated_org(&mut config, &bob, ORG)
        .await
        .unwrap();
    let mut spec = integration.spec.clone().unwrap();
    spec.monday_connection_id = monday.id;
    spec.salesforce_connection_id = salesforce.id;
    config
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: integration.id.clone(),
                spec: Some(spec),
                version: moved.version,
            },
            &bob,
        ))
        .await
        .unwrap();
    let resumed = orchestrator
        .resume_integration(resume(&bob))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.state, "active");
    orchestrator
        .sync_now(sync_now(&integration, &bob))
        .await
        .unwrap();
    assert_eq!(stack.runs(&integration).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_is_the_owner_whatever_the_case_of_their_email_in_every_service() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    assert_eq!(integration.owner, "ada@acme.test");
    // The identity provider spells Ada's address its own way.
    let ada = user_bearer_in("acme", "Ada@ACME.test");

    // mapping-config: the owner's full view and her own connections.
    let mut config = stack.config.clone();
    let got = config
        .get_integration(authorized(
            pb::GetIntegrationRequest {
                id: integration.id.clone(),
            },
            &ada,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.spec, integration.spec,
        "the owner's view, not a member's"
    );
    let mine = config
        .list_connections(authorized(pb::ListConnectionsRequest::default(), &ada))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.connections.len(), 2, "{mine:?}");

    // sync-orchestrator: the owner's SyncNow.
    let mut orchestrator = stack.orchestrator.clone();
    orchestrator
        .sync_now(sync_now(&integration, &ada))
        .await
        .unwrap();
    // Another user still is not.
    let bob = user_bearer_in("acme", "Bob@acme.test");
    let denied = orchestrator
        .sync_now(sync_now(&integration, &bob))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}
