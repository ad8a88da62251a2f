//! mapping-config wired to the REAL connector-salesforce and salesforce-sim (all in-process,
//! port 0). Its listener is bound first, since the connector and mapping-config call each
//! other (the connector resolves tokens through GetCredentials/RefreshCredentials).

use std::collections::HashMap;

use salesforce_sim::SimHandle;
use sqlx::PgPool;
use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_service::args::{PeerArgs, RemoteArgs};
use tandem_testkit::{Running, TestDb, any_port, authorized, infra, start};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::fakes::{self, Fakes};
use crate::harness::keys;

pub const REDIRECT: &str = "https://tandem.example/oauth/callback";

pub struct LiveStack {
    pub client: MappingConfigClient<Channel>,
    pub pool: PgPool,
    pub salesforce: SimHandle,
    pub salesforce_url: String,
    /// The monday side stays a stand-in until connector-monday lands.
    _fakes: Fakes,
    _connector: Running,
    _service: Running,
    _db: TestDb,
    stop: CancellationToken,
}

impl Drop for LiveStack {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn start_live() -> LiveStack {
    let db = TestDb::create().await;
    let stop = CancellationToken::new();
    let sim = salesforce_sim::bind(salesforce_sim::Config::default())
        .await
        .expect("salesforce-sim binds");
    let salesforce_url = sim.base_url();
    let salesforce = sim.handle();
    tokio::spawn(sim.serve(stop.clone()));

    let listener = tandem_service::server::bind(any_port()).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fakes = fakes::start_fakes(&url).await;
    let connector_listener = tandem_service::server::bind(any_port()).await.unwrap();
    let connector_url = format!("http://{}", connector_listener.local_addr().unwrap());
    let closed = "http://127.0.0.1:9".to_owned();
    let peers = PeerArgs {
        connector_salesforce_url: connector_url,
        connector_monday_url: fakes.monday_server.url(),
        mapping_config_url: url,
        sync_orchestrator_url: closed.clone(),
        run_history_url: closed.clone(),
    };
    let connector = connector_salesforce::bind_on(
        connector_listener,
        connector_salesforce::Config {
            listen: any_port(),
            infra: infra(&db),
            peers: peers.clone(),
            remote: RemoteArgs {
                salesforce_instance_url: Some(salesforce_url.clone()),
                salesforce_login_url: Some(salesforce_url.clone()),
                monday_api_url: closed,
            },
            options: connector_salesforce::Options {
                client_id: Some("tandem-test-client".to_owned()),
                client_secret: Some("test-secret".to_owned().into()),
                retry_base_ms: 5,
                ..Default::default()
            },
        },
    )
    .await
    .expect("connector-salesforce starts");
    let connector = start(connector);
    let service = start(
        mapping_config::bind_on(
            listener,
            mapping_config::Config {
                listen: any_port(),
                infra: infra(&db),
                peers,
                options: mapping_config::Options {
                    encryption_keys: Some(keys()),
                },
            },
        )
        .await
        .unwrap(),
    );
    let client = MappingConfigClient::new(service.channel().await);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(
            db.url()
                .parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap()
                .options([("search_path", "config")]),
        )
        .await
        .unwrap();
    LiveStack {
        client,
        pool,
        salesforce,
        salesforce_url,
        _fakes: fakes,
        _connector: connector,
        _service: service,
        _db: db,
        stop,
    }
}

/// Follows an authorize URL at the simulator (which approves at once) and returns the
/// `code` and `state` of the callback.
pub async fn approve(url: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302, "{url}");
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let callback = reqwest::Url::parse(&location).unwrap();
    let pairs: HashMap<_, _> = callback.query_pairs().into_owned().collect();
    (pairs["code"].clone(), pairs["state"].clone())
}

impl LiveStack {
    /// Runs the whole OAuth flow for `bearer` through the connector and the simulator.
    pub async fn connect_salesforce(&self, bearer: &str) -> pb::Connection {
        let mut client = self.client.clone();
        let started = client
            .create_connection(authorized(
                pb::CreateConnectionRequest {
                    kind: pb::ConnectionKind::Salesforce as i32,
                    subdomain: "acme".into(),
                    environment: pb::SalesforceEnvironment::Production as i32,
                    redirect_uri: REDIRECT.into(),
                    ..Default::default()
                },
                bearer,
            ))
            .await
            .unwrap()
            .into_inner();
        let (code, state) = approve(&started.authorize_url).await;
        assert_eq!(state, started.state, "the state travels through Salesforce");
        client
            .complete_salesforce_connection(authorized(
                pb::CompleteSalesforceConnectionRequest { state, code },
                bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }
}
