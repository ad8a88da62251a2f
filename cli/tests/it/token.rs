//! `tandem token` mints tokens the services accept.

use std::process::Command;

use tandem_service::Identity;

#[test]
fn token_names_the_account_and_user_and_verifies() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args([
            "token",
            "--account",
            "acme",
            "--user",
            "ada@acme.test",
            "--ttl",
            "5m",
        ])
        .env("TANDEM_AUTH_SECRET", tandem_testkit::SECRET)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    let identity = tandem_testkit::signer()
        .verify(token.trim())
        .expect("a valid token");
    assert_eq!(
        identity,
        Identity::User {
            account: "acme".to_owned(),
            email: "ada@acme.test".to_owned()
        }
    );
}

#[test]
fn token_without_secret_fails_clearly() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["token", "--account", "acme", "--user", "ada@acme.test"])
        .env_remove("TANDEM_AUTH_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("TANDEM_AUTH_SECRET is not set"));
}

#[test]
fn token_cannot_mint_a_service_identity() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["token", "--service", "sync-orchestrator"])
        .env("TANDEM_AUTH_SECRET", tandem_testkit::SECRET)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no token printed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--service"), "{stderr}");
}

#[test]
fn service_keys_are_one_per_service_and_their_public_list_parses() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("service-keys")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .to_owned()
    };
    let public =
        tandem_service::service_key::PublicKeys::parse(&value("TANDEM_SERVICE_PUBLIC_KEYS"))
            .unwrap();
    let key = value("TANDEM_SERVICE_KEY_RUN_HISTORY");
    let key = tandem_service::service_key::ServiceKey::parse(&key.into(), "test").unwrap();
    let signer = tandem_service::service_key::SigningKeys::own(key)
        .signer("run-history")
        .unwrap();
    let token = signer.mint(std::time::Duration::from_secs(60));
    assert!(public.verify(&token, Some("run-history")).is_ok());
    assert!(public.verify(&token, Some("sync-orchestrator")).is_err());
}

#[test]
fn a_secret_on_the_command_line_is_refused_and_a_secret_file_is_read() {
    let secret = tandem_testkit::SECRET;
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["token", "--account", "acme", "--user", "ada@acme.test"])
        .args(["--auth-secret", secret])
        .env_remove("TANDEM_AUTH_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no token printed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set TANDEM_AUTH_SECRET"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");

    // A global flag of a subcommand too, with the value after the subcommand.
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["sync", "status", "x", "--token", "eyJhbGciOi.fake.token"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set TANDEM_TOKEN"), "{stderr}");
    assert!(!stderr.contains("eyJhbGciOi"), "{stderr}");

    let dir = std::env::temp_dir().join(format!("tandem-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("auth-secret");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["token", "--account", "acme", "--user", "ada@acme.test"])
        .env_remove("TANDEM_AUTH_SECRET")
        .env("TANDEM_AUTH_SECRET_FILE", &file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    assert!(tandem_testkit::signer().verify(token.trim()).is_ok());
}

#[test]
fn a_token_longer_lived_than_services_accept_is_not_minted() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["token", "--account", "acme", "--user", "ada@acme.test"])
        .args(["--ttl", "30d"])
        .env("TANDEM_AUTH_SECRET", tandem_testkit::SECRET)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--ttl"));
}
