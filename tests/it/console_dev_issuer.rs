//! The console signed in as docker compose runs it: through Tandem's development identity
//! provider over TLS (its certificate from a private CA the console trusts through
//! TANDEM_OIDC_CA), its sign-in page filled in as a person would, the console's callback a
//! registered redirect URI, and the services accepting the token the provider signed.

use std::sync::Arc;
use std::time::Duration;

use tandem_dev_issuer::{Config, DevIssuer, EcKey};
use tandem_service::Auth;
use tandem_service::auth::{UserTokens, Verifier};
use tandem_service::oidc::{OidcConfig, OidcVerifier};
use tandem_testkit::tls::TestPki;
use tandem_testkit::{TestDb, start};
use tokio_util::sync::CancellationToken;

use crate::console_oidc::{cookie_of, location};
use crate::services::{bind_service, no_peers};

const PUBLIC: &str = "https://console.example.com";

#[tokio::test(flavor = "multi_thread")]
async fn the_console_signs_in_through_the_development_provider_over_tls() {
    tandem_testkit::install_crypto();
    let pki = TestPki::new();
    let stop = CancellationToken::new();
    let _stop = stop.clone().drop_guard();

    // The provider, over TLS, the console's callback registered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let mut config = Config::new(&issuer_url, "tandem");
    config.redirect_uris = vec![format!("{PUBLIC}/auth/callback")];
    let router = DevIssuer::new(config, EcKey::generate().unwrap())
        .unwrap()
        .router();
    let https =
        tandem_service::https::server_config(pki.cert.as_bytes(), pki.key.as_bytes()).unwrap();
    tokio::spawn(tandem_service::https::serve(
        listener,
        router,
        https,
        stop.clone(),
    ));

    // A service and the console on the provider, trusting its CA.
    let mut oidc = OidcConfig::new(&issuer_url, "tandem");
    oidc.ca_pem = Some(pki.ca.as_bytes().to_vec());
    oidc.max_lifetime = Duration::from_secs(3600);
    let keys = tandem_testkit::service_keys();
    let auth = Auth {
        verifier: Verifier::new(
            UserTokens::Oidc(Arc::new(OidcVerifier::new(oidc).unwrap())),
            keys.public.clone(),
        ),
        signing: keys.signing.clone(),
    };
    let db = TestDb::create().await;
    let mut infra = tandem_testkit::infra(&db);
    infra.auth = auth.clone();
    let mapping_config = start(
        bind_service("mapping-config", infra, no_peers())
            .await
            .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let closed = "http://127.0.0.1:9".to_owned();
    let console = tandem_console::bind_on(
        listener,
        tandem_console::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            auth,
            tls: Default::default(),
            https: None,
            oidc_issuer: Some(issuer_url.clone()),
            oidc_audience: Some("tandem".to_owned()),
            oidc_ca: Some(pki.ca.as_bytes().to_vec()),
            sessions: tandem_console::SessionBackend::Memory,
            peers: tandem_console::Peers {
                mapping_config_url: mapping_config.url(),
                sync_orchestrator_url: closed.clone(),
                run_history_url: closed,
            },
            options: tandem_console::Options {
                public_url: PUBLIC.to_owned(),
                ..Default::default()
            },
        },
    )
    .await
    .unwrap();
    tokio::spawn(console.serve(stop.clone()));

    // The browser: to the provider's page, the form, back to the console.
    let browser = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = browser
        .get(format!("{base}/auth/login"))
        .send()
        .await
        .unwrap();
    let pending = cookie_of(&login);
    let authorize = reqwest::Url::parse(&location(&login)).unwrap();
    assert!(authorize.as_str().starts_with(&issuer_url), "{authorize}");
    let callback = tandem_testkit::browser::sign_in_at_dev_issuer(
        &browser,
        authorize.as_str(),
        "acme",
        "ada@acme.test",
    )
    .await;
    assert!(callback.as_str().starts_with(PUBLIC), "{callback}");
    let signed = browser
        .get(format!(
            "{base}{}?{}",
            callback.path(),
            callback.query().unwrap()
        ))
        .header("cookie", &pending)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303, "{:?}", signed.text().await);
    let cookie = cookie_of(&signed);

    // Signed in: the list comes from mapping-config, which accepted the provider's token.
    let list = browser
        .get(format!("{base}/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let body = list.text().await.unwrap();
    assert!(body.contains("ada@acme.test"), "{body}");
    assert!(
        body.contains("No integrations in account acme yet"),
        "{body}"
    );
}
