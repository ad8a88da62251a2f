//! Message size limits by caller: a user's oversized or service-only request is refused from
//! its headers, before the server reads (let alone decodes) its body; Tandem services keep the
//! large limit their polls and imports need.

use tandem_testkit::{TestDb, service_bearer, user_bearer_in};
use tonic::Code;

use crate::services::{no_peers, start_service};

/// Sends `payload` (an encoded message, or garbage) to `path` as `bearer`; the status.
async fn send(
    channel: tonic::transport::Channel,
    path: &str,
    payload: Vec<u8>,
    bearer: &str,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel).max_encoding_message_size(usize::MAX);
    grpc.ready().await.unwrap();
    // prost encodes a Vec<u8> as field 1, length-delimited: a string field 1 for the
    // requests here, so garbage bytes would not decode as one.
    grpc.unary::<Vec<u8>, (), _>(
        tandem_testkit::authorized(payload, bearer),
        path.parse::<http::uri::PathAndQuery>().unwrap(),
        tonic_prost::ProstCodec::default(),
    )
    .await
    .expect_err("refused")
}

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn a_user_cannot_make_a_service_read_a_large_service_only_message() {
    let db = TestDb::create().await;
    let ada = user_bearer_in("acme", "ada@acme.test");
    let eve = user_bearer_in("globex", "eve@globex.test");
    // 0xFF is not UTF-8: had the server decoded these, it would answer INTERNAL (a decode
    // error); had it read them under the user limit, OUT_OF_RANGE (16 MiB > 4 MiB). Only a
    // refusal from the headers answers PERMISSION_DENIED.
    let garbage = vec![0xFF_u8; 16 * MIB];
    // Every RPC of both connectors (read from the contract, so a new one is covered) and the
    // writing RPCs of run-history.
    let mut cases: Vec<(&str, String)> = ["StartRun", "AppendEvents", "FinishRun", "PurgeExpired"]
        .iter()
        .map(|m| ("run-history", format!("/tandem.v1.RunHistory/{m}")))
        .collect();
    cases.push((
        "sync-orchestrator",
        "/tandem.v1.SyncOrchestrator/SubmitChanges".to_owned(),
    ));
    for (service, grpc_name) in [
        ("connector-salesforce", "SalesforceConnector"),
        ("connector-monday", "MondayConnector"),
    ] {
        let methods = methods_of(grpc_name);
        assert!(!methods.is_empty(), "{grpc_name} has methods");
        cases.extend(
            methods
                .into_iter()
                .map(|m| (service, format!("/tandem.v1.{grpc_name}/{m}"))),
        );
    }
    let mut last: Option<(&str, tandem_testkit::Running)> = None;
    for (service, path) in cases {
        if last.as_ref().is_none_or(|(name, _)| *name != service) {
            last = Some((service, start_service(service, &db, no_peers()).await));
        }
        let channel = last.as_ref().unwrap().1.channel().await;
        for bearer in [&ada, &eve] {
            let status = send(channel.clone(), &path, garbage.clone(), bearer).await;
            assert_eq!(status.code(), Code::PermissionDenied, "{path}: {status:?}");
            assert!(
                status
                    .message()
                    .contains("is for Tandem services, not users"),
                "{path}: {}",
                status.message()
            );
        }
    }
}

/// The method names of `tandem.v1.<service>` in the contract.
fn methods_of(service: &str) -> Vec<String> {
    use prost::Message as _;
    let set = prost_types::FileDescriptorSet::decode(tandem_proto::FILE_DESCRIPTOR_SET).unwrap();
    set.file
        .iter()
        .filter(|f| f.package() == "tandem.v1")
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == service)
        .flat_map(|s| s.method.iter().map(|m| m.name().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_message_over_four_mib_is_refused_while_services_keep_the_large_limit() {
    let db = TestDb::create().await;
    let running = start_service("run-history", &db, no_peers()).await;
    let ada = user_bearer_in("acme", "ada@acme.test");
    let path = "/tandem.v1.RunHistory/ListRuns";
    let big = vec![0xFF_u8; 5 * MIB];

    // A user-facing RPC: refused from the frame's length, before the body is buffered.
    let status = send(running.channel().await, path, big.clone(), &ada).await;
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("the limit is: 4194304 bytes"),
        "{}",
        status.message()
    );
    // Just under the limit a user's message is read (and this garbage fails to decode).
    let status = send(running.channel().await, path, vec![0xFF_u8; 3 * MIB], &ada).await;
    assert_ne!(status.code(), Code::OutOfRange, "{status:?}");

    // A service's 5 MiB message (to an RPC it may call) is read and decoded: the decode
    // error proves it. (ListRuns is for users: no service may call it at all.)
    let status = send(
        running.channel().await,
        "/tandem.v1.RunHistory/AppendEvents",
        big,
        &service_bearer("sync-orchestrator"),
    )
    .await;
    assert_ne!(status.code(), Code::OutOfRange, "{status:?}");
    assert_ne!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("decode"), "{status:?}");
}

/// The orchestrator too: a user's message over 4 MiB is refused before it is decoded.
#[tokio::test(flavor = "multi_thread")]
async fn the_orchestrator_refuses_a_users_message_over_four_mib() {
    let db = TestDb::create().await;
    let running = start_service("sync-orchestrator", &db, no_peers()).await;
    let ada = user_bearer_in("acme", "ada@acme.test");
    let path = "/tandem.v1.SyncOrchestrator/GetIntegrationStatus";
    let status = send(running.channel().await, path, vec![0xFF_u8; 5 * MIB], &ada).await;
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}
