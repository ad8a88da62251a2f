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
        .env("TANDEM_DEV_AUTH", "1")
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
        .env("TANDEM_DEV_AUTH", "1")
        .env_remove("TANDEM_AUTH_SECRET")
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TANDEM_AUTH_SECRET is not set"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

/// Runs the binary with only `env` set of the identity settings; its stderr, after checking
/// that it exited non-zero.
fn refused_with(env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_run-history"));
    command.args(["--listen", "127.0.0.1:0"]);
    for name in [
        "TANDEM_DEV_AUTH",
        "TANDEM_AUTH_SECRET",
        "TANDEM_OIDC_ISSUER",
        "TANDEM_OIDC_AUDIENCE",
    ] {
        command.env_remove(name);
    }
    let output = command
        .envs(env.iter().copied())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .expect("run the binary");
    assert!(!output.status.success(), "must exit non-zero");
    assert!(output.stdout.is_empty(), "nothing listens");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn development_mode_refuses_to_start_beside_oidc_settings() {
    let stderr = refused_with(&[
        ("TANDEM_DEV_AUTH", "1"),
        ("TANDEM_AUTH_SECRET", tandem_testkit::SECRET),
        ("TANDEM_OIDC_ISSUER", "https://id.example.com"),
        ("TANDEM_OIDC_AUDIENCE", "tandem"),
    ]);
    assert!(
        stderr.contains("TANDEM_DEV_AUTH=1 cannot be combined with TANDEM_OIDC_ISSUER"),
        "{stderr}"
    );
    assert!(!stderr.contains(tandem_testkit::SECRET), "{stderr}");
}

#[test]
fn the_shared_secret_without_development_mode_or_nothing_at_all_is_refused() {
    let stderr = refused_with(&[("TANDEM_AUTH_SECRET", tandem_testkit::SECRET)]);
    assert!(stderr.contains("without TANDEM_DEV_AUTH=1"), "{stderr}");
    assert!(!stderr.contains(tandem_testkit::SECRET), "{stderr}");
    let stderr = refused_with(&[]);
    assert!(
        stderr.contains("set TANDEM_OIDC_ISSUER and TANDEM_OIDC_AUDIENCE"),
        "{stderr}"
    );
}
