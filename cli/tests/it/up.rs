//! `tandem up`: the five services and the console in one process, announced on stdout,
//! stopped by SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tandem_testkit::TestDb;

#[tokio::test(flavor = "multi_thread")]
async fn up_announces_every_listener_and_stops_cleanly_on_sigterm() {
    let db = TestDb::create().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("up")
        .args(["--connector-salesforce-listen", "127.0.0.1:0"])
        .args(["--connector-monday-listen", "127.0.0.1:0"])
        .args(["--mapping-config-listen", "127.0.0.1:0"])
        .args(["--sync-orchestrator-listen", "127.0.0.1:0"])
        .args(["--run-history-listen", "127.0.0.1:0"])
        .args(["--monday-webhook-listen", "127.0.0.1:0"])
        .args(["--console-listen", "127.0.0.1:0"])
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", tandem_testkit::redis_url())
        .env("TANDEM_DEV_AUTH", "1")
        .env("TANDEM_AUTH_SECRET", tandem_testkit::SECRET)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tandem up");
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        // connector-monday also announces its webhook listener, and the console its own.
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(7)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let mut names: Vec<&str> = lines
        .iter()
        .map(|l| {
            let (name, addr) = l
                .split_once(" listening on http://127.0.0.1:")
                .unwrap_or_else(|| panic!("bad line `{l}`"));
            assert!(
                addr.parse::<u16>().is_ok_and(|p| p > 0),
                "a real port in `{l}`"
            );
            name
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "connector-monday",
            "connector-monday webhooks",
            "connector-salesforce",
            "console",
            "mapping-config",
            "run-history",
            "sync-orchestrator"
        ]
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "tandem up did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "graceful stop exits 0, got {status}");
}
