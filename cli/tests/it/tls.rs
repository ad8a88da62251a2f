//! The CLI calls services that serve TLS: https:// URLs, checked against TANDEM_TLS_CA.

use tandem_service::args::Infra;
use tandem_testkit::tls::TestPki;
use tandem_testkit::{Running, TestDb, any_port, infra, start};

use crate::configure::{tandem, text};

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_reaches_a_tls_service_with_the_ca_and_says_what_is_missing_without() {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let pki = TestPki::new();
    let mut infra = infra(&db);
    infra.tls = pki.tls();
    let running = mapping_config_with(infra).await;
    let dir = std::env::temp_dir().join(format!("tandem-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca).unwrap();
    let mut env = vec![
        (
            "TANDEM_MAPPING_CONFIG_URL",
            format!("https://localhost:{}", running.addr.port()),
        ),
        ("TANDEM_AUTH_SECRET", tandem_testkit::SECRET.to_owned()),
        ("TANDEM_ACCOUNT", "acme".to_owned()),
        ("TANDEM_EMAIL", "ada@acme.test".to_owned()),
    ];

    let without = tandem(&env, &["connect", "list"]).await;
    assert!(!without.status.success());
    assert!(
        text(&without.stderr).contains("TANDEM_TLS_CA"),
        "{}",
        text(&without.stderr)
    );

    env.push(("TANDEM_TLS_CA", ca.display().to_string()));
    let listed = tandem(&env, &["connect", "list", "--json"]).await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(listed.status.success(), "{}", text(&listed.stderr));
}

/// mapping-config on `infra`, its peers closed.
pub(crate) async fn mapping_config_with(infra: Infra) -> Running {
    let closed = "https://localhost:9".to_owned();
    let server = mapping_config::bind(mapping_config::Config {
        listen: any_port(),
        infra,
        peers: tandem_service::args::PeerArgs {
            connector_salesforce_url: closed.clone(),
            connector_monday_url: closed.clone(),
            mapping_config_url: closed.clone(),
            sync_orchestrator_url: closed.clone(),
            run_history_url: closed,
        },
        options: mapping_config::Options {
            encryption_keys: Some(mapping_config::KeyRing::ephemeral()),
        },
    })
    .await
    .unwrap();
    start(server)
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_certs_make_a_ca_and_certificates_a_service_serves_and_the_cli_trusts() {
    tandem_testkit::install_crypto();
    let dir = std::env::temp_dir().join(format!("tandem-dev-certs-{}", uuid::Uuid::new_v4()));
    let certs = dir.join("certs");
    let made = tandem(&[], &["dev-certs", "--dir", certs.to_str().unwrap()]).await;
    assert!(made.status.success(), "{}", text(&made.stderr));
    let ca = std::fs::read_to_string(certs.join("ca.pem")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(certs.join("mapping-config-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Run again (a compose stack restarting): the certificates are kept.
    let again = tandem(&[], &["dev-certs", "--dir", certs.to_str().unwrap()]).await;
    assert!(again.status.success());
    assert_eq!(std::fs::read_to_string(certs.join("ca.pem")).unwrap(), ca);

    let db = TestDb::create().await;
    let mut infra = infra(&db);
    let read = |name: &str| std::fs::read(certs.join(name)).unwrap();
    infra.tls = tandem_service::tls::Tls::from_pem(
        Some((&read("mapping-config.pem"), &read("mapping-config-key.pem"))),
        Some(ca.as_bytes()),
    )
    .unwrap();
    let running = mapping_config_with(infra).await;
    let other_ca = dir.join("other-ca.pem");
    std::fs::write(&other_ca, TestPki::new().ca).unwrap();
    // The certificate names the service, localhost and 127.0.0.1 (how the compose file's
    // services are reached from the host); a CLI trusting another CA gets nothing.
    for (host, trusted, accepted) in [
        ("localhost", certs.join("ca.pem"), true),
        ("127.0.0.1", certs.join("ca.pem"), true),
        ("localhost", other_ca.clone(), false),
    ] {
        let env = vec![
            ("TANDEM_AUTH_SECRET", tandem_testkit::SECRET.to_owned()),
            ("TANDEM_ACCOUNT", "acme".to_owned()),
            ("TANDEM_EMAIL", "ada@acme.test".to_owned()),
            ("TANDEM_TLS_CA", trusted.display().to_string()),
            (
                "TANDEM_MAPPING_CONFIG_URL",
                format!("https://{host}:{}", running.addr.port()),
            ),
        ];
        let listed = tandem(&env, &["connect", "list", "--json"]).await;
        assert_eq!(
            listed.status.success(),
            accepted,
            "{host}: {}",
            text(&listed.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
