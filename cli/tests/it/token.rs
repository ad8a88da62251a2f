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
