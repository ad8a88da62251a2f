//! Starting any of the five services for a test.

use tandem_service::args::{Infra, PeerArgs, RemoteArgs};
use tandem_testkit::{Running, TestDb, any_port, infra, start};

pub const ALL: [&str; 5] = [
    "connector-salesforce",
    "connector-monday",
    "mapping-config",
    "sync-orchestrator",
    "run-history",
];

/// Peers nobody listens on, unless a test says otherwise.
pub fn no_peers() -> PeerArgs {
    let closed = "http://127.0.0.1:9".to_owned();
    PeerArgs {
        connector_salesforce_url: closed.clone(),
        connector_monday_url: closed.clone(),
        mapping_config_url: closed.clone(),
        sync_orchestrator_url: closed.clone(),
        run_history_url: closed,
    }
}

fn remote() -> RemoteArgs {
    RemoteArgs {
        salesforce_instance_url: None,
        salesforce_login_url: None,
        monday_api_url: "http://127.0.0.1:9/v2".to_owned(),
    }
}

/// Starts the named service on a free port with `peers`.
pub async fn start_service(name: &str, db: &TestDb, peers: PeerArgs) -> Running {
    start(
        bind_service(name, infra(db), peers)
            .await
            .unwrap_or_else(|e| panic!("{name} failed to start: {e}")),
    )
}

/// Binds the named service on a free port with `infra` and `peers`, or says why it cannot.
pub async fn bind_service(
    name: &str,
    infra: Infra,
    peers: PeerArgs,
) -> Result<tandem_service::server::GrpcServer, String> {
    let listen = any_port();
    match name {
        "connector-salesforce" => connector_salesforce::bind(connector_salesforce::Config {
            listen,
            infra,
            peers,
            remote: remote(),
            options: Default::default(),
        })
        .await
        .map_err(|e| e.to_string()),
        "connector-monday" => connector_monday::bind(connector_monday::Config {
            listen,
            infra,
            peers,
            remote: remote(),
            options: Default::default(),
        })
        .await
        .map_err(|e| e.to_string()),
        "mapping-config" => mapping_config::bind(mapping_config::Config {
            listen,
            infra,
            peers,
            options: mapping_config::Options {
                encryption_keys: Some(mapping_config::KeyRing::ephemeral()),
            },
        })
        .await
        .map_err(|e| e.to_string()),
        "sync-orchestrator" => sync_orchestrator::bind(sync_orchestrator::Config {
            listen,
            infra,
            peers,
            options: Default::default(),
        })
        .await
        .map_err(|e| e.to_string()),
        "run-history" => run_history::bind(run_history::Config {
            listen,
            infra,
            options: Default::default(),
        })
        .await
        .map_err(|e| e.to_string()),
        other => panic!("no service named {other}"),
    }
}
