//! Every service boots for real: health, reflection, caller identity, UNIMPLEMENTED stubs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_proto::v1;
use tandem_service::{Identity, TokenSigner};
use tandem_testkit::{TestDb, authorized, signer, user_bearer};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::services::{ALL, no_peers, start_service};

fn grpc_name(service: &str) -> &'static str {
    match service {
        "connector-salesforce" => "tandem.v1.SalesforceConnector",
        "connector-monday" => "tandem.v1.MondayConnector",
        "mapping-config" => "tandem.v1.MappingConfig",
        "sync-orchestrator" => "tandem.v1.SyncOrchestrator",
        "run-history" => "tandem.v1.RunHistory",
        other => panic!("no service named {other}"),
    }
}

/// Calls one RPC of `service` with `bearer` as authorization; for every service but
/// run-history and connector-monday (complete) it is one not implemented yet.
async fn call_one_rpc(service: &str, channel: Channel, bearer: Option<&str>) -> tonic::Status {
    fn req<T>(m: T, bearer: Option<&str>) -> tonic::Request<T> {
        match bearer {
            Some(b) => authorized(m, b),
            None => tonic::Request::new(m),
        }
    }
    let result = match service {
        "connector-salesforce" => {
            v1::salesforce_connector_client::SalesforceConnectorClient::new(channel)
                .describe_global(req(v1::DescribeGlobalRequest::default(), bearer))
                .await
                .map(drop)
        }
        "connector-monday" => v1::monday_connector_client::MondayConnectorClient::new(channel)
            .get_board(req(v1::GetBoardRequest::default(), bearer))
            .await
            .map(drop),
        "mapping-config" => v1::mapping_config_client::MappingConfigClient::new(channel)
            .list_connections(req(v1::ListConnectionsRequest::default(), bearer))
            .await
            .map(drop),
        "sync-orchestrator" => v1::sync_orchestrator_client::SyncOrchestratorClient::new(channel)
            .pause_integration(req(v1::PauseIntegrationRequest::default(), bearer))
            .await
            .map(drop),
        "run-history" => v1::run_history_client::RunHistoryClient::new(channel)
            .list_runs(req(v1::ListRunsRequest::default(), bearer))
            .await
            .map(drop),
        other => panic!("no service named {other}"),
    };
    result.expect_err("the call must fail")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_service_reports_serving_on_health() {
    let db = TestDb::create().await;
    for service in ALL {
        let running = start_service(service, &db, no_peers()).await;
        let mut health = HealthClient::new(running.channel().await);
        for name in ["", grpc_name(service)] {
            let status = health
                .check(HealthCheckRequest {
                    service: name.to_owned(),
                })
                .await
                .unwrap_or_else(|e| panic!("{service} health `{name}`: {e}"))
                .into_inner()
                .status;
            assert_eq!(status, ServingStatus::Serving as i32, "{service} `{name}`");
        }
        let unknown = health
            .check(HealthCheckRequest {
                service: "no.such.Service".to_owned(),
            })
            .await
            .expect_err("unknown service");
        assert_eq!(unknown.code(), Code::NotFound, "{service}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_method_the_contract_does_not_have_answers_unimplemented() {
    let db = TestDb::create().await;
    let bearer = user_bearer("ada@acme.test");
    // Every RPC of the contract is implemented now; a method a client invents is not.
    for service in ALL {
        let running = start_service(service, &db, no_peers()).await;
        let mut grpc = tonic::client::Grpc::new(running.channel().await);
        grpc.ready().await.unwrap();
        let path = format!("/{}/NoSuchMethod", grpc_name(service));
        let status = grpc
            .unary::<(), (), _>(
                authorized((), &bearer),
                path.parse::<http::uri::PathAndQuery>().unwrap(),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .expect_err("no such method");
        assert_eq!(status.code(), Code::Unimplemented, "{service}: {status:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let db = TestDb::create().await;
    let ada = Identity::User {
        account: "acme".to_owned(),
        email: "ada@acme.test".to_owned(),
    };
    let forger = TokenSigner::new("a-different-secret-0123456789abcdef".to_owned().into()).unwrap();
    let forged = format!("Bearer {}", forger.mint(&ada, Duration::from_secs(600)));
    let an_hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    let expired = format!("Bearer {}", signer().mint_until(&ada, an_hour_ago));
    // Signed with the right secret, valid until 2286.
    let everlasting = format!("Bearer {}", signer().mint_until(&ada, 9_999_999_999));
    let cases: [(&str, Option<&str>, &str); 6] = [
        ("missing", None, "missing `authorization`"),
        ("forged", Some(&forged), "signature"),
        ("expired", Some(&expired), "expired"),
        ("everlasting", Some(&everlasting), "maximum lifetime"),
        ("not bearer", Some("Basic YWRhOnB3"), "Bearer"),
        ("garbage", Some("Bearer not-a-token"), "well-formed"),
    ];
    for service in ALL {
        let running = start_service(service, &db, no_peers()).await;
        for (case, bearer, message) in cases {
            let status = call_one_rpc(service, running.channel().await, bearer).await;
            assert_eq!(
                status.code(),
                Code::Unauthenticated,
                "{service} {case}: {status:?}"
            );
            assert!(
                status.message().contains(message),
                "{service} {case}: message `{}` should mention `{message}`",
                status.message()
            );
        }
    }
}

/// The services a server's reflection lists (v1 or v1alpha), sorted.
async fn listed_services(channel: Channel, alpha: bool) -> Vec<String> {
    use tokio_stream::StreamExt as _;
    use tonic_reflection::pb::{v1 as r1, v1alpha as r1a};

    let mut names: Vec<String> = if alpha {
        let request = r1a::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                r1a::server_reflection_request::MessageRequest::ListServices(String::new()),
            ),
        };
        let mut stream = r1a::server_reflection_client::ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        let response = stream.next().await.expect("one response").expect("ok");
        let Some(r1a::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
            response.message_response
        else {
            panic!("expected a service list: {response:?}");
        };
        list.service.into_iter().map(|s| s.name).collect()
    } else {
        let request = r1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(r1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut stream = r1::server_reflection_client::ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1")
            .into_inner();
        let response = stream.next().await.expect("one response").expect("ok");
        let Some(r1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
            response.message_response
        else {
            panic!("expected a service list: {response:?}");
        };
        list.service.into_iter().map(|s| s.name).collect()
    };
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_exactly_the_services_each_server_answers() {
    let db = TestDb::create().await;
    for service in ALL {
        let running = start_service(service, &db, no_peers()).await;
        let mut expected: Vec<String> = [
            grpc_name(service),
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
        .map(str::to_owned)
        .to_vec();
        expected.sort();
        for alpha in [false, true] {
            assert_eq!(
                listed_services(running.channel().await, alpha).await,
                expected,
                "{service} (v1alpha: {alpha})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_v1alpha_describes_the_service() {
    use tokio_stream::StreamExt as _;
    use tonic_reflection::pb::v1alpha as r1a;

    let db = TestDb::create().await;
    let running = start_service("run-history", &db, no_peers()).await;

    let mut client =
        r1a::server_reflection_client::ServerReflectionClient::new(running.channel().await);
    let request = r1a::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            r1a::server_reflection_request::MessageRequest::FileContainingSymbol(
                "tandem.v1.RunHistory".to_owned(),
            ),
        ),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let response = stream.next().await.expect("one response").expect("ok");
    assert!(
        matches!(
            response.message_response,
            Some(r1a::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()
        ),
        "v1alpha must describe tandem.v1.RunHistory: {response:?}"
    );
}
