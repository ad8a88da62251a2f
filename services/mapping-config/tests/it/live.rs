//! Full round trips through the real connectors and both simulators.

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, service_bearer};
use tonic::Code;

use crate::harness::{ada, create, mapping, spec};
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
    let started = stack.start_salesforce(&ada()).await;
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

    // A callback arriving after the state's 10 minutes is refused before any exchange.
    let late = stack.start_salesforce(&ada()).await;
    let (code, state) = approve(&late.authorize_url).await;
    sqlx::query(
        "UPDATE oauth_states SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL",
    )
    .execute(&stack.pool)
    .await
    .unwrap();
    let exchanges = stack
        .salesforce
        .count_calls("POST", "/services/oauth2/token");
    let expired = client
        .complete_salesforce_connection(authorized(
            pb::CompleteSalesforceConnectionRequest { state, code },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(expired.code(), Code::FailedPrecondition);
    assert!(expired.message().contains("state expired"));
    assert_eq!(
        stack
            .salesforce
            .count_calls("POST", "/services/oauth2/token"),
        exchanges
    );
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
    let good = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();

    let created = client
        .create_integration(create(&good, &ada()))
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
                paused: false,
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

#[tokio::test(flavor = "multi_thread")]
async fn monday_tokens_are_checked_through_the_connector_and_a_bad_one_leaves_nothing() {
    let stack = start_live().await;
    let mut client = stack.client.clone();
    let bad = client
        .create_connection(authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Monday as i32,
                monday_token: "not-a-monday-token".into(),
                ..Default::default()
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    assert!(bad.message().contains("monday_token"), "{}", bad.message());
    assert!(
        !stack.monday.requests().is_empty(),
        "the token was tried at monday through the connector"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM connections")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);

    let good = stack.connect_monday(&ada()).await;
    assert_eq!(good.state, pb::ConnectionState::Active as i32);
    let raw: Vec<u8> = sqlx::query_scalar("SELECT access_token_ct FROM connections")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    let token = stack.monday_token.as_bytes();
    assert!(!raw.windows(token.len()).any(|w| w == token));
}

#[tokio::test(flavor = "multi_thread")]
async fn create_get_list_update_stale_and_delete_against_both_simulators() {
    let stack = start_live().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let created = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.spec.as_ref(), Some(&spec));
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
    assert_eq!(got, created);
    let listed = client
        .list_integrations(authorized(
            pb::ListIntegrationsRequest {
                active_only: true,
                ..Default::default()
            },
            &service_bearer("sync-orchestrator"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.integrations, vec![created.clone()]);

    let mut renamed = spec.clone();
    renamed.name = "Renamed".into();
    let update = |version: i64, spec: pb::IntegrationSpec| {
        authorized(
            pb::UpdateIntegrationRequest {
                id: created.id.clone(),
                spec: Some(spec),
                version,
            },
            &ada(),
        )
    };
    let updated = client
        .update_integration(update(1, renamed.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.version, 2);
    let stale = client
        .update_integration(update(1, spec.clone()))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    let denied = client
        .delete_integration(authorized(
            pb::DeleteIntegrationRequest {
                id: created.id.clone(),
            },
            &crate::harness::bob(),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    client
        .delete_integration(authorized(
            pb::DeleteIntegrationRequest {
                id: created.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap();
    let gone = client
        .get_integration(authorized(
            pb::GetIntegrationRequest {
                id: created.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_against_the_live_board_and_object_names_the_field_and_writes_nothing() {
    let stack = start_live().await;
    let good = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let variant = |f: &dyn Fn(&mut pb::IntegrationSpec)| {
        let mut s = good.clone();
        f(&mut s);
        s
    };
    let huge = "y".repeat(1_100_000);
    let cases: Vec<(&str, pb::IntegrationSpec, &str)> = vec![
        (
            "empty name",
            variant(&|s| s.name = String::new()),
            "name: is required",
        ),
        (
            "unknown board",
            variant(&|s| s.board_id = "987654321".into()),
            "board_id",
        ),
        (
            "unknown object",
            variant(&|s| s.salesforce_object = "Nope__c".into()),
            "salesforce_object",
        ),
        (
            "unknown column",
            variant(&|s| s.mappings[2].monday_column_id = "ghost".into()),
            "mappings[2].monday_column_id",
        ),
        (
            "unknown field",
            variant(&|s| s.mappings[3].salesforce_field = "Ghost__c".into()),
            "mappings[3].salesforce_field",
        ),
        (
            "malformed condition",
            variant(&|s| s.incoming_conditions = Some(pb::Conditions { json: "[1,".into() })),
            "incoming_conditions",
        ),
        (
            "oversized",
            variant(&|s| s.outgoing_conditions = Some(pb::Conditions { json: huge.clone() })),
            "spec: is",
        ),
    ];
    for (case, spec, expected) in cases {
        let err = client
            .create_integration(authorized(
                pb::CreateIntegrationRequest {
                    spec: Some(spec),
                    paused: false,
                },
                &ada(),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{case}: {err:?}");
        assert!(
            err.message().contains(expected),
            "{case}: {}",
            err.message()
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM integrations")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn suggestions_from_the_live_board_and_object_validate_as_they_are() {
    let stack = start_live().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let answer = client
        .suggest_mapping(authorized(
            pb::SuggestMappingRequest {
                monday_connection_id: spec.monday_connection_id.clone(),
                board_id: spec.board_id.clone(),
                salesforce_connection_id: spec.salesforce_connection_id.clone(),
                salesforce_object: "Opportunity".into(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let pairs: Vec<(String, String)> = answer
        .suggestions
        .iter()
        .map(|s| {
            let m = s.mapping.clone().unwrap();
            (m.monday_column_id, m.salesforce_field)
        })
        .collect();
    for expected in [
        ("name", "Name"),
        ("status", "StageName"),
        ("date4", "CloseDate"),
        ("numbers", "Amount"),
    ] {
        assert!(
            pairs.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {pairs:?}"
        );
    }
    let mut suggested = spec.clone();
    suggested.mappings = answer
        .suggestions
        .iter()
        .map(|s| s.mapping.clone().unwrap())
        .collect();
    let check = client
        .validate_integration(authorized(
            pb::ValidateIntegrationRequest {
                spec: Some(suggested),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(check.valid, "{:#?}", check.problems);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_tokens_met_by_the_connector_are_refreshed_once_through_mapping_config() {
    use tandem_proto::v1::salesforce_connector_client::SalesforceConnectorClient;

    let stack = start_live().await;
    let connection = stack.connect_salesforce(&ada()).await;
    let channel = tonic::transport::Endpoint::from_shared(stack.salesforce_connector_url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let connector = SalesforceConnectorClient::new(channel);
    let poll = || {
        let mut connector = connector.clone();
        let request = authorized(
            pb::SalesforcePollRequest {
                connection_id: connection.id.clone(),
                object: "Opportunity".into(),
                fields: vec!["Name".into(), "StageName".into()],
                max_records: 10,
                ..Default::default()
            },
            &service_bearer("sync-orchestrator"),
        );
        async move { connector.poll_changes(request).await }
    };
    poll().await.unwrap();
    let before = stack
        .salesforce
        .count_calls("POST", "/services/oauth2/token");
    stack.salesforce.expire_all_tokens();
    // Both polls meet INVALID_SESSION_ID; the connector asks mapping-config to refresh.
    let (a, b) = tokio::join!(poll(), poll());
    a.unwrap();
    b.unwrap();
    assert_eq!(
        stack
            .salesforce
            .count_calls("POST", "/services/oauth2/token")
            - before,
        1,
        "one refresh grant for two callers"
    );
    let generation: i64 = sqlx::query_scalar("SELECT token_generation FROM connections")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(generation, 2, "the exchange, then one stored refresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_refresh_token_needs_reauthentication_and_signing_in_again_resumes() {
    use secrecy::ExposeSecret as _;

    let stack = start_live().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let integration = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();
    let id = spec.salesforce_connection_id.clone();

    // Someone revokes Tandem's access in Salesforce; the access token then expires.
    let (version, ct): (i32, Vec<u8>) =
        sqlx::query_as("SELECT key_version, refresh_token_ct FROM connections WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&stack.pool)
            .await
            .unwrap();
    let refresh = crate::harness::keys()
        .decrypt(
            id.parse().unwrap(),
            mapping_config::Purpose::Refresh,
            version as u32,
            &ct,
        )
        .unwrap();
    let revoked = reqwest::Client::new()
        .post(format!("{}/services/oauth2/revoke", stack.salesforce_url))
        .form(&[("token", refresh.expose_secret())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let stale = client
        .get_credentials(credentials(&id))
        .await
        .unwrap()
        .into_inner()
        .access_token;
    stack.salesforce.expire_all_tokens();

    let err = client
        .refresh_credentials(authorized(
            pb::RefreshCredentialsRequest {
                connection_id: id.clone(),
                stale_access_token: stale,
            },
            &service_bearer("connector-salesforce"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let connection = client
        .get_connection(authorized(
            pb::GetConnectionRequest { id: id.clone() },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        connection.state,
        pb::ConnectionState::NeedsReauthentication as i32
    );
    assert!(
        connection.state_reason.contains("invalid_grant"),
        "{}",
        connection.state_reason
    );
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

    // The owner signs in again on the same connection: it and the integration come back.
    let started = client
        .create_connection(authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Salesforce as i32,
                redirect_uri: crate::live_stack::REDIRECT.into(),
                reconnect_id: id.clone(),
                ..Default::default()
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    let (code, state) = approve(&started.authorize_url).await;
    let back = client
        .complete_salesforce_connection(authorized(
            pb::CompleteSalesforceConnectionRequest { state, code },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.id, id);
    assert_eq!(back.state, pb::ConnectionState::Active as i32);
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
    assert_eq!(resumed.spec, integration.spec);
}
