//! mapping-config wired to the REAL connector-salesforce and connector-monday and both
//! simulators (all in-process, port 0). Its listener is bound first, since the connector and mapping-config call each
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

use crate::harness::keys;

pub const REDIRECT: &str = "https://tandem.example/oauth/callback";

pub struct LiveStack {
    pub client: MappingConfigClient<Channel>,
    pub pool: PgPool,
    pub salesforce: SimHandle,
    pub salesforce_url: String,
    /// connector-salesforce's gRPC URL, for calling it as another service would.
    pub salesforce_connector_url: String,
    pub monday: monday_sim::SimHandle,
    /// The monday account's API token, and the id of its "Deals" board.
    pub monday_token: String,
    pub board: String,
    _connectors: [Running; 2],
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

    let monday_sim = monday_sim::bind(monday_sim::Config {
        listen: any_port(),
        ..Default::default()
    })
    .await
    .expect("monday-sim binds");
    let monday = monday_sim.handle();
    tokio::spawn(monday_sim.serve(stop.clone()));
    let account = monday.create_account("Acme", "Ada Admin", "ada@acme.test");
    let board = deals_board(&monday, account.account_id);

    let listener = tandem_service::server::bind(any_port()).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let monday_listener = tandem_service::server::bind(any_port()).await.unwrap();
    let monday_url = format!("http://{}", monday_listener.local_addr().unwrap());
    let connector_listener = tandem_service::server::bind(any_port()).await.unwrap();
    let connector_url = format!("http://{}", connector_listener.local_addr().unwrap());
    let salesforce_connector_url = connector_url.clone();
    let closed = "http://127.0.0.1:9".to_owned();
    let peers = PeerArgs {
        connector_salesforce_url: connector_url,
        connector_monday_url: monday_url,
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
                monday_api_url: closed.clone(),
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
    let monday_connector = connector_monday::bind_on(
        monday_listener,
        connector_monday::Config {
            listen: any_port(),
            infra: infra(&db),
            peers: peers.clone(),
            remote: RemoteArgs {
                salesforce_instance_url: None,
                salesforce_login_url: None,
                monday_api_url: monday.api_url(),
            },
            options: connector_monday::Options::default(),
        },
    )
    .await
    .expect("connector-monday starts");
    let monday_connector = start(monday_connector);
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
    let pool = crate::harness::config_pool(&db).await;
    LiveStack {
        client,
        pool,
        salesforce,
        salesforce_url,
        salesforce_connector_url,
        monday,
        monday_token: account.token,
        board: board.to_string(),
        _connectors: [connector, monday_connector],
        _service: service,
        _db: db,
        stop,
    }
}

/// A deals board like the stand-in's: a status with Opportunity stages, a date, a number, a
/// read-only mirror and a text column for the Salesforce Id (the link key).
fn deals_board(sim: &monday_sim::SimHandle, account_id: i64) -> i64 {
    let board = sim.create_board(account_id, "Deals");
    let columns = [
        (
            "status",
            "Stage",
            "status",
            serde_json::json!({"labels": {"0": "Prospecting", "1": "Closed Won", "2": "Closed Lost"}}),
        ),
        ("date4", "Expected Close", "date", serde_json::json!({})),
        ("numbers", "Deal Value", "numbers", serde_json::json!({})),
        (
            "mirror",
            "Account Industry",
            "mirror",
            serde_json::json!({}),
        ),
        ("text_sfid", "Salesforce Id", "text", serde_json::json!({})),
    ];
    for (id, title, kind, settings) in columns {
        sim.add_column(board, id, title, kind, settings).unwrap();
    }
    board
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
    /// A monday connection with the sim account's token, checked through connector-monday.
    pub async fn connect_monday(&self, bearer: &str) -> pb::Connection {
        self.client
            .clone()
            .create_connection(authorized(
                pb::CreateConnectionRequest {
                    kind: pb::ConnectionKind::Monday as i32,
                    monday_token: self.monday_token.clone(),
                    ..Default::default()
                },
                bearer,
            ))
            .await
            .unwrap()
            .into_inner()
            .connection
            .unwrap()
    }

    /// Both connections of `bearer` and a valid spec on the sim's board and Opportunity.
    pub async fn valid_spec(&self, bearer: &str) -> pb::IntegrationSpec {
        let monday = self.connect_monday(bearer).await;
        let salesforce = self.connect_salesforce(bearer).await;
        let mut spec = crate::harness::spec(&monday.id, &salesforce.id);
        spec.board_id = self.board.clone();
        spec
    }

    /// Starts a production Salesforce connection for `bearer`: the authorize URL and state.
    pub async fn start_salesforce(&self, bearer: &str) -> pb::CreateConnectionResponse {
        self.client
            .clone()
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
            .into_inner()
    }

    /// Runs the whole OAuth flow for `bearer` through the connector and the simulator.
    pub async fn connect_salesforce(&self, bearer: &str) -> pb::Connection {
        let started = self.start_salesforce(bearer).await;
        let (code, state) = approve(&started.authorize_url).await;
        assert_eq!(state, started.state, "the state travels through Salesforce");
        self.client
            .clone()
            .complete_salesforce_connection(authorized(
                pb::CompleteSalesforceConnectionRequest { state, code },
                bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }
}
