//! The CLI calls services that serve TLS: https:// URLs, checked against TANDEM_TLS_CA.

use tandem_testkit::tls::TestPki;
use tandem_testkit::{TestDb, any_port, infra, start};

use crate::configure::{tandem, text};

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_reaches_a_tls_service_with_the_ca_and_says_what_is_missing_without() {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let pki = TestPki::new();
    let mut infra = infra(&db);
    infra.tls = pki.tls();
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
    let running = start(server);
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
