//! Full round trips through the real connector-salesforce and salesforce-sim.

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, service_bearer};
use tonic::Code;

use crate::harness::{ada, mapping, spec};
use crate::live_stack::{approve, start_live};

fn credentials(id: &str) -> tonic::Request<pb::GetCredentialsRequest> {
    authorized(
        pb::GetCredentialsRequest {
            connection_id: id.to_owned(),
        },
        &service_bearer("connector-salesforce"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn salesforce_oauth_through_the_connector_stores_tokens_encrypted_and_refuses_replays() {
    let stack = start_live().await;
    let connection = stack.connect_salesforce(&ada()).await;
    assert_eq!(connection.state, pb::ConnectionState::Active as i32);
    assert_eq!(
        connection.salesforce_org_id,
        stack.salesforce.org_id("demo")
    );
    assert!(!connection.salesforce_username.is_empty());

    let creds = stack
        .client
        .clone()
        .get_credentials(credentials(&connection.id))
        .await
        .unwrap()
        .into_inner();
    assert!(creds.access_token.len() > 20);
    assert_eq!(creds.instance_url, stack.salesforce_url);
    let raw: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT access_token_ct, refresh_token_ct FROM connections")
            .fetch_all(&stack.pool)
            .await
            .unwrap();
    let token = creds.access_token.as_bytes();
    for (access, refresh) in raw {
        assert!(!access.windows(token.len()).any(|w| w == token));
        assert!(!refresh.windows(token.len()).any(|w| w == token));
    }

    // A second callback with the same state (a replayed redirect) is refused.
    let mut client = stack.client.clone();
    let started = client
        .create_connection(authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Salesforce as i32,
                subdomain: "acme".into(),
                environment: pb::SalesforceEnvironment::Production as i32,
                redirect_uri: crate::live_stack::REDIRECT.into(),
                ..Default::default()
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let (code, state) = approve(&started.authorize_url).await;
    let complete = |code: String| {
        authorized(
            pb::CompleteSalesforceConnectionRequest {
                state: state.clone(),
                code,
            },
            &ada(),
        )
    };
    client
        .complete_salesforce_connection(complete(code.clone()))
        .await
        .unwrap();
    let replay = client
        .complete_salesforce_connection(complete(code))
        .await
        .unwrap_err();
    assert_eq!(replay.code(), Code::FailedPrecondition);
    assert!(replay.message().contains("state was already used"));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refreshes_reach_the_simulator_once_and_the_new_token_works() {
    let stack = start_live().await;
    let connection = stack.connect_salesforce(&ada()).await;
    let stale = stack
        .client
        .clone()
        .get_credentials(credentials(&connection.id))
        .await
        .unwrap()
        .into_inner()
        .access_token;
    stack.salesforce.expire_all_tokens();
    let before = stack
        .salesforce
        .count_calls("POST", "/services/oauth2/token");
    let refresh = || {
        let mut client = stack.client.clone();
        let request = authorized(
            pb::RefreshCredentialsRequest {
                connection_id: connection.id.clone(),
                stale_access_token: stale.clone(),
            },
            &service_bearer("connector-salesforce"),
        );
        async move { client.refresh_credentials(request).await }
    };
    let (a, b, c) = tokio::join!(refresh(), refresh(), refresh());
    let (a, b, c) = (
        a.unwrap().into_inner(),
        b.unwrap().into_inner(),
        c.unwrap().into_inner(),
    );
    assert_eq!(
        stack
            .salesforce
            .count_calls("POST", "/services/oauth2/token")
            - before,
        1,
        "one refresh grant at Salesforce"
    );
    assert_ne!(a.access_token, stale);
    assert_eq!(a.access_token, b.access_token);
    assert_eq!(a.access_token, c.access_token);

    // The connector now reads the org with the stored, refreshed token.
    let spec = spec("unused", &connection.id);
    let problems = stack
        .client
        .clone()
        .validate_integration(authorized(
            pb::ValidateIntegrationRequest { spec: Some(spec) },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner()
        .problems;
    assert!(
        !problems.iter().any(|p| p.field == "salesforce_object"),
        "{problems:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn live_describe_validates_fields_and_objects_naming_each_problem() {
    let stack = start_live().await;
    let salesforce = stack.connect_salesforce(&ada()).await;
    let monday = crate::harness::monday_connection_with(&stack.client, &ada()).await;
    let mut client = stack.client.clone();

    let good = spec(&monday.id, &salesforce.id);
    let created = client
        .create_integration(authorized(
            pb::CreateIntegrationRequest {
                spec: Some(good.clone()),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.version, 1);

    let mut bad = good.clone();
    bad.mappings.push(mapping("text_sfid", "No_Such_Field__c"));
    bad.mappings.push(mapping("mirror", "Amount"));
    bad.incoming_conditions = Some(pb::Conditions {
        json: r#"{"type":"rule","field":"Amount","operator":"starts_with","values":[{"type":"text","value":"1"}]}"#.into(),
    });
    let problems = client
        .validate_integration(authorized(
            pb::ValidateIntegrationRequest {
                spec: Some(bad.clone()),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner()
        .problems;
    let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
    for expected in [
        "mappings[4].salesforce_field",
        "mappings[5]",
        "incoming_conditions",
    ] {
        assert!(fields.contains(&expected), "{expected}: {problems:#?}");
    }
    let updated = client
        .update_integration(authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(bad),
                version: 1,
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(updated.code(), Code::InvalidArgument);

    let mut unknown = good.clone();
    unknown.salesforce_object = "Nope__c".into();
    let err = client
        .create_integration(authorized(
            pb::CreateIntegrationRequest {
                spec: Some(unknown),
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("salesforce_object"),
        "{}",
        err.message()
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM integrations")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_connection_revokes_its_token_at_the_simulator() {
    let stack = start_live().await;
    let connection = stack.connect_salesforce(&ada()).await;
    let mut client = stack.client.clone();
    client
        .delete_connection(authorized(
            pb::DeleteConnectionRequest {
                id: connection.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap();
    assert_eq!(
        stack
            .salesforce
            .count_calls("POST", "/services/oauth2/revoke"),
        1
    );
    let gone = client
        .get_credentials(credentials(&connection.id))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}
