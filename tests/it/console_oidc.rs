//! The console signed in through an identity provider, with sessions in Redis: the provider's
//! ID token expires within minutes and is refreshed with its refresh token as the user goes
//! on, and what Redis holds of a session is sealed (no token, email or CSRF token in it).

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands as _;
use tandem_proto::v1 as pb;
use tandem_service::Auth;
use tandem_service::auth::{UserTokens, Verifier};
use tandem_service::oidc::{OidcConfig, OidcVerifier};
use tandem_testkit::oidc::{AUDIENCE, TestIssuer, unix_now};
use tandem_testkit::{TestDb, authorized, redis_url, start};
use tokio_util::sync::CancellationToken;

use crate::services::{bind_service, no_peers};

const PUBLIC: &str = "https://console.example.com";
const SESSION_KEYS: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Users come from `issuer`; no clock skew tolerated, so an expired token is refused at once.
fn oidc_auth(issuer: &TestIssuer) -> Auth {
    let mut config = OidcConfig::new(issuer.issuer(), AUDIENCE);
    config.max_lifetime = Duration::from_secs(3600);
    config.clock_skew = Duration::ZERO;
    let keys = tandem_testkit::service_keys();
    Auth {
        verifier: Verifier::new(
            UserTokens::Oidc(Arc::new(OidcVerifier::new(config).unwrap())),
            keys.public.clone(),
        ),
        signing: keys.signing.clone(),
    }
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub(crate) fn cookie_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(tandem_console::COOKIE))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refreshed_transparently_and_redis_holds_no_token() {
    tandem_testkit::install_crypto();
    let db = TestDb::create().await;
    let issuer = TestIssuer::start().await;
    issuer.sign_in_as("acme", "ada@acme.test");
    let auth = oidc_auth(&issuer);
    let mut infra = tandem_testkit::infra(&db);
    infra.auth = auth.clone();
    let prefix = format!("{}-console", infra.redis_prefix);
    let mapping_config = start(
        bind_service("mapping-config", infra, no_peers())
            .await
            .unwrap(),
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let closed = "http://127.0.0.1:9".to_owned();
    let config = tandem_console::Config {
        listen: listener.local_addr().unwrap(),
        auth,
        tls: Default::default(),
        https: None,
        oidc_issuer: Some(issuer.issuer().to_owned()),
        oidc_audience: Some(AUDIENCE.to_owned()),
        oidc_ca: None,
        sessions: tandem_console::SessionBackend::Redis {
            url: redis_url(),
            prefix: prefix.clone(),
        },
        peers: tandem_console::Peers {
            mapping_config_url: mapping_config.url(),
            sync_orchestrator_url: closed.clone(),
            run_history_url: closed,
        },
        options: tandem_console::Options {
            public_url: PUBLIC.to_owned(),
            session_keys: Some(SESSION_KEYS.to_owned().into()),
            ..Default::default()
        },
    };
    let console = tandem_console::bind_on(listener, config).await.unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(console.serve(stop.clone()));
    let _stop = stop.drop_guard();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Sign in with a token that lasts two seconds.
    issuer.set_token_lifetime(2);
    let login = http.get(format!("{base}/auth/login")).send().await.unwrap();
    let pending = cookie_of(&login);
    let approved = http.get(location(&login)).send().await.unwrap();
    let callback = reqwest::Url::parse(&location(&approved)).unwrap();
    let signed = http
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
    let signed_at = unix_now();
    issuer.set_token_lifetime(600);

    // Wait out the token: the services refuse one as old as it now is.
    while unix_now() <= signed_at + 2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut expired = issuer.claims("acme", "ada@acme.test");
    expired["exp"] = serde_json::json!(signed_at + 2);
    let refused = mapping_config_list(&mapping_config.url(), &issuer.sign(&expired)).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::Unauthenticated);

    // The user goes on: the console refreshes first, and the service accepts the new token.
    let page = |cookie: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let response = http
                .get(format!("{base}/"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = page(cookie.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("No integrations in account acme yet"),
        "{body}"
    );
    assert_eq!(issuer.refreshes(), 1);
    let (status, _) = page(cookie.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        issuer.refreshes(),
        1,
        "the new token is used until it is due"
    );

    // What Redis holds of the session is sealed, and expires.
    let mut redis = tandem_service::storage::connect_redis(&redis_url())
        .await
        .unwrap();
    let keys: Vec<String> = redis.keys(format!("{prefix}:*")).await.unwrap();
    assert!(!keys.is_empty(), "sessions are in Redis under {prefix}");
    for key in &keys {
        let value: Vec<u8> = redis.get(key).await.unwrap();
        let text = String::from_utf8_lossy(&value);
        for plain in ["eyJ", "refresh-", "ada@acme.test", "csrf", "token"] {
            assert!(!text.contains(plain), "`{plain}` in {key}: {text}");
        }
        let ttl: i64 = redis.ttl(key).await.unwrap();
        assert!(ttl > 0, "{key} has no TTL");
        assert!(!key.contains(cookie.split('=').nth(1).unwrap()), "{key}");
    }
}

async fn mapping_config_list(
    url: &str,
    token: &str,
) -> Result<pb::ListIntegrationsResponse, tonic::Status> {
    let mut client = pb::mapping_config_client::MappingConfigClient::connect(url.to_owned())
        .await
        .unwrap();
    client
        .list_integrations(authorized(
            pb::ListIntegrationsRequest::default(),
            &format!("Bearer {token}"),
        ))
        .await
        .map(|r| r.into_inner())
}
