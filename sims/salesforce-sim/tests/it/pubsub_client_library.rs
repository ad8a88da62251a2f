//! The "done when" of Salesforce's Pub/Sub API in the simulator: a client that knows only
//! Salesforce's public contract — Python stubs generated with grpcio-tools from the vendored
//! proto at test time, the `avro` package — subscribes, sees a REST edit's event, decodes it
//! with the schema from GetSchema and reads the changed fields from the bitmap
//! (conformance/pubsub_check.py, run with `TANDEM_PYTHON`).

use serde_json::json;
use std::process::Command;
use std::time::Duration;

use crate::support;

const REQUIREMENTS: &str = "sims/salesforce-sim/conformance/requirements.txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_style_python_client_reads_an_edit_from_the_bitmap() {
    let python = std::env::var("TANDEM_PYTHON").unwrap_or_else(|_| "python3".into());
    match Command::new(&python)
        .args(["-c", "import grpc, grpc_tools, avro"])
        .output()
    {
        Err(e) => panic!(
            "cannot run the Python interpreter `{python}` ({e}); set TANDEM_PYTHON to one with grpcio, grpcio-tools and avro: pip install -r {REQUIREMENTS}"
        ),
        Ok(o) if !o.status.success() => panic!(
            "grpcio, grpcio-tools or avro is missing for `{python}`: run `pip install -r {REQUIREMENTS}`\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Ok(_) => {}
    }
    let sim = support::start_default().await;
    let id = sim
        .handle
        .insert(
            "demo",
            "Project__c",
            json!({"Name": "Conformance", "Summary__c": "before"}),
        )
        .expect("record");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/pubsub_check.py");
    let addr = sim.handle.pubsub_addr().expect("pub/sub served");
    let args = vec![
        script.to_string(),
        "--pubsub".into(),
        addr.to_string(),
        "--instance-url".into(),
        sim.base_url.clone(),
        "--token".into(),
        sim.token.clone(),
        "--tenant".into(),
        sim.handle.org_id("demo"),
        "--record-id".into(),
        id.clone(),
    ];
    let run = tokio::task::spawn_blocking(move || Command::new(python).args(args).output());
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the check finishes within 120 s")
        .expect("join")
        .expect("run the check script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pub/sub check failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("all pub/sub checks passed"), "{stdout}");
    let record = sim.handle.record("demo", &id).expect("record");
    assert_eq!(
        record["Summary__c"],
        json!("changed through REST for the Pub/Sub check")
    );
}
