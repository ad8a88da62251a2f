//! A widely used client library, unchanged, against the simulator: simple-salesforce
//! (PyPI), driven by conformance/simple_salesforce_check.py with `TANDEM_PYTHON`.

use serde_json::{Value, json};
use std::process::Command;

use crate::support;

const REQUIREMENTS: &str = "sims/salesforce-sim/conformance/requirements.txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_salesforce_works_unchanged() {
    let python = std::env::var("TANDEM_PYTHON").unwrap_or_else(|_| "python3".into());
    match Command::new(&python)
        .args(["-c", "import simple_salesforce"])
        .output()
    {
        Err(e) => panic!(
            "cannot run the Python interpreter `{python}` ({e}); set TANDEM_PYTHON to one that has simple-salesforce: pip install -r {REQUIREMENTS}"
        ),
        Ok(o) if !o.status.success() => panic!(
            "the Python module simple-salesforce is missing for `{python}`: run `pip install -r {REQUIREMENTS}` (or set TANDEM_PYTHON to an interpreter that has it)\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Ok(_) => {}
    }
    let sim = support::start(salesforce_sim::Config {
        tls: true,
        ..Default::default()
    })
    .await;
    assert!(sim.base_url.starts_with("https://"));
    let contacts: Vec<Value> = (0..2_300)
        .map(|i| json!({"LastName": format!("Py {i}")}))
        .collect();
    sim.handle
        .insert_many("demo", "Contact", contacts)
        .expect("seed");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/simple_salesforce_check.py"
    );
    let args = vec![
        script.to_string(),
        "--instance-url".into(),
        sim.base_url.clone(),
        "--token".into(),
        sim.token.clone(),
        "--expect-contacts".into(),
        "2300".into(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(args).output())
        .await
        .expect("join")
        .expect("run the check script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "simple-salesforce check failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("all simple-salesforce checks passed"),
        "{stdout}"
    );
    // The client really went through the API: one query call plus its next pages.
    assert!(sim.handle.count_calls("GET", "/query") >= 2);
    assert!(sim.handle.count_calls("POST", "/sobjects/Project__c") >= 1);
}

/// simple-salesforce's Bulk API 2.0 client (`sf.bulk2`): ingest jobs, result files, query
/// pages through `Sforce-Locator`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_salesforce_bulk2_works_unchanged() {
    let python = std::env::var("TANDEM_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_module = Command::new(&python)
        .args(["-c", "import simple_salesforce.bulk2"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_module,
        "the Python module simple-salesforce is missing for `{python}`: run `pip install -r {REQUIREMENTS}` (or set TANDEM_PYTHON)"
    );
    let sim = support::start(salesforce_sim::Config {
        tls: true,
        ..Default::default()
    })
    .await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conformance/simple_salesforce_bulk2_check.py"
    );
    let args = vec![
        script.to_string(),
        "--instance-url".into(),
        sim.base_url.clone(),
        "--token".into(),
        sim.token.clone(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(args).output())
        .await
        .expect("join")
        .expect("run the check script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "simple-salesforce bulk2 check failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("all simple-salesforce bulk2 checks passed"),
        "{stdout}"
    );
    assert!(sim.handle.count_calls("PUT", "/jobs/ingest/") >= 4);
    assert!(sim.handle.count_calls("GET", "/results") >= 3);
}
