//! Token refresh: serialised per connection, stored before it is returned, permanent
//! failures pausing the integrations.

use std::sync::atomic::Ordering;

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, service_bearer};
use tonic::Code;

use crate::fakes::{GOOD_CODE, OTHER_ORG_CODE};
use crate::harness::{ada, bob, create, start_stack};

fn refresh(id: &str, stale: &str) -> tonic::Request<pb::RefreshCredentialsRequest> {
    authorized(
        pb::RefreshCredentialsRequest {
            connection_id: id.to_owned(),
            stale_access_token: stale.to_owned(),
        },
        &service_bearer("connector-salesforce"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_refreshes_make_one_call_at_the_provider() {
    let stack = start_stack().await;
    let connection = stack.salesforce_connection(&ada()).await;
    let stale = stack.fakes.salesforce.issued.lock().unwrap()[0].clone();
    let (mut a, mut b) = (stack.client.clone(), stack.client.clone());
    let (first, second) = tokio::join!(
        a.refresh_credentials(refresh(&connection.id, &stale)),
        b.refresh_credentials(refresh(&connection.id, &stale)),
    );
    let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
    assert_eq!(stack.fakes.salesforce.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(first.access_token, "00Dxx!REFRESHED-1");
    assert_eq!(second.access_token, first.access_token);

    // Stored before it was returned, rotated refresh token included.
    let stored = stack
        .client
        .clone()
        .get_credentials(authorized(
            pb::GetCredentialsRequest {
                connection_id: connection.id.clone(),
            },
            &service_bearer("connector-salesforce"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.access_token, first.access_token);
    let generation: i64 = sqlx::query_scalar("SELECT token_generation FROM connections")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(generation, 2, "one exchange and one refresh");

    // A late caller with the old token gets the stored pair without a new refresh.
    let late = stack
        .client
        .clone()
        .refresh_credentials(refresh(&connection.id, &stale))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(late.access_token, first.access_token);
    assert_eq!(stack.fakes.salesforce.refreshes.load(Ordering::SeqCst), 1);

    // The next real expiry refreshes again, with the rotated refresh token.
    let next = stack
        .client
        .clone()
        .refresh_credentials(refresh(&connection.id, &first.access_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.access_token, "00Dxx!REFRESHED-2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_refresh_failure_needs_reauthentication_and_pauses_integrations() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let integration = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    stack
        .fakes
        .salesforce
        .fail_refresh
        .store(true, Ordering::SeqCst);
    let stale = stack.fakes.salesforce.issued.lock().unwrap()[0].clone();
    let err = client
        .refresh_credentials(refresh(&spec.salesforce_connection_id, &stale))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("needs re-authentication"));

    let connection = client
        .get_connection(authorized(
            pb::GetConnectionRequest {
                id: spec.salesforce_connection_id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        connection.state,
        pb::ConnectionState::NeedsReauthentication as i32
    );
    assert!(connection.state_reason.contains("invalid_grant"));
    let paused = client
        .get_integration(authorized(
            pb::GetIntegrationRequest {
                id: integration.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paused.state, pb::IntegrationState::Paused as i32);
    assert!(paused.state_reason.contains("needs re-authentication"));
    // Credentials are withheld until the user reconnects.
    let withheld = client
        .get_credentials(authorized(
            pb::GetCredentialsRequest {
                connection_id: spec.salesforce_connection_id.clone(),
            },
            &service_bearer("connector-salesforce"),
        ))
        .await
        .unwrap_err();
    assert_eq!(withheld.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_rpcs_are_for_services_only() {
    let stack = start_stack().await;
    let connection = stack.monday_connection(&ada()).await;
    let mut client = stack.client.clone();
    let err = client
        .refresh_credentials(authorized(
            pb::RefreshCredentialsRequest {
                connection_id: connection.id.clone(),
                stale_access_token: "x".into(),
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .refresh_credentials(refresh(&connection.id, "x"))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "monday tokens do not refresh"
    );
}

fn reconnect(id: &str) -> pb::CreateConnectionRequest {
    pb::CreateConnectionRequest {
        kind: pb::ConnectionKind::Salesforce as i32,
        redirect_uri: "https://tandem.example/oauth/callback".into(),
        reconnect_id: id.to_owned(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reauthenticating_the_same_org_reactivates_the_connection_and_resumes_its_integrations() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let integration = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    stack
        .fakes
        .salesforce
        .fail_refresh
        .store(true, Ordering::SeqCst);
    let stale = stack.fakes.salesforce.issued.lock().unwrap()[0].clone();
    client
        .refresh_credentials(refresh(&spec.salesforce_connection_id, &stale))
        .await
        .unwrap_err();

    // Only the owner, and only for Salesforce.
    let err = client
        .create_connection(authorized(
            reconnect(&spec.salesforce_connection_id),
            &bob(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .create_connection(authorized(reconnect(&spec.monday_connection_id), &ada()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("reconnect_id"));

    // Signing in to another org is refused, and the stray token revoked.
    let started = client
        .create_connection(authorized(
            reconnect(&spec.salesforce_connection_id),
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        started.connection.unwrap().id,
        spec.salesforce_connection_id
    );
    let err = client
        .complete_salesforce_connection(authorized(
            pb::CompleteSalesforceConnectionRequest {
                state: started.state,
                code: OTHER_ORG_CODE.into(),
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("belongs to org 00D000000000001EAA"),
        "{}",
        err.message()
    );
    assert_eq!(stack.fakes.salesforce.revoked.lock().unwrap().len(), 1);

    let started = client
        .create_connection(authorized(
            reconnect(&spec.salesforce_connection_id),
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let back = client
        .complete_salesforce_connection(authorized(
            pb::CompleteSalesforceConnectionRequest {
                state: started.state,
                code: GOOD_CODE.into(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.id, spec.salesforce_connection_id);
    assert_eq!(back.state, pb::ConnectionState::Active as i32);
    assert!(back.state_reason.is_empty());
    let resumed = client
        .get_integration(authorized(
            pb::GetIntegrationRequest {
                id: integration.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.state, pb::IntegrationState::Active as i32);
    assert_eq!(
        resumed.version,
        integration.version + 2,
        "paused, then resumed"
    );
    assert_eq!(resumed.spec, integration.spec, "nothing was lost");
    let latest = stack
        .fakes
        .salesforce
        .issued
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    let creds = client
        .get_credentials(authorized(
            pb::GetCredentialsRequest {
                connection_id: spec.salesforce_connection_id.clone(),
            },
            &service_bearer("connector-salesforce"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(creds.access_token, latest);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_integration_created_paused_stays_paused_through_a_reauthentication() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let integration = client
        .create_integration(authorized(
            pb::CreateIntegrationRequest {
                spec: Some(spec.clone()),
                paused: true,
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    stack
        .fakes
        .salesforce
        .fail_refresh
        .store(true, Ordering::SeqCst);
    let stale = stack.fakes.salesforce.issued.lock().unwrap()[0].clone();
    client
        .refresh_credentials(refresh(&spec.salesforce_connection_id, &stale))
        .await
        .unwrap_err();
    let get = || {
        authorized(
            pb::GetIntegrationRequest {
                id: integration.id.clone(),
            },
            &ada(),
        )
    };
    let during = client.get_integration(get()).await.unwrap().into_inner();
    assert_eq!(during.state_reason, "created paused");
    assert_eq!(during.version, integration.version, "left as it was");

    // Reconnecting resumes what the connection problem paused, not what its owner has not
    // started yet.
    let started = client
        .create_connection(authorized(
            reconnect(&spec.salesforce_connection_id),
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    client
        .complete_salesforce_connection(authorized(
            pb::CompleteSalesforceConnectionRequest {
                state: started.state,
                code: GOOD_CODE.into(),
            },
            &ada(),
        ))
        .await
        .unwrap();
    let after = client.get_integration(get()).await.unwrap().into_inner();
    assert_eq!(after.state, pb::IntegrationState::Paused as i32);
    assert_eq!(after.state_reason, "created paused");
}
