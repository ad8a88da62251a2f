//! One mapping-config on a free port with its own database and Redis prefix, wired to
//! connector stand-ins, plus helpers to connect accounts and build specs.

use base64::Engine as _;
use sqlx::PgPool;
use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_service::args::PeerArgs;
use tandem_testkit::{Running, TestDb, any_port, authorized, infra, start, user_bearer_in};
use tonic::transport::Channel;

use crate::fakes::{self, BOARD, Fakes, GOOD_CODE, GOOD_MONDAY_TOKEN};

pub const ADA: &str = "ada@acme.test";
pub const BOB: &str = "bob@acme.test";

pub fn keys() -> mapping_config::KeyRing {
    let key = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    format!("1:{key}").parse().unwrap()
}

pub fn ada() -> String {
    user_bearer_in("acme", ADA)
}

pub fn bob() -> String {
    user_bearer_in("acme", BOB)
}

/// A user of another account.
pub fn eve() -> String {
    user_bearer_in("globex", "eve@globex.test")
}

pub struct Stack {
    pub client: MappingConfigClient<Channel>,
    pub peers: PeerArgs,
    /// The database, with `search_path` at the service's schema.
    pub pool: PgPool,
    pub fakes: Fakes,
    _service: Running,
    _db: TestDb,
}

pub async fn start_stack() -> Stack {
    let db = TestDb::create().await;
    let listener = tandem_service::server::bind(any_port()).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fakes = fakes::start_fakes(&url).await;
    let closed = "http://127.0.0.1:9".to_owned();
    let peers = PeerArgs {
        connector_salesforce_url: fakes.salesforce_server.url(),
        connector_monday_url: fakes.monday_server.url(),
        mapping_config_url: url,
        sync_orchestrator_url: closed.clone(),
        run_history_url: closed,
    };
    let server = mapping_config::bind_on(
        listener,
        mapping_config::Config {
            listen: any_port(),
            infra: infra(&db),
            peers: peers.clone(),
            options: mapping_config::Options {
                encryption_keys: Some(keys()),
            },
        },
    )
    .await
    .unwrap();
    let service = start(server);
    let client = MappingConfigClient::new(service.channel().await);
    let pool = config_pool(&db).await;
    Stack {
        client,
        peers,
        pool,
        fakes,
        _service: service,
        _db: db,
    }
}

impl Stack {
    /// Another replica on the same database, e.g. with rotated keys.
    pub async fn replica(
        &self,
        keys: mapping_config::KeyRing,
    ) -> (Running, MappingConfigClient<Channel>) {
        let server = mapping_config::bind(mapping_config::Config {
            listen: any_port(),
            infra: infra(&self._db),
            peers: self.peers.clone(),
            options: mapping_config::Options {
                encryption_keys: Some(keys),
            },
        })
        .await
        .unwrap();
        let running = start(server);
        let client = MappingConfigClient::new(running.channel().await);
        (running, client)
    }

    /// Starts and completes a Salesforce connection for `bearer`.
    pub async fn salesforce_connection(&self, bearer: &str) -> pb::Connection {
        let mut client = self.client.clone();
        let started = client
            .create_connection(authorized(
                pb::CreateConnectionRequest {
                    kind: pb::ConnectionKind::Salesforce as i32,
                    subdomain: "acme".into(),
                    environment: pb::SalesforceEnvironment::Production as i32,
                    redirect_uri: "https://tandem.example/oauth/callback".into(),
                    ..Default::default()
                },
                bearer,
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
                bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn monday_connection(&self, bearer: &str) -> pb::Connection {
        monday_connection_with(&self.client, bearer).await
    }

    /// Both connections of `bearer` and a valid spec on them.
    pub async fn valid_spec(&self, bearer: &str) -> pb::IntegrationSpec {
        let monday = self.monday_connection(bearer).await;
        let salesforce = self.salesforce_connection(bearer).await;
        spec(&monday.id, &salesforce.id)
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// A monday connection with the stand-in's good token.
pub async fn monday_connection_with(
    client: &MappingConfigClient<Channel>,
    bearer: &str,
) -> pb::Connection {
    client
        .clone()
        .create_connection(authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Monday as i32,
                monday_token: GOOD_MONDAY_TOKEN.into(),
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

pub fn mapping(column: &str, field: &str) -> pb::FieldMapping {
    pb::FieldMapping {
        monday_column_id: column.into(),
        salesforce_field: field.into(),
        direction: pb::Direction::Both as i32,
        options: None,
    }
}

pub fn spec(monday: &str, salesforce: &str) -> pb::IntegrationSpec {
    pb::IntegrationSpec {
        name: "Deals ↔ Opportunities".into(),
        monday_connection_id: monday.into(),
        board_id: BOARD.into(),
        salesforce_connection_id: salesforce.into(),
        salesforce_object: "Opportunity".into(),
        scope: pb::Scope::TwoWay as i32,
        mappings: vec![
            mapping("name", "Name"),
            mapping("status", "StageName"),
            mapping("date4", "CloseDate"),
            mapping("numbers", "Amount"),
        ],
        link_monday_column_id: "text_sfid".into(),
        link_salesforce_field: "Id".into(),
        ..Default::default()
    }
}

/// A CreateIntegration request for `spec`, as `bearer`.
pub fn create(
    spec: &pb::IntegrationSpec,
    bearer: &str,
) -> tonic::Request<pb::CreateIntegrationRequest> {
    authorized(
        pb::CreateIntegrationRequest {
            spec: Some(spec.clone()),
            paused: false,
        },
        bearer,
    )
}

/// A small pool on the test's database with `search_path` at the service's schema, for
/// reading what the service stored.
pub async fn config_pool(db: &TestDb) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(
            db.url()
                .parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap()
                .options([("search_path", mapping_config::SCHEMA)]),
        )
        .await
        .unwrap()
}
