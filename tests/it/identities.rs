//! Callers and services are different principals: a service is proven by its own key (never
//! by the development secret users' tokens come from), each service-only RPC admits only the
//! services it names, and users come from the identity provider (OIDC discovery + JWKS).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tandem_proto::v1 as pb;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_service::auth::{UserTokens, Verifier};
use tandem_service::names::*;
use tandem_service::oidc::{OidcConfig, OidcVerifier};
use tandem_service::service_key::KeySet;
use tandem_service::{Auth, Identity};
use tandem_testkit::oidc::{AUDIENCE, TestIssuer, unix_now};
use tandem_testkit::{TestDb, any_port, authorized, service_bearer, start, user_bearer};
use tonic::Code;

use crate::services::{no_peers, start_service};

/// Sends a small undecodable body to `path` as `bearer`; the status (OK if it was answered:
/// a streaming RPC may answer before it reads the body).
async fn send(channel: tonic::transport::Channel, path: &str, bearer: &str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary::<Vec<u8>, (), _>(
        authorized(vec![0xFF_u8; 16], bearer),
        path.parse::<http::uri::PathAndQuery>().unwrap(),
        tonic_prost::ProstCodec::default(),
    )
    .await
    .err()
    .unwrap_or_else(|| tonic::Status::ok(""))
}

