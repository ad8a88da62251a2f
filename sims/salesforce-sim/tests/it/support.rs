//! Starts a simulator on port 0 and talks to it.

use reqwest::{Method, Response};
use salesforce_sim::{Config, SimHandle};
use serde_json::Value;
use std::sync::Once;
use tokio_util::sync::CancellationToken;

pub const V: &str = "62.0";

pub struct TestSim {
    pub base_url: String,
    pub handle: SimHandle,
    pub token: String,
    pub refresh_token: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestSim {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub async fn start(config: Config) -> TestSim {
    install_crypto();
    let sim = salesforce_sim::bind(config).await.expect("bind");
    let base_url = sim.base_url();
    let handle = sim.handle();
    let tokens = handle.mint_token("demo");
    let shutdown = CancellationToken::new();
    tokio::spawn(sim.serve(shutdown.clone()));
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestSim {
        base_url,
        handle,
        token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        client,
        shutdown,
    }
}

pub async fn start_default() -> TestSim {
    start(Config::default()).await
}

pub async fn start_demo() -> TestSim {
    start(Config {
        seed: salesforce_sim::Seed::Demo,
        ..Config::default()
    })
    .await
}

impl TestSim {
    pub fn api(&self, tail: &str) -> String {
        format!("{}/services/data/v{V}/{tail}", self.base_url)
    }

    pub async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Response {
        self.call_with(method, url, body, &self.token).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        token: &str,
    ) -> Response {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base_url)
        } else {
            url.to_string()
        };
        let mut rb = self.client.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.expect("request")
    }

    /// Sends and returns status, `Sforce-Limit-Info`, and the JSON body (`Null` if empty).
    pub async fn json(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> (u16, Option<String>, Value) {
        read(self.call(method, url, body).await).await
    }

    pub async fn query(&self, soql: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.api("query"))
            .query(&[("q", soql)])
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("query");
        let (status, _, body) = read(r).await;
        (status, body)
    }
}

pub async fn read(r: Response) -> (u16, Option<String>, Value) {
    let status = r.status().as_u16();
    let limit = r
        .headers()
        .get("sforce-limit-info")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json body")
    };
    (status, limit, body)
}

/// The current time in Salesforce's datetime format.
pub fn now_stamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    t.format(&f).unwrap_or_default()
}
