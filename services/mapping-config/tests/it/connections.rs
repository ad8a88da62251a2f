//! Connections: OAuth states, tokens at rest, monday token checks, deletion.

use std::sync::atomic::Ordering;

use tandem_proto::v1 as pb;
use tandem_testkit::{authorized, service_bearer};
use tonic::Code;

use crate::fakes::GOOD_CODE;
use crate::harness::{ADA, ada, bob, create, start_stack};

fn start_request() -> pb::CreateConnectionRequest {
    pb::CreateConnectionRequest {
        kind: pb::ConnectionKind::Salesforce as i32,
        subdomain: "acme".into(),
        environment: pb::SalesforceEnvironment::Sandbox as i32,
        redirect_uri: "https://tandem.example/oauth/callback".into(),
        ..Default::default()
    }
}

fn complete(state: &str, code: &str) -> pb::CompleteSalesforceConnectionRequest {
    pb::CompleteSalesforceConnectionRequest {
        state: state.into(),
        code: code.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn salesforce_oauth_activates_the_connection_with_tokens_unreadable_in_the_database() {
    let stack = start_stack().await;
    let mut client = stack.client.clone();
    let started = client
        .create_connection(authorized(start_request(), &ada()))
        .await
        .unwrap()
        .into_inner();
    let pending = started.connection.unwrap();
    assert_eq!(pending.state, pb::ConnectionState::Pending as i32);
    assert_eq!(pending.owner, ADA);
    assert!(started.authorize_url.contains(&started.state));
    assert!(started.state.len() >= 43, "32 random bytes");
    let stored_state: Vec<u8> = sqlx::query_scalar("SELECT state_hash FROM oauth_states")
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_ne!(
        stored_state,
        started.state.as_bytes(),
        "only a hash is stored"
    );

    let done = client
        .complete_salesforce_connection(authorized(complete(&started.state, GOOD_CODE), &ada()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.id, pending.id);
    assert_eq!(done.state, pb::ConnectionState::Active as i32);
    assert_eq!(done.salesforce_org_id, "00D000000000001EAA");
    assert_eq!(done.salesforce_username, "admin@acme.test");

    let access = stack.fakes.salesforce.issued.lock().unwrap()[0].clone();
    let (access_ct, refresh_ct): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT access_token_ct, refresh_token_ct FROM connections")
            .fetch_one(&stack.pool)
            .await
            .unwrap();
    for (ct, secret) in [
        (&access_ct, access.as_str()),
        (&refresh_ct, "REFRESH-1-secret"),
    ] {
        assert!(!ct.windows(secret.len()).any(|w| w == secret.as_bytes()));
        assert!(!ct.windows(6).any(|w| w == b"secret" || w == b"ACCESS"));
    }

    let credentials = client
        .get_credentials(authorized(
            pb::GetCredentialsRequest {
                connection_id: done.id.clone(),
            },
            &service_bearer("connector-salesforce"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(credentials.access_token, access);
    assert_eq!(credentials.subdomain, "acme");
    assert_eq!(
        credentials.environment,
        pb::SalesforceEnvironment::Sandbox as i32
    );

    // Users never get tokens, not even the owner.
    let denied = client
        .get_credentials(authorized(
            pb::GetCredentialsRequest {
                connection_id: done.id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_reused_expired_and_foreign_oauth_states_are_refused() {
    let stack = start_stack().await;
    let mut client = stack.client.clone();
    let start = |client: &mut tandem_proto::v1::mapping_config_client::MappingConfigClient<_>| {
        let mut c = client.clone();
        async move {
            c.create_connection(authorized(start_request(), &ada()))
                .await
                .unwrap()
                .into_inner()
                .state
        }
    };
    // Reused.
    let used = start(&mut client).await;
    client
        .complete_salesforce_connection(authorized(complete(&used, GOOD_CODE), &ada()))
        .await
        .unwrap();
    // Expired.
    let expired = start(&mut client).await;
    sqlx::query(
        "UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL",
    )
    .execute(&stack.pool)
    .await
    .unwrap();
    // Someone else's.
    let foreign = start(&mut client).await;

    let cases = [
        (
            "unknown",
            "bm90LWEtc3RhdGU".to_owned(),
            ada(),
            Code::InvalidArgument,
            "state is unknown",
        ),
        (
            "reused",
            used,
            ada(),
            Code::FailedPrecondition,
            "state was already used",
        ),
        (
            "expired",
            expired,
            ada(),
            Code::FailedPrecondition,
            "state expired",
        ),
        (
            "foreign",
            foreign.clone(),
            bob(),
            Code::FailedPrecondition,
            "state was issued to another user",
        ),
    ];
    for (case, state, bearer, code, message) in cases {
        let err = client
            .complete_salesforce_connection(authorized(complete(&state, GOOD_CODE), &bearer))
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{case}: {err:?}");
        assert!(err.message().contains(message), "{case}: {}", err.message());
    }
    assert_eq!(stack.fakes.salesforce.exchanges.load(Ordering::SeqCst), 1);
    // The foreign attempt did not burn the state: its owner still completes it.
    client
        .complete_salesforce_connection(authorized(complete(&foreign, GOOD_CODE), &ada()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ciphertext_moved_to_another_row_fails_to_decrypt() {
    let stack = start_stack().await;
    let a = stack.monday_connection(&ada()).await;
    let b = stack.monday_connection(&ada()).await;
    sqlx::query(
        "UPDATE connections SET access_token_ct = (SELECT access_token_ct FROM connections WHERE id = $1::uuid) WHERE id = $2::uuid",
    )
    .bind(&a.id)
    .bind(&b.id)
    .execute(&stack.pool)
    .await
    .unwrap();
    let mut client = stack.client.clone();
    let get = |id: &str| {
        authorized(
            pb::GetCredentialsRequest {
                connection_id: id.to_owned(),
            },
            &service_bearer("connector-monday"),
        )
    };
    let err = client.get_credentials(get(&b.id)).await.unwrap_err();
    assert_eq!(err.code(), Code::DataLoss, "{err:?}");
    assert!(!err.message().contains("monday-token"));
    let ok = client
        .get_credentials(get(&a.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.kind, pb::ConnectionKind::Monday as i32);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_monday_token_leaves_nothing_behind() {
    let stack = start_stack().await;
    let mut client = stack.client.clone();
    let cases = [
        ("wrong-token", "monday_token was refused by monday"),
        ("", "monday_token is required"),
    ];
    for (token, message) in cases {
        let err = client
            .create_connection(authorized(
                pb::CreateConnectionRequest {
                    kind: pb::ConnectionKind::Monday as i32,
                    monday_token: token.into(),
                    ..Default::default()
                },
                &ada(),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains(message), "{}", err.message());
    }
    assert_eq!(stack.count("connections").await, 0);
    assert_eq!(stack.fakes.monday.list_users.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_connection_requests_name_the_field_and_write_nothing() {
    let stack = start_stack().await;
    let mut client = stack.client.clone();
    let mut url_subdomain = start_request();
    url_subdomain.subdomain = "https://acme.my.salesforce.com".into();
    let mut no_env = start_request();
    no_env.environment = 0;
    let mut no_redirect = start_request();
    no_redirect.redirect_uri = String::new();
    let cases = [
        (pb::CreateConnectionRequest::default(), "kind"),
        (url_subdomain, "subdomain"),
        (no_env, "environment"),
        (no_redirect, "redirect_uri"),
    ];
    for (request, field) in cases {
        let err = client
            .create_connection(authorized(request, &ada()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    assert_eq!(stack.count("connections").await, 0);
    assert_eq!(stack.count("oauth_states").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_connection_revokes_its_token_and_pauses_its_integrations() {
    let stack = start_stack().await;
    let spec = stack.valid_spec(&ada()).await;
    let mut client = stack.client.clone();
    let integration = client
        .create_integration(create(&spec, &ada()))
        .await
        .unwrap()
        .into_inner();

    let denied = client
        .delete_connection(authorized(
            pb::DeleteConnectionRequest {
                id: spec.salesforce_connection_id.clone(),
            },
            &bob(),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let deleted = client
        .delete_connection(authorized(
            pb::DeleteConnectionRequest {
                id: spec.salesforce_connection_id.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.paused_integration_ids, vec![integration.id.clone()]);
    assert_eq!(
        *stack.fakes.salesforce.revoked.lock().unwrap(),
        vec!["REFRESH-1-secret".to_owned()]
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM connections WHERE id = $1::uuid")
        .bind(&spec.salesforce_connection_id)
        .fetch_one(&stack.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the ciphertext is gone with the row");
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
    assert!(
        paused.state_reason.contains("was deleted"),
        "{}",
        paused.state_reason
    );
    assert_eq!(paused.version, integration.version + 1);
    // Nothing else is lost: the settings are intact.
    assert_eq!(paused.spec.unwrap().mappings.len(), spec.mappings.len());

    // Both histories survive the deletion; the creator still reads the connection's.
    let log = |id: &str, bearer: &str| {
        let mut client = stack.client.clone();
        let request = authorized(
            pb::ListAuditLogRequest {
                subject_id: id.to_owned(),
                page: None,
            },
            bearer,
        );
        async move { client.list_audit_log(request).await }
    };
    let actions = |r: pb::ListAuditLogResponse| -> Vec<String> {
        r.entries.into_iter().map(|e| e.action).collect()
    };
    let connection_log = log(&spec.salesforce_connection_id, &ada()).await.unwrap();
    assert_eq!(
        actions(connection_log.into_inner()),
        ["deleted", "connected", "created"]
    );
    let integration_log = log(&integration.id, &ada()).await.unwrap();
    assert_eq!(actions(integration_log.into_inner()), ["paused", "created"]);
    let denied = log(&spec.salesforce_connection_id, &bob())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_key_rotation_old_rows_decrypt_and_move_to_the_newest_key() {
    use base64::Engine as _;

    let stack = start_stack().await;
    let monday = stack.monday_connection(&ada()).await;
    let salesforce = stack.salesforce_connection(&ada()).await;
    let old = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let new = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let rotated: mapping_config::KeyRing = format!("2:{new},1:{old}").parse().unwrap();
    let (_replica, mut client) = stack.replica(rotated).await;
    for id in [&monday.id, &salesforce.id] {
        let before = client
            .get_credentials(authorized(
                pb::GetCredentialsRequest {
                    connection_id: id.clone(),
                },
                &service_bearer("connector-salesforce"),
            ))
            .await
            .unwrap()
            .into_inner();
        let version: i32 =
            sqlx::query_scalar("SELECT key_version FROM connections WHERE id = $1::uuid")
                .bind(id)
                .fetch_one(&stack.pool)
                .await
                .unwrap();
        assert_eq!(version, 2, "re-encrypted on read");
        let after = client
            .get_credentials(authorized(
                pb::GetCredentialsRequest {
                    connection_id: id.clone(),
                },
                &service_bearer("connector-salesforce"),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(after.access_token, before.access_token);
    }
    // The refresh token moved too: a refresh through the rotated replica still works.
    let stale = stack.fakes.salesforce.issued.lock().unwrap()[0].clone();
    let refreshed = client
        .refresh_credentials(authorized(
            pb::RefreshCredentialsRequest {
                connection_id: salesforce.id.clone(),
                stale_access_token: stale,
            },
            &service_bearer("connector-salesforce"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refreshed.access_token, "00Dxx!REFRESHED-1");
    // The replica with only the old key can no longer read the rotated rows.
    let err = stack
        .client
        .clone()
        .get_credentials(authorized(
            pb::GetCredentialsRequest {
                connection_id: monday.id.clone(),
            },
            &service_bearer("connector-monday"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
}
