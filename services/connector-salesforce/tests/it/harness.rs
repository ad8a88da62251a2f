//! Starts salesforce-sim in-process, a stand-in for mapping-config's two credential RPCs, and
//! the connector on port 0 pointed at both.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use connector_salesforce::{Config, Options};
use salesforce_sim::SimHandle;
use tandem_proto::v1::mapping_config_server::{MappingConfig, MappingConfigServer};
use tandem_proto::v1::salesforce_connector_client::SalesforceConnectorClient;
use tandem_proto::v1::{
    ConnectionKind, Credentials, GetCredentialsRequest, RefreshCredentialsRequest,
    SalesforceEnvironment,
};
use tandem_service::args::{Infra, PeerArgs, RemoteArgs};
use tandem_testkit::{Running, any_port, authorized, service_bearer, start};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// The org every test connection belongs to (a bare-IP Host goes to the sim's default org).
pub const ORG: &str = "demo";
pub const CONN: &str = "conn-sf-1";
pub const CLIENT_ID: &str = "tandem-test-client";

/// One connection as the stand-in holds it.
#[derive(Clone)]
struct Stored {
    access_token: String,
    refresh_token: String,
    instance_url: String,
}

/// A STAND-IN for mapping-config's `GetCredentials` and `RefreshCredentials` only (mapping-config
/// is built in parallel; end-to-end tests use the real one). It hands out tokens minted by the
/// simulator and refreshes through the simulator's real `/services/oauth2/token` refresh grant,
/// returning the current token without a refresh when the stale one is no longer current.
#[derive(Clone)]
pub struct CredentialStandIn {
    connections: Arc<Mutex<HashMap<String, Stored>>>,
    sim_url: String,
    http: reqwest::Client,
    pub refreshes: Arc<AtomicU32>,
    pub gets: Arc<AtomicU32>,
    /// When set, a refresh "succeeds" with a token Salesforce does not know (a broken store).
    pub refresh_to_garbage: Arc<std::sync::atomic::AtomicBool>,
}

impl CredentialStandIn {
    pub fn add(&self, id: &str, access: &str, refresh: &str) {
        self.connections.lock().unwrap().insert(
            id.to_owned(),
            Stored {
                access_token: access.to_owned(),
                refresh_token: refresh.to_owned(),
                instance_url: self.sim_url.clone(),
            },
        );
    }

    /// The refresh token the stand-in holds for a connection.
    pub fn refresh_token(&self, id: &str) -> String {
        self.connections.lock().unwrap()[id].refresh_token.clone()
    }

    /// The access token the stand-in currently hands out.
    pub fn access_token(&self, id: &str) -> String {
        self.connections.lock().unwrap()[id].access_token.clone()
    }

    fn credentials(id: &str, s: &Stored) -> Credentials {
        Credentials {
            connection_id: id.to_owned(),
            kind: ConnectionKind::Salesforce as i32,
            access_token: s.access_token.clone(),
            instance_url: s.instance_url.clone(),
            subdomain: ORG.to_owned(),
            environment: SalesforceEnvironment::Production as i32,
        }
    }
}

#[tonic::async_trait]
impl MappingConfig for CredentialStandIn {
    async fn get_credentials(
        &self,
        request: Request<GetCredentialsRequest>,
    ) -> Result<Response<Credentials>, Status> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let id = request.into_inner().connection_id;
        let stored = self.connections.lock().unwrap().get(&id).cloned();
        match stored {
            Some(s) => Ok(Response::new(Self::credentials(&id, &s))),
            None => Err(Status::not_found(format!("no connection {id}"))),
        }
    }

    async fn refresh_credentials(
        &self,
        request: Request<RefreshCredentialsRequest>,
    ) -> Result<Response<Credentials>, Status> {
        let r = request.into_inner();
        let Some(stored) = self
            .connections
            .lock()
            .unwrap()
            .get(&r.connection_id)
            .cloned()
        else {
            return Err(Status::not_found("no such connection"));
        };
        if stored.access_token != r.stale_access_token {
            return Ok(Response::new(Self::credentials(&r.connection_id, &stored)));
        }
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        if self.refresh_to_garbage.load(Ordering::SeqCst) {
            let mut fresh = stored.clone();
            fresh.access_token = "00D000000000000!not-a-session".to_owned();
            self.connections
                .lock()
                .unwrap()
                .insert(r.connection_id.clone(), fresh.clone());
            return Ok(Response::new(Self::credentials(&r.connection_id, &fresh)));
        }
        let answer = self
            .http
            .post(format!("{}/services/oauth2/token", self.sim_url))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", stored.refresh_token.as_str()),
                ("client_id", CLIENT_ID),
            ])
            .send()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(Status::failed_precondition(
                "refresh token refused; the connection needs re-authentication",
            ));
        }
        let body: serde_json::Value = answer
            .json()
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        let mut fresh = stored.clone();
        fresh.access_token = body["access_token"].as_str().unwrap_or_default().to_owned();
        self.connections
            .lock()
            .unwrap()
            .insert(r.connection_id.clone(), fresh.clone());
        Ok(Response::new(Self::credentials(&r.connection_id, &fresh)))
    }
}

