//! TLS on every gRPC listener and every call between services: a service given a certificate
//! serves TLS only, calls its peers at https:// URLs checked against the CA bundle, and refuses
//! plaintext peers; clients that do not trust the CA, or speak plaintext, get nothing.
//! (Every other test runs in development mode, in plaintext.)

use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_service::args::PeerArgs;
use tandem_testkit::tls::TestPki;
use tandem_testkit::{TestDb, authorized, infra, start, user_bearer_in};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::services::bind_service;

/// Peers nobody listens on, over TLS.
fn tls_peers() -> PeerArgs {
    let closed = "https://localhost:9".to_owned();
    PeerArgs {
        connector_salesforce_url: closed.clone(),
        connector_monday_url: closed.clone(),
        mapping_config_url: closed.clone(),
        sync_orchestrator_url: closed.clone(),
        run_history_url: closed,
    }
}

async fn channel(url: String, ca: Option<&str>) -> Result<Channel, tonic::transport::Error> {
    let mut endpoint = Endpoint::from_shared(url)?;
    if let Some(ca) = ca {
        endpoint = endpoint.tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca))
                .domain_name("localhost"),
        )?;
    }
    endpoint.connect().await
}

fn create_connection() -> tonic::Request<pb::CreateConnectionRequest> {
    authorized(
        pb::CreateConnectionRequest {
            kind: pb::ConnectionKind::Salesforce as i32,
            subdomain: "acme".into(),
            environment: pb::SalesforceEnvironment::Production as i32,
            redirect_uri: "https://tandem.example/oauth/callback".into(),
            ..Default::default()
        },
        &user_bearer_in("acme", "ada@acme.test"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn services_serve_tls_and_call_each_other_over_it_checked_against_the_ca() {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let ours = TestPki::new();
    let with_tls = || {
        let mut infra = infra(&db);
        infra.tls = ours.tls();
        infra
    };
    let salesforce = start(
        bind_service("connector-salesforce", with_tls(), tls_peers())
            .await
            .unwrap(),
    );
    let peers = PeerArgs {
        connector_salesforce_url: format!("https://localhost:{}", salesforce.addr.port()),
        ..tls_peers()
    };
    let mapping = start(
        bind_service("mapping-config", with_tls(), peers.clone())
            .await
            .unwrap(),
    );
    let url = format!("https://localhost:{}", mapping.addr.port());

    // A user over TLS; mapping-config asks connector-salesforce for the authorize URL over
    // TLS too, and gets its answer (this connector has no connected app configured: its
    // refusal, relayed, is the proof the call crossed).
    let mut client = MappingConfigClient::new(channel(url.clone(), Some(&ours.ca)).await.unwrap());
    let relayed = client
        .create_connection(create_connection())
        .await
        .unwrap_err();
    assert_eq!(
        relayed.code(),
        tonic::Code::FailedPrecondition,
        "{relayed:?}"
    );
    assert!(
        relayed
            .message()
            .starts_with("connector-salesforce: the Salesforce connected app is not configured"),
        "{}",
        relayed.message()
    );

    // Plaintext to a TLS listener gets no answer.
    let plain = format!("http://localhost:{}", mapping.addr.port());
    let answered = match channel(plain, None).await {
        Ok(c) => MappingConfigClient::new(c)
            .create_connection(create_connection())
            .await
            .is_ok(),
        Err(_) => false,
    };
    assert!(!answered, "a plaintext call was answered");
    // A client that trusts another CA does not connect.
    let stranger = TestPki::new();
    assert!(channel(url, Some(&stranger.ca)).await.is_err());

    // A service whose peer's certificate its CA did not sign cannot reach it.
    let mut distrusting = infra(&db);
    distrusting.tls = ours.tls_trusting(&stranger.ca);
    let lost = start(
        bind_service("mapping-config", distrusting, peers.clone())
            .await
            .unwrap(),
    );
    let mut client = MappingConfigClient::new(
        channel(
            format!("https://localhost:{}", lost.addr.port()),
            Some(&ours.ca),
        )
        .await
        .unwrap(),
    );
    let status = client
        .create_connection(create_connection())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    // A TLS service refuses a plaintext peer (its token would cross in clear).
    let error = bind_service(
        "mapping-config",
        with_tls(),
        PeerArgs {
            connector_salesforce_url: "http://localhost:9".into(),
            ..peers
        },
    )
    .await
    .err()
    .unwrap();
    assert!(error.contains("must be https://"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_in_one_process_runs_over_tls_when_given_a_certificate() {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let pki = TestPki::new();
    let mut infra = infra(&db);
    infra.tls = pki.tls();
    let services = tandem_stack::bind_services(
        tandem_stack::Listens::any(),
        tandem_stack::ServicesConfig {
            infra,
            remote: tandem_service::args::RemoteArgs {
                salesforce_instance_url: None,
                salesforce_login_url: None,
                monday_api_url: "http://127.0.0.1:9/v2".to_owned(),
            },
            salesforce: Default::default(),
            monday: Default::default(),
            mapping_config: mapping_config::Options {
                encryption_keys: Some(mapping_config::KeyRing::ephemeral()),
            },
            orchestrator: sync_orchestrator::Options {
                scheduler_tick_ms: 0,
                ..Default::default()
            },
            history: Default::default(),
            register_webhooks_here: false,
        },
    )
    .await
    .unwrap();
    assert!(
        services
            .peers
            .mapping_config_url
            .starts_with("https://localhost:")
    );
    let url = services.peers.mapping_config_url.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(tandem_stack::serve_all(services.servers, stop.clone()));
    let mut client = MappingConfigClient::new(channel(url, Some(&pki.ca)).await.unwrap());
    let relayed = client
        .create_connection(create_connection())
        .await
        .unwrap_err();
    assert!(
        relayed.message().starts_with("connector-salesforce: "),
        "the call crossed to connector-salesforce over TLS: {relayed:?}"
    );
    stop.cancel();
    serving.await.unwrap().unwrap();
}

/// What TLS costs a call: 500 ListConnections on one connection, plaintext and TLS (ignored;
/// `cargo nextest run -p tandem-e2e --run-ignored only --no-capture measure_tls`).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement"]
async fn measure_tls_against_plaintext() {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let pki = TestPki::new();
    let mut with_tls = infra(&db);
    with_tls.tls = pki.tls();
    let plain = start(
        bind_service("mapping-config", infra(&db), crate::services::no_peers())
            .await
            .unwrap(),
    );
    let tls = start(
        bind_service("mapping-config", with_tls, tls_peers())
            .await
            .unwrap(),
    );
    let cases = [
        (
            "plaintext",
            format!("http://localhost:{}", plain.addr.port()),
            None,
        ),
        (
            "tls",
            format!("https://localhost:{}", tls.addr.port()),
            Some(pki.ca.as_str()),
        ),
    ];
    for (label, url, ca) in cases {
        let connected = std::time::Instant::now();
        let mut client = MappingConfigClient::new(channel(url, ca).await.unwrap());
        let connect_ms = connected.elapsed().as_secs_f64() * 1_000.0;
        let mut ms = Vec::new();
        for _ in 0..500 {
            let t = std::time::Instant::now();
            client
                .list_connections(authorized(
                    pb::ListConnectionsRequest::default(),
                    &user_bearer_in("acme", "ada@acme.test"),
                ))
                .await
                .unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1_000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{label}: connect {connect_ms:.2} ms; ListConnections mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms",
            ms.iter().sum::<f64>() / ms.len() as f64,
            ms[ms.len() / 2],
            ms[ms.len() * 99 / 100]
        );
    }
}
