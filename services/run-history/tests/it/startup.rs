//! The binary's start-up failures: one clear line, non-zero exit, no secrets.

use std::process::Command;

#[test]
fn closed_postgres_port_exits_non_zero_naming_the_url_without_password() {
    // Port 9 (discard) is closed on loopback.
    let output = Command::new(env!("CARGO_BIN_EXE_run-history"))
        .args(["--listen", "127.0.0.1:0"])
        .env(
            "DATABASE_URL",
            "postgres://tandem:s3cr3t-pw@127.0.0.1:9/tandem",
        )
        .env("TANDEM_AUTH_SECRET", tandem_testkit::SECRET)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .expect("run the binary");
    assert!(!output.status.success(), "must exit non-zero");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach postgres at postgres://tandem:***@127.0.0.1:9/tandem"),
        "stderr names the redacted url: {stderr}"
    );
    assert!(
        !stderr.contains("s3cr3t-pw"),
        "the password leaked: {stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing listens, so nothing is announced"
    );
}

#[test]
fn missing_auth_secret_exits_non_zero_with_how_to_set_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_run-history"))
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("TANDEM_AUTH_SECRET")
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TANDEM_AUTH_SECRET is not set"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}
