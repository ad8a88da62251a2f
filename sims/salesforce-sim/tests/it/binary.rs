//! The `salesforce-sim` binary: its start-up lines and a working demo token.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_its_address_and_a_working_demo_token() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_salesforce-sim"))
            .args(["--listen", "127.0.0.1:0", "--seed", "demo"])
            .args(["--pubsub-listen", "127.0.0.1:0"])
            .env_remove("SALESFORCE_SIM_LISTEN")
            .env_remove("SALESFORCE_SIM_PUBSUB_LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn salesforce-sim"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let lines = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut lines = Vec::new();
            for _ in 0..3 {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                lines.push(line.trim_end().to_string());
            }
            lines
        }),
    )
    .await
    .expect("start-up lines within 20 s")
    .expect("reader");
    assert_eq!(lines.len(), 3, "{lines:?}");
    let pubsub = lines[2]
        .strip_prefix("salesforce-sim pub/sub api (grpc, h2c) on 127.0.0.1:")
        .expect("pub/sub line");
    assert!(pubsub.parse::<u16>().is_ok_and(|p| p > 0), "{pubsub}");
    let base = lines[0]
        .strip_prefix("salesforce-sim listening on ")
        .expect("listening line");
    let port = base
        .strip_prefix("http://127.0.0.1:")
        .expect("http on 127.0.0.1");
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{base}");
    let token = lines[1]
        .strip_prefix("demo access token: ")
        .expect("token line");
    support::install_crypto();
    let r = reqwest::Client::new()
        .get(format!("{base}/services/data/v62.0/query"))
        .query(&[("q", "SELECT COUNT() FROM Project__c")])
        .bearer_auth(token)
        .send()
        .await
        .expect("query");
    let (status, _, body) = support::read(r).await;
    assert_eq!(status, 200);
    assert_eq!(body["totalSize"], serde_json::json!(36));
}
