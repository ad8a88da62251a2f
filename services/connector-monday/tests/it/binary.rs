//! The binary: flags and environment, and the two listening lines it prints.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn the_binary_announces_its_grpc_and_webhook_listeners() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector-monday"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--monday-webhook-listen",
            "127.0.0.1:0",
        ])
        .envs(tandem_testkit::dev_auth_env("connector-monday"))
        .env("REDIS_URL", tandem_testkit::redis_url())
        .env("TANDEM_MONDAY_SIGNING_SECRET", "very-secret-signing-value")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    while lines.len() < 2 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            lines.push(line);
        }
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("wait for the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("connector-monday webhooks listening on http://127.0.0.1:")),
        "{lines:?} {stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("connector-monday listening on http://127.0.0.1:")),
        "{lines:?} {stderr}"
    );
    assert!(
        !stderr.contains("very-secret-signing-value"),
        "secret leaked"
    );
}
