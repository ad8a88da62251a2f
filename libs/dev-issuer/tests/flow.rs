//! The provider as the services and a browser use it: served on a real port, signed in through
//! its page, its tokens checked by the verifier every Tandem service runs.

use std::collections::HashMap;
use std::time::Duration;

use tandem_dev_issuer::{Config, DevIssuer, EcKey};
use tandem_service::Identity;
use tandem_service::oidc::{OidcConfig, OidcVerifier, pkce_challenge};

const CLIENT: &str = "tandem";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

struct Served {
    base: String,
    http: reqwest::Client,
}

async fn serve(key: EcKey) -> Served {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::new(&base, CLIENT);
    config.redirect_uris = vec!["https://console.example/auth/callback".to_owned()];
    let router = DevIssuer::new(config, key).unwrap().router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Served { base, http }
}

fn authorize_query(redirect_uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
        ("scope", "openid email".to_owned()),
        ("state", "st&te=1".to_owned()),
        ("nonce", "n-0S6".to_owned()),
        ("code_challenge", pkce_challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

impl Served {
    /// Signs in through the page as `account`/`email`; the redirect's query.
    async fn sign_in(
        &self,
        redirect_uri: &str,
        account: &str,
        email: &str,
    ) -> HashMap<String, String> {
        let query = authorize_query(redirect_uri);
        let page = self
            .http
            .get(format!("{}/authorize", self.base))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("<label for=\"account\">Account</label>"),
            "{html}"
        );
        assert!(html.contains("Development identity provider"), "{html}");
        let mut form: Vec<(&str, String)> = query;
        form.push(("account", account.to_owned()));
        form.push(("email", email.to_owned()));
        let back = self
            .http
            .post(format!("{}/authorize", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
        let location = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
        assert!(location.as_str().starts_with(redirect_uri), "{location}");
        location.query_pairs().into_owned().collect()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(format!("{}/token", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

#[tokio::test]
async fn a_user_signs_in_through_the_page_and_the_services_verifier_accepts_the_token() {
    let served = serve(EcKey::generate().unwrap()).await;
    let redirect = "http://127.0.0.1:53111/callback";
    let back = served.sign_in(redirect, "acme", "ada@acme.test").await;
    assert_eq!(back["state"], "st&te=1");
    let code = back["code"].clone();

    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("client_id", CLIENT),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = served.token(&exchange).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();

    let mut config = OidcConfig::new(&served.base, CLIENT);
    config.refetch_interval = Duration::from_millis(1);
    let verifier = OidcVerifier::new(config).unwrap();
    assert_eq!(
        verifier.verify(id_token).await.unwrap(),
        Identity::User {
            account: "acme".into(),
            email: "ada@acme.test".into()
        }
    );

    // A code is good once.
    let (status, again) = served.token(&exchange).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The refresh token gives a new ID token once, and a new refresh token.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refreshing = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", CLIENT),
    ];
    let (status, renewed) = served.token(&refreshing).await;
    assert_eq!(status, 200, "{renewed}");
    assert!(
        verifier
            .verify(renewed["id_token"].as_str().unwrap())
            .await
            .is_ok()
    );
    assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
    let (status, reused) = served.token(&refreshing).await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_code_needs_its_verifier_and_its_redirect_uri() {
    let served = serve(EcKey::generate().unwrap()).await;
    let redirect = "https://console.example/auth/callback";
    for (verifier, uri) in [
        (
            "another-verifier-of-at-least-forty-three-characters-012345",
            redirect,
        ),
        (VERIFIER, "http://127.0.0.1:1/callback"),
    ] {
        let code = served.sign_in(redirect, "acme", "ada@acme.test").await["code"].clone();
        let (status, refused) = served
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", uri),
                ("client_id", CLIENT),
                ("code_verifier", verifier),
            ])
            .await;
        assert_eq!(
            (status, refused["error"].as_str()),
            (400, Some("invalid_grant")),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn requests_it_cannot_serve_are_refused_on_the_page_never_redirected() {
    let served = serve(EcKey::generate().unwrap()).await;
    let mut unknown_redirect = authorize_query("https://evil.example/cb");
    let mut other_client = authorize_query("http://127.0.0.1:1/cb");
    other_client[1].1 = "someone-else".to_owned();
    let mut no_pkce = authorize_query("http://127.0.0.1:1/cb");
    no_pkce.retain(|(k, _)| !k.starts_with("code_challenge"));
    for (query, says) in [
        (&mut unknown_redirect, "redirect_uri"),
        (&mut other_client, "client_id"),
        (&mut no_pkce, "PKCE"),
    ] {
        let page = served
            .http
            .get(format!("{}/authorize", served.base))
            .query(&*query)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 400);
        assert!(page.headers().get("location").is_none());
        assert!(page.text().await.unwrap().contains(says));
    }
    // A bad email is shown at its field, and no code is issued.
    let mut form = authorize_query("http://127.0.0.1:1/cb");
    form.push(("account", "acme".to_owned()));
    form.push(("email", "not an email".to_owned()));
    let page = served
        .http
        .post(format!("{}/authorize", served.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"email-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
}

#[tokio::test]
async fn tokens_outlive_a_restart_when_the_key_is_kept() {
    let key = EcKey::generate().unwrap();
    let pem = key.to_pem();
    let first = serve(key).await;
    let redirect = "http://127.0.0.1:2/cb";
    let code = first.sign_in(redirect, "acme", "ada@acme.test").await["code"].clone();
    let (_, tokens) = first
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", CLIENT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let again = EcKey::from_pem(&pem).unwrap();
    assert_eq!(kid(tokens["id_token"].as_str().unwrap()), again.kid());
}
