//! An integration's state over its life: created paused (to preview before anything syncs),
//! resumed by its owner, and resumed after a transfer only on the new owner's connections.

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, service_bearer};
use tonic::Code;

use crate::harness::{ADA, BOB, Stack, ada, bob, create, mapping, start_stack};

fn create_paused(
    spec: &pb::IntegrationSpec,
    bearer: &str,
) -> tonic::Request<pb::CreateIntegrationRequest> {
    authorized(
        pb::CreateIntegrationRequest {
            spec: Some(spec.clone()),
            paused: true,
        },
        bearer,
    )
}

fn set_state(
    id: &str,
    state: pb::IntegrationState,
    bearer: &str,
) -> tonic::Request<pb::SetIntegrationStateRequest> {
    authorized(
        pb::SetIntegrationStateRequest {
            id: id.into(),
            state: state as i32,
            ..Default::default()
        },
        bearer,
    )
}

/// The ids of the integrations the scheduler would run (a service listing active ones).
async fn scheduled(stack: &Stack) -> Vec<String> {
    stack
        .client
        .clone()
        .list_integrations(authorized(
            pb::ListIntegrationsRequest {
                active_only: true,
                ..Default::default()
            },
            &service_bearer("sync-orchestrator"),
        ))
        .await
        .unwrap()
        .into_inner()
        .integrations
        .into_iter()
        .map(|i| i.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_integration_created_paused_is_not_scheduled_until_its_owner_resumes_it() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create_paused(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.state, pb::IntegrationState::Paused as i32);
    assert_eq!(created.state_reason, "created paused");
    let got = client
        .get_integration(authorized(
            pb::GetIntegrationRequest {
                id: created.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, pb::IntegrationState::Paused as i32);
    assert_eq!(got.state_reason, "created paused");

    // One created the usual way beside it is scheduled; the paused one is not.
    let active = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.state, pb::IntegrationState::Active as i32);
    assert_eq!(scheduled(&stack).await, vec![active.id.clone()]);

    // Editing the mapping while previewing does not start it.
    let mut changed = spec.clone();
    changed.mappings.push(mapping("text_sfid", "Description"));
    let updated = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(changed),
                version: created.version,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.state, pb::IntegrationState::Paused as i32);
    assert_eq!(updated.state_reason, "created paused");
    assert_eq!(scheduled(&stack).await, vec![active.id.clone()]);

    // The audit log says it was created paused.
    let log = client
        .list_audit_log(authorized(
            pb::ListAuditLogRequest {
                subject_id: created.id.clone(),
                page: None,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let first = log.entries.last().unwrap();
    assert_eq!(first.action, "created");
    assert!(
        first
            .changes
            .iter()
            .any(|c| c == "state: paused (created paused)"),
        "{:?}",
        first.changes
    );

    let resumed = client
        .set_integration_state(set_state(&created.id, pb::IntegrationState::Active, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.state, pb::IntegrationState::Active as i32);
    assert!(resumed.state_reason.is_empty());
    let mut now = scheduled(&stack).await;
    now.sort();
    let mut both = vec![created.id.clone(), active.id.clone()];
    both.sort();
    assert_eq!(now, both);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_paused_create_stores_nothing() {
    let stack = start_stack().await;
    let mut spec = stack.valid_spec(&ada()).await;
    spec.board_id = String::new();
    let err = client_create_err(&stack, create_paused(&spec, &ada())).await;
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("board_id"), "{}", err.message());
    assert_eq!(stack.count("integrations").await, 0);
}

async fn client_create_err(
    stack: &Stack,
    request: tonic::Request<pb::CreateIntegrationRequest>,
) -> tonic::Status {
    stack
        .client
        .clone()
        .create_integration(request)
        .await
        .unwrap_err()
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_transfer_resume_waits_for_the_new_owners_own_connections() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    let moved = client
        .transfer_ownership(authorized(
            pb::TransferOwnershipRequest {
                id: created.id.clone(),
                new_owner: BOB.into(),
                version: created.version,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.state, pb::IntegrationState::Paused as i32);

    // Bob resumes on Ada's connections: refused, naming the setting and whose it is.
    let refused = client
        .set_integration_state(set_state(&created.id, pb::IntegrationState::Active, &bob()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("monday_connection_id")
            && refused.message().contains("belongs to ada@acme.test"),
        "{}",
        refused.message()
    );
    // Nor may a service resume it for him (the orchestrator's ResumeIntegration).
    let via_service = client
        .set_integration_state(authorized(
            pb::SetIntegrationStateRequest {
                id: created.id.clone(),
                state: pb::IntegrationState::Active as i32,
                on_behalf_of: BOB.into(),
                ..Default::default()
            },
            &service_bearer("sync-orchestrator"),
        ))
        .await
        .unwrap_err();
    assert_eq!(via_service.code(), Code::FailedPrecondition);
    // Nothing changed: still paused, same version, not scheduled.
    let still = client
        .get_integration(authorized(
            pb::GetIntegrationRequest {
                id: created.id.clone(),
            },
            &bob(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.state, pb::IntegrationState::Paused as i32);
    assert_eq!(still.version, moved.version);
    assert!(scheduled(&stack).await.is_empty());

    // Bob connects his own accounts and points the integration at them; then it runs.
    let mine = stack.valid_spec(&bob()).await;
    let updated = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(mine),
                version: still.version,
            },
            &bob(),
        ))
        .await
        .unwrap()
        .into_inner();
    let resumed = client
        .set_integration_state(set_state(&created.id, pb::IntegrationState::Active, &bob()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.state, pb::IntegrationState::Active as i32);
    assert!(resumed.version >= updated.version);
    assert_eq!(scheduled(&stack).await, vec![created.id.clone()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_integration_on_its_owners_connections_resumes_after_a_transfer_back() {
    // Ada pauses her integration, hands it to Bob and Bob hands it back: resuming on her own
    // connections works again, so the owner check does not lock out a legitimate owner.
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create_paused(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    let to_bob = client
        .transfer_ownership(authorized(
            pb::TransferOwnershipRequest {
                id: created.id.clone(),
                new_owner: BOB.into(),
                version: created.version,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let back = client
        .transfer_ownership(authorized(
            pb::TransferOwnershipRequest {
                id: created.id.clone(),
                new_owner: ADA.into(),
                version: to_bob.version,
            },
            &bob(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.owner, ADA);
    let resumed = client
        .set_integration_state(set_state(&created.id, pb::IntegrationState::Active, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.state, pb::IntegrationState::Active as i32);
}

/// A person's pause survives an edit of the settings: only Tandem's own pauses for something
/// an update fixes (a connection, an ownership move) end with an update.
#[tokio::test(flavor = "multi_thread")]
async fn an_integration_paused_by_its_owner_stays_paused_through_an_update() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    let paused = client
        .set_integration_state(authorized(
            pb::SetIntegrationStateRequest {
                id: created.id.clone(),
                state: pb::IntegrationState::Paused as i32,
                reason: "quarter-end freeze".into(),
                on_behalf_of: String::new(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let mut changed = spec.clone();
    changed.mappings.push(mapping("text_sfid", "Description"));
    let updated = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(changed),
                version: paused.version,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.state, pb::IntegrationState::Paused as i32);
    assert_eq!(updated.state_reason, "quarter-end freeze");
    assert!(scheduled(&stack).await.is_empty());
}