/// Every service-only RPC and the services that may call it: the policy, stated once more
/// here so that a change to it is a change to this test.
const POLICY: &[(&str, &str, &[&str])] = &[
    (
        "mapping-config",
        "MappingConfig/GetCredentials",
        &[CONNECTOR_SALESFORCE, CONNECTOR_MONDAY],
    ),
    (
        "mapping-config",
        "MappingConfig/RefreshCredentials",
        &[CONNECTOR_SALESFORCE, CONNECTOR_MONDAY],
    ),
    (
        "sync-orchestrator",
        "SyncOrchestrator/SubmitChanges",
        &[CONNECTOR_MONDAY],
    ),
    ("run-history", "RunHistory/StartRun", &[SYNC_ORCHESTRATOR]),
    (
        "run-history",
        "RunHistory/AppendEvents",
        &[SYNC_ORCHESTRATOR],
    ),
    ("run-history", "RunHistory/FinishRun", &[SYNC_ORCHESTRATOR]),
    (
        "run-history",
        "RunHistory/PurgeExpired",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/AuthorizeUrl",
        &[MAPPING_CONFIG],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/ExchangeCode",
        &[MAPPING_CONFIG],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/RefreshToken",
        &[MAPPING_CONFIG],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/RevokeToken",
        &[MAPPING_CONFIG],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/DescribeGlobal",
        &[MAPPING_CONFIG, SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/DescribeObject",
        &[MAPPING_CONFIG, SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/GetOrganization",
        &[MAPPING_CONFIG, SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/PollChanges",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/GetRecords",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/FindRecords",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/WriteRecords",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/FindUsers",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-salesforce",
        "SalesforceConnector/StreamChanges",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-monday",
        "MondayConnector/GetBoard",
        &[MAPPING_CONFIG, SYNC_ORCHESTRATOR],
    ),
    (
        "connector-monday",
        "MondayConnector/ListUsers",
        &[MAPPING_CONFIG, SYNC_ORCHESTRATOR],
    ),
    (
        "connector-monday",
        "MondayConnector/ListBoards",
        &[MAPPING_CONFIG],
    ),
    (
        "connector-monday",
        "MondayConnector/PollChanges",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-monday",
        "MondayConnector/GetItems",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-monday",
        "MondayConnector/FindItems",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "connector-monday",
        "MondayConnector/WriteItems",
        &[SYNC_ORCHESTRATOR],
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn a_service_calling_an_rpc_not_meant_for_it_is_refused_naming_the_rpc() {
    let db = TestDb::create().await;
    let mut last: Option<(&str, tandem_testkit::Running)> = None;
    for (service, rpc, allowed) in POLICY {
        if last.as_ref().is_none_or(|(name, _)| name != service) {
            last = Some((service, start_service(service, &db, no_peers()).await));
        }
        let channel = last.as_ref().unwrap().1.channel().await;
        let path = format!("/tandem.v1.{rpc}");
        let method = rpc.rsplit('/').next().unwrap();
        for caller in ALL {
            let status = send(channel.clone(), &path, &service_bearer(caller)).await;
            if allowed.contains(&caller) {
                // Admitted: the garbage body is read and fails to decode.
                assert_ne!(
                    status.code(),
                    Code::PermissionDenied,
                    "{caller} → {rpc}: {status:?}"
                );
            } else {
                assert_eq!(
                    status.code(),
                    Code::PermissionDenied,
                    "{caller} → {rpc}: {status:?}"
                );
                assert!(
                    status.message().contains(method) && status.message().contains(caller),
                    "{caller} → {rpc}: {}",
                    status.message()
                );
            }
        }
    }
}

/// The RPCs users call, and the services that may call them too (none for most): a service
/// token is no master key to every account's data.
const SHARED_POLICY: &[(&str, &str, &[&str])] = &[
    (
        "mapping-config",
        "MappingConfig/GetIntegration",
        &[SYNC_ORCHESTRATOR],
    ),
    (
        "mapping-config",
        "MappingConfig/ListIntegrations",
        &[SYNC_ORCHESTRATOR, CONNECTOR_MONDAY],
    ),
    (
        "mapping-config",
        "MappingConfig/SetIntegrationState",
        &[SYNC_ORCHESTRATOR],
    ),
    ("mapping-config", "MappingConfig/GetConnection", &[]),
    ("mapping-config", "MappingConfig/ListConnections", &[]),
    ("mapping-config", "MappingConfig/CreateConnection", &[]),
    ("mapping-config", "MappingConfig/DeleteConnection", &[]),
    ("mapping-config", "MappingConfig/CreateIntegration", &[]),
    ("mapping-config", "MappingConfig/UpdateIntegration", &[]),
    ("mapping-config", "MappingConfig/DeleteIntegration", &[]),
    ("mapping-config", "MappingConfig/TransferOwnership", &[]),
    ("mapping-config", "MappingConfig/ValidateIntegration", &[]),
    ("mapping-config", "MappingConfig/SuggestMapping", &[]),
    ("mapping-config", "MappingConfig/ListBoards", &[]),
    ("mapping-config", "MappingConfig/ListObjects", &[]),
    ("mapping-config", "MappingConfig/ListAuditLog", &[]),
    ("sync-orchestrator", "SyncOrchestrator/SyncNow", &[]),
    ("sync-orchestrator", "SyncOrchestrator/Import", &[]),
    (
        "sync-orchestrator",
        "SyncOrchestrator/PauseIntegration",
        &[],
    ),
    (
        "sync-orchestrator",
        "SyncOrchestrator/ResumeIntegration",
        &[],
    ),
    (
        "sync-orchestrator",
        "SyncOrchestrator/GetIntegrationStatus",
        &[],
    ),
    ("run-history", "RunHistory/ListRuns", &[]),
    ("run-history", "RunHistory/GetRun", &[]),
    ("run-history", "RunHistory/ListEvents", &[]),
];

#[tokio::test(flavor = "multi_thread")]
async fn an_rpc_users_call_admits_only_the_services_named_for_it_and_every_user() {
    let db = TestDb::create().await;
    let mut last: Option<(&str, tandem_testkit::Running)> = None;
    for (service, rpc, allowed) in SHARED_POLICY {
        if last.as_ref().is_none_or(|(name, _)| name != service) {
            last = Some((service, start_service(service, &db, no_peers()).await));
        }
        let channel = last.as_ref().unwrap().1.channel().await;
        let path = format!("/tandem.v1.{rpc}");
        let method = rpc.rsplit('/').next().unwrap();
        let user = send(channel.clone(), &path, &user_bearer("ada@acme.test")).await;
        assert_ne!(
            user.code(),
            Code::PermissionDenied,
            "a user → {rpc}: {user:?}"
        );
        for caller in ALL {
            let status = send(channel.clone(), &path, &service_bearer(caller)).await;
            if allowed.contains(&caller) {
                assert_ne!(
                    status.code(),
                    Code::PermissionDenied,
                    "{caller} → {rpc}: {status:?}"
                );
            } else {
                assert_eq!(
                    status.code(),
                    Code::PermissionDenied,
                    "{caller} → {rpc}: {status:?}"
                );
                assert!(
                    status.message().contains(method) && status.message().contains(caller),
                    "{caller} → {rpc}: {}",
                    status.message()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_token_minted_from_the_user_secret_or_another_key_is_refused() {
    let db = TestDb::create().await;
    let history = start_service("run-history", &db, no_peers()).await;
    let orchestrator = Identity::Service {
        name: SYNC_ORCHESTRATOR.to_owned(),
    };
    // What `tandem token --service` used to mint: the development secret, `sub: service:…`.
    let forged = format!(
        "Bearer {}",
        tandem_testkit::signer().mint(&orchestrator, Duration::from_secs(600))
    );
    // A key pair of the right name that this deployment was never told about.
    let stranger = KeySet::generate(&[SYNC_ORCHESTRATOR]);
    let unknown_key = format!(
        "Bearer {}",
        stranger
            .signing
            .signer(SYNC_ORCHESTRATOR)
            .unwrap()
            .mint(Duration::from_secs(60))
    );
    for (bearer, why) in [
        (&forged, "cannot name a service"),
        (&unknown_key, "signature does not verify"),
    ] {
        for path in [
            "/tandem.v1.RunHistory/AppendEvents",
            "/tandem.v1.RunHistory/ListRuns",
        ] {
            let status = send(history.channel().await, path, bearer).await;
            assert_eq!(status.code(), Code::Unauthenticated, "{path}: {status:?}");
            assert!(
                status.message().contains(why),
                "{path}: {}",
                status.message()
            );
        }
    }
    // The same RPC with the orchestrator's own key is admitted (and the garbage refused).
    let status = send(
        history.channel().await,
        "/tandem.v1.RunHistory/AppendEvents",
        &service_bearer(SYNC_ORCHESTRATOR),
    )
    .await;
    assert!(
        !matches!(
            status.code(),
            Code::Unauthenticated | Code::PermissionDenied
        ),
        "{status:?}"
    );
}

/// Identity-provider users, the test services' keys; the keys refetched for an unknown key id
/// at most every `refetch`.
fn oidc_auth(issuer: &TestIssuer, refetch: Duration) -> Auth {
    let mut config = OidcConfig::new(issuer.issuer(), AUDIENCE);
    config.max_lifetime = Duration::from_secs(3600);
    config.clock_skew = Duration::from_secs(30);
    config.refetch_interval = refetch;
    let keys = tandem_testkit::service_keys();
    Auth {
        verifier: Verifier::new(
            UserTokens::Oidc(Arc::new(OidcVerifier::new(config).unwrap())),
            keys.public.clone(),
        ),
        signing: keys.signing.clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_provider_tokens_are_checked_for_issuer_audience_and_lifetime() {
    let db = TestDb::create().await;
    let issuer = TestIssuer::start().await;
    let mut infra = tandem_testkit::infra(&db);
    infra.auth = oidc_auth(&issuer, Duration::from_millis(500));
    let running = start(
        run_history::bind(run_history::Config {
            listen: any_port(),
            infra,
            options: Default::default(),
        })
        .await
        .unwrap(),
    );
    let client = RunHistoryClient::new(running.channel().await);
    let list = |token: String| {
        let mut client = client.clone();
        async move {
            client
                .list_runs(authorized(
                    pb::ListRunsRequest::default(),
                    &format!("Bearer {token}"),
                ))
                .await
        }
    };
    let good = issuer.claims("acme", "ada@acme.test");
    list(issuer.sign(&good))
        .await
        .expect("the provider's user is accepted");

    let now = unix_now();
    let refused = [
        (
            json!({"iss": "https://elsewhere.example.com"}),
            "another issuer",
        ),
        (json!({"aud": "another-app"}), "another audience"),
        (json!({"iat": now - 1200, "exp": now - 600}), "expired"),
        (json!({"exp": now + 7200}), "maximum lifetime"),
        (json!({"exp": "9999999999"}), "neither a user"),
        (json!({"email_verified": false}), "not verified"),
        (json!({"tandem_account": ""}), "neither a user"),
    ];
    for (change, why) in refused {
        let mut claims = good.clone();
        for (k, v) in change.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let status = list(issuer.sign(&claims)).await.expect_err(why);
        assert_eq!(status.code(), Code::Unauthenticated, "{why}: {status:?}");
        assert!(
            status.message().contains(why),
            "{why}: {}",
            status.message()
        );
    }
    // Development tokens are not accepted beside the provider.
    let status = list(
        user_bearer("ada@acme.test")
            .trim_start_matches("Bearer ")
            .to_owned(),
    )
    .await
    .unwrap_err();
    assert!(
        status.message().contains("only in development mode"),
        "{}",
        status.message()
    );

    // The provider rotates to an RS256 key: once the refetch interval has passed, a token
    // with the new key id fetches the new keys; the old key is gone with the rotation.
    let old_token = issuer.sign(&good);
    let fetches = issuer.jwks_fetches();
    issuer.rotate(true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    list(issuer.sign(&good))
        .await
        .expect("a token of the rotated key is accepted");
    assert_eq!(issuer.jwks_fetches(), fetches + 1);
    // Unknown key ids within the interval do not reach the provider again.
    let status = list(old_token.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    for _ in 0..20 {
        let _ = list(old_token.clone()).await.unwrap_err();
    }
    assert_eq!(issuer.jwks_fetches(), fetches + 1, "refetches are bounded");
    // Rotating back to a fresh ES256 key works the same way.
    issuer.rotate(false);
    tokio::time::sleep(Duration::from_millis(600)).await;
    list(issuer.sign(&good))
        .await
        .expect("a token of the next key is accepted");
}
