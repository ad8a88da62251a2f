//! `tandem demo --once`: the fixed scenario runs end to end against a database of the test's
//! own and exits 0 only when both sides converged.

use std::process::Command;

use tandem_testkit::TestDb;

#[tokio::test(flavor = "multi_thread")]
async fn demo_once_runs_the_scenario_and_both_sides_converge() {
    let db = TestDb::create().await;
    let url = db.url().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(["demo", "--once", "--database-url", &url])
            .env("REDIS_URL", tandem_testkit::redis_url())
            // The demo generates its own secret when none is set.
            .env_remove("TANDEM_AUTH_SECRET")
            .env_remove("RUST_LOG")
            .output()
            .expect("run tandem demo")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tandem demo --once failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("(as given)"),
        "the given database is used: {stdout}"
    );
    for expected in [
        // The import created the board's 40 items in Salesforce and the org's 15 on monday.
        "read 40 · created 40",
        "created 15",
        // A conflict resolved for the newer edit.
        "monday won",
        // Twenty edits to one item made a single Salesforce write.
        "20 edits on monday → 1 record updated in Salesforce, 1 write(s)",
        // The refused value is reported with its reason, then fixed.
        "is not an active value of the restricted picklist StageName",
        "linked pairs   55 (monday items 55, opportunities 55)",
        "verdict        yes",
        // The web console, with the demo's user to sign in as.
        "console        http://127.0.0.1:",
        "sign in as account demo, email admin@demo.example.com",
    ] {
        assert!(stdout.contains(expected), "`{expected}` missing:\n{stdout}");
    }
    assert!(
        stderr.trim().is_empty(),
        "the demo logs nothing by default: {stderr}"
    );
}

#[test]
fn demo_without_postgres_fails_with_a_clear_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["demo", "--once"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/test")
        .env_remove("TANDEM_DEMO_DATABASE_URL")
        .output()
        .expect("run tandem demo");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "tandem demo: the demo needs Postgres at postgres://postgres@127.0.0.1:1/test"
        ),
        "{stderr}"
    );
}
