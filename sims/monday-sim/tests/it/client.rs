//! A widely used monday client (PyPI `monday`, pinned in conformance/requirements.txt) works
//! against the simulator unchanged; only its hard-coded API URL is pointed at the simulator.

use std::process::Command;

use crate::start;

#[tokio::test]
async fn the_python_monday_client_works_against_the_simulator() {
    let python = std::env::var("TANDEM_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/client_check.py");
    let probe = Command::new(&python).args(["-c", "import monday"]).output();
    let installed = probe.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "the PyPI package `monday` is not importable by `{python}` (set TANDEM_PYTHON to another interpreter). \
         Install it with: {python} -m pip install -r {}/conformance/requirements.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let sim = start(monday_sim::Config {
        seed: monday_sim::Seed::Demo,
        ..Default::default()
    })
    .await;
    let demo = sim.demo.clone().unwrap();
    let url = sim.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(script)
            .env("MONDAY_SIM_URL", url)
            .env("MONDAY_SIM_TOKEN", demo.token)
            .env("MONDAY_SIM_BOARD", demo.board_id.to_string())
            .output()
    })
    .await
    .unwrap()
    .expect("run client_check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client_check.py failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("client check ok"), "{stdout}");
}