pub struct Harness {
    pub sim: SimHandle,
    pub sim_url: String,
    pub standin: CredentialStandIn,
    pub client: SalesforceConnectorClient<Channel>,
    pub svc: String,
    pub redis_prefix: String,
    pub _running: Running,
    stop: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Test defaults: a client id, fast retries.
pub fn test_options() -> Options {
    Options {
        client_id: Some(CLIENT_ID.to_owned()),
        client_secret: Some("test-secret".to_owned().into()),
        retry_base_ms: 5,
        ..Options::default()
    }
}

pub async fn harness() -> Harness {
    harness_with(test_options(), true).await
}

/// `overrides`: point the connector's login and instance URLs at the simulator.
pub async fn harness_with(options: Options, overrides: bool) -> Harness {
    tandem_testkit::install_crypto();
    let stop = CancellationToken::new();
    let sim = salesforce_sim::bind(salesforce_sim::Config::default())
        .await
        .expect("sim binds");
    let sim_url = sim.base_url();
    let handle = sim.handle();
    tokio::spawn(sim.serve(stop.clone()));
    let mut options = options;
    if options.pubsub_url == connector_salesforce::DEFAULT_PUBSUB_URL
        && let Some(addr) = handle.pubsub_addr()
    {
        options.pubsub_url = format!("http://{addr}");
    }

    let standin = CredentialStandIn {
        connections: Arc::default(),
        sim_url: sim_url.clone(),
        http: reqwest::Client::new(),
        refreshes: Arc::default(),
        gets: Arc::default(),
        refresh_to_garbage: Arc::default(),
    };
    let tokens = handle.mint_token(ORG);
    standin.add(CONN, &tokens.access_token, &tokens.refresh_token);
    let listener = tokio::net::TcpListener::bind(any_port()).await.unwrap();
    let standin_url = format!("http://{}", listener.local_addr().unwrap());
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let server = tonic::transport::Server::builder()
        .add_service(MappingConfigServer::new(standin.clone()))
        .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    tokio::spawn(server);

    let closed = "http://127.0.0.1:9".to_owned();
    let redis_prefix = format!("tandem-test-{}", uuid_like());
    let config = Config {
        listen: any_port(),
        infra: Infra {
            database_url: "postgres://unused".to_owned(),
            redis_url: tandem_testkit::redis_url(),
            redis_prefix: redis_prefix.clone(),
            auth: tandem_testkit::auth(),
            tls: Default::default(),
        },
        peers: PeerArgs {
            connector_salesforce_url: closed.clone(),
            connector_monday_url: closed.clone(),
            mapping_config_url: standin_url,
            sync_orchestrator_url: closed.clone(),
            run_history_url: closed.clone(),
        },
        remote: RemoteArgs {
            salesforce_instance_url: overrides.then(|| sim_url.clone()),
            salesforce_login_url: overrides.then(|| sim_url.clone()),
            monday_api_url: closed,
        },
        options,
    };
    let running = start(
        connector_salesforce::bind(config)
            .await
            .expect("connector starts"),
    );
    let client = SalesforceConnectorClient::new(running.channel().await)
        .max_decoding_message_size(64 * 1024 * 1024);
    Harness {
        sim: handle,
        sim_url,
        standin,
        client,
        svc: service_bearer("sync-orchestrator"),
        redis_prefix,
        _running: running,
        stop,
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{nanos:x}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl Harness {
    /// A request carrying the orchestrator's token.
    pub fn req<T>(&self, message: T) -> Request<T> {
        authorized(message, &self.svc)
    }

    /// A request carrying mapping-config's token (it connects orgs: the OAuth RPCs are its).
    pub fn config_req<T>(&self, message: T) -> Request<T> {
        authorized(message, &service_bearer("mapping-config"))
    }

    /// Calls the simulator answered whose path contains `part`.
    pub fn calls(&self, method: &str, part: &str) -> usize {
        self.sim.count_calls(method, part)
    }
}
