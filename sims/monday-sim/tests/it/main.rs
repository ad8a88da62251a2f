//! Integration tests: the simulator over HTTP, as clients see it.

mod binary;
mod client;
mod conformance;
mod control;
mod cursors;
mod errors;
mod limits;
mod measure;
mod paging;
mod real_schema;
mod schema;
mod served_fields;
mod webhooks;

use monday_sim::{AccountInfo, Config, SimHandle};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A running simulator on a random port; stops when dropped.
pub struct Running {
    pub url: String,
    pub handle: SimHandle,
    pub demo: Option<monday_sim::DemoInfo>,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn start(config: Config) -> Running {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    };
    let sim = monday_sim::bind(config).await.expect("bind");
    let stop = CancellationToken::new();
    let running = Running {
        url: sim.api_url(),
        handle: sim.handle(),
        demo: sim.demo().cloned(),
        stop: stop.clone(),
    };
    tokio::spawn(sim.serve(stop));
    running
}

pub async fn start_with_account() -> (Running, AccountInfo) {
    let sim = start(Config::default()).await;
    let acct = sim
        .handle
        .create_account("Acme", "Ann Admin", "ann@acme.test");
    (sim, acct)
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// POST a GraphQL request with a raw token and API-Version 2025-10.
pub async fn gql(url: &str, token: &str, query: &str, variables: Value) -> Reply {
    gql_versioned(url, token, "2025-10", query, variables).await
}

pub async fn gql_versioned(
    url: &str,
    token: &str,
    version: &str,
    query: &str,
    variables: Value,
) -> Reply {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::Client::new()
        .post(url)
        .header("Authorization", token)
        .header("API-Version", version)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.expect("json body");
    Reply {
        status,
        headers,
        body,
    }
}

/// A board with one column of each kind Tandem maps.
pub fn tandem_board(h: &SimHandle, account_id: i64) -> i64 {
    let b = h.create_board(account_id, "Deals");
    let cols = [
        (
            "status",
            "status",
            json!({"labels": {"0": "Working on it", "1": "Done", "2": "Stuck"}}),
        ),
        ("text", "text", json!({})),
        ("numbers", "numbers", json!({})),
        ("mirror", "mirror", json!({})),
        ("formula", "formula", json!({})),
        ("people", "people", json!({})),
        ("date", "date", json!({})),
    ];
    for (id, kind, settings) in cols {
        h.add_column(b, id, id, kind, settings).unwrap();
    }
    b
}
