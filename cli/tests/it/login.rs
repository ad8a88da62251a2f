//! The production identity path from a terminal: `tandem dev-issuer` serves OpenID Connect over
//! TLS, a service checks user tokens against it (no shared secret), `tandem login` signs in
//! through its page and keeps the token, and the next command is accepted with it — while a
//! development-mode token is refused.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use tandem_service::auth::AuthArgs;
use tandem_testkit::tls::TestPki;
use tandem_testkit::{TestDb, infra};

use crate::configure::{tandem, text};

/// Kills the child when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line `child`'s stream gives that `pick` accepts (read off the runtime's threads).
async fn line_of(
    stream: impl std::io::Read + Send + 'static,
    pick: fn(&str) -> Option<String>,
) -> String {
    tokio::task::spawn_blocking(move || {
        let mut seen = String::new();
        for line in BufReader::new(stream).lines() {
            let line = line.unwrap();
            if let Some(found) = pick(&line) {
                return found;
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        panic!("the line never came; the output was:\n{seen}");
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_logs_in_at_the_identity_provider_and_the_cli_uses_the_token() {
    tandem_testkit::install_crypto();
    let dir = std::env::temp_dir().join(format!("tandem-cli-login-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = TestPki::new();
    for (name, pem) in [
        ("ca.pem", &pki.ca),
        ("cert.pem", &pki.cert),
        ("key.pem", &pki.key),
    ] {
        std::fs::write(dir.join(name), pem).unwrap();
    }
    let ca = dir.join("ca.pem").display().to_string();

    // The provider, over TLS, its key kept in a file it makes.
    let mut issuer = Command::new(env!("CARGO_BIN_EXE_tandem"));
    issuer
        .args(["dev-issuer", "--listen", "127.0.0.1:0"])
        .env("TANDEM_ISSUER_KEY_FILE", dir.join("issuer-key.pem"))
        .env("TANDEM_TLS_CERT", dir.join("cert.pem"))
        .env("TANDEM_TLS_KEY", dir.join("key.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut issuer = Killed(issuer.spawn().unwrap());
    let issuer_url = line_of(issuer.0.stdout.take().unwrap(), |line| {
        line.strip_prefix("tandem dev-issuer: issuer ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    })
    .await;
    assert!(issuer_url.starts_with("https://localhost:"), "{issuer_url}");

    // A service on the production path: TLS, users from the provider, no development secret.
    let db = TestDb::create().await;
    let mut infra = infra(&db);
    infra.tls = pki.tls();
    infra.auth = AuthArgs {
        oidc_issuer: Some(issuer_url.clone()),
        oidc_audience: Some("tandem".to_owned()),
        oidc_ca: Some(dir.join("ca.pem")),
        oidc_max_token_lifetime_seconds: 86_400,
        oidc_clock_skew_seconds: 60,
        oidc_account_claim: "tandem_account".to_owned(),
        oidc_email_claim: "email".to_owned(),
        ..AuthArgs::default()
    }
    .resolve()
    .unwrap()
    .with_own_service_keys();
    let running = crate::tls::mapping_config_with(infra).await;

    // `tandem login` prints where to sign in and waits for the browser.
    let config_home = dir.join("config");
    let mut login = Command::new(env!("CARGO_BIN_EXE_tandem"));
    login
        .args(["login", "--issuer", &issuer_url])
        .env("TANDEM_OIDC_CA", &ca)
        .env("XDG_CONFIG_HOME", &config_home)
        .env_remove("TANDEM_AUTH_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut login = login.spawn().unwrap();
    let address = line_of(login.stderr.take().unwrap(), |line| {
        line.trim_start()
            .starts_with("https://")
            .then(|| line.trim().to_owned())
    })
    .await;

    // The browser: the sign-in page, the form, back to the CLI's listener.
    let browser = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let callback =
        tandem_testkit::browser::sign_in_at_dev_issuer(&browser, &address, "acme", "ada@acme.test")
            .await
            .to_string();
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let done = browser.get(&callback).send().await.unwrap();
    assert!(done.text().await.unwrap().contains("Signed in to Tandem"));
    let finished = tokio::task::spawn_blocking(move || login.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(finished.status.success(), "{}", text(&finished.stderr));
    assert!(
        text(&finished.stdout).contains("Signed in as ada@acme.test (account acme)"),
        "{}",
        text(&finished.stdout)
    );
    let token_file = config_home.join("tandem").join("token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The next command is accepted with the kept token, over TLS.
    let env = vec![
        (
            "TANDEM_MAPPING_CONFIG_URL",
            format!("https://localhost:{}", running.addr.port()),
        ),
        ("TANDEM_TLS_CA", ca.clone()),
        ("XDG_CONFIG_HOME", config_home.display().to_string()),
    ];
    let listed = tandem(&env, &["connect", "list", "--json"]).await;
    assert!(listed.status.success(), "{}", text(&listed.stderr));

    // A kept token that has expired is renewed with the kept refresh token before the next
    // command (an hour later, here made by writing an expired token in its place).
    let claims = |token: &str| -> serde_json::Value {
        use base64::Engine as _;
        let payload = token.trim().split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let expired = format!("eyJhbGciOiJFUzI1NiJ9.{}.c2ln", {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1}"#)
    });
    std::fs::write(&token_file, &expired).unwrap();
    let renewed = tandem(&env, &["connect", "list", "--json"]).await;
    assert!(renewed.status.success(), "{}", text(&renewed.stderr));
    let kept = std::fs::read_to_string(&token_file).unwrap();
    assert_ne!(kept.trim(), expired);
    assert!(claims(&kept)["exp"].as_u64().unwrap() > tandem_testkit::oidc::unix_now() + 600);
    assert_eq!(claims(&kept)["email"], "ada@acme.test");

    // A token changed by a byte, or one minted with a development secret, is refused.
    let token = std::fs::read_to_string(&token_file).unwrap();
    let mut forged = token.trim().to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let mut with_forged = env.clone();
    with_forged.push(("TANDEM_TOKEN", forged));
    let refused = tandem(&with_forged, &["connect", "list"]).await;
    assert!(!refused.status.success());
    let mut with_dev = env.clone();
    with_dev.push(("TANDEM_AUTH_SECRET", tandem_testkit::SECRET.to_owned()));
    with_dev.push(("TANDEM_ACCOUNT", "acme".to_owned()));
    with_dev.push(("TANDEM_EMAIL", "ada@acme.test".to_owned()));
    let refused = tandem(&with_dev, &["connect", "list"]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr)
            .to_lowercase()
            .contains("unauthenticated")
            || text(&refused.stderr).contains("token"),
        "{}",
        text(&refused.stderr)
    );
    drop(issuer);
    std::fs::remove_dir_all(&dir).unwrap();
}
