//! Sign-in through an identity provider: authorization code + PKCE against the test issuer,
//! the state and nonce bound to this browser's session.

use tandem_testkit::oidc::{AUDIENCE, TestIssuer};

use crate::{client, dev_config, session_cookie, start};

const PUBLIC: &str = "https://console.example.com";

async fn oidc_console(issuer: &TestIssuer) -> crate::Running {
    let args = tandem_service::auth::AuthArgs {
        oidc_issuer: Some(issuer.issuer().to_owned()),
        oidc_audience: Some(AUDIENCE.to_owned()),
        oidc_ca: None,
        oidc_max_token_lifetime_seconds: 86_400,
        oidc_clock_skew_seconds: 60,
        oidc_account_claim: "tandem_account".into(),
        oidc_email_claim: "email".into(),
        ..Default::default()
    };
    let mut config = dev_config(PUBLIC);
    config.auth = args.resolve().unwrap();
    config.oidc_issuer = args.oidc_issuer.clone();
    config.oidc_audience = args.oidc_audience.clone();
    start(config).await
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_user_signs_in_with_the_code_flow_and_pkce() {
    let issuer = TestIssuer::start().await;
    issuer.sign_in_as("acme", "ada@acme.test");
    let console = oidc_console(&issuer).await;
    let http = client();

    let page = http
        .get(format!("{}/sign-in", console.base))
        .send()
        .await
        .unwrap();
    let body = page.text().await.unwrap();
    assert!(body.contains(r#"href="/auth/login""#), "{body}");
    assert!(
        !body.contains(r#"name="email""#),
        "no development form: {body}"
    );

    let login = http
        .get(format!("{}/auth/login", console.base))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let (cookie, line) = session_cookie(&login).expect("a session for the sign-in");
    assert!(line.contains("; Secure"), "{line}");
    let authorize = url::Url::parse(&location(&login)).unwrap();
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/authorize", issuer.issuer()))
    );
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], AUDIENCE);
    assert_eq!(query["redirect_uri"], format!("{PUBLIC}/auth/callback"));
    assert_eq!(query["code_challenge"].len(), 43);
    assert!(!query.contains_key("code_verifier"));

    let approved = http.get(authorize.as_str()).send().await.unwrap();
    let callback = url::Url::parse(&location(&approved)).unwrap();
    let local = format!(
        "{}{}?{}",
        console.base,
        callback.path(),
        callback.query().unwrap()
    );

    // The callback in another browser (no session) signs nobody in.
    let elsewhere = http.get(&local).send().await.unwrap();
    assert_eq!(elsewhere.status(), 400);
    assert!(session_cookie(&elsewhere).is_none());

    let done = http
        .get(&local)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    assert_eq!(location(&done), "/");
    let (signed, line) = session_cookie(&done).expect("the signed-in session");
    assert_ne!(signed, cookie);
    assert!(
        line.contains("HttpOnly") && line.contains("; Secure"),
        "{line}"
    );
    // Signed in: the sign-in page sends the user on to the integrations.
    let again = http
        .get(format!("{}/sign-in", console.base))
        .header("cookie", &signed)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&again), "/");
    // The code and the pending sign-in were used up.
    let replay = http
        .get(&local)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused() {
    let issuer = TestIssuer::start().await;
    issuer.sign_in_as("acme", "ada@acme.test");
    let console = oidc_console(&issuer).await;
    let http = client();
    let login = http
        .get(format!("{}/auth/login", console.base))
        .send()
        .await
        .unwrap();
    let (cookie, _) = session_cookie(&login).unwrap();
    let approved = http.get(location(&login)).send().await.unwrap();
    let callback = url::Url::parse(&location(&approved)).unwrap();
    let code: String = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let forged = http
        .get(format!(
            "{}/auth/callback?code={code}&state=forged",
            console.base
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(session_cookie(&forged).is_none());
    let body = forged.text().await.unwrap();
    assert!(body.contains("state"), "{body}");
}

#[tokio::test]
async fn outside_development_mode_the_console_must_be_reached_over_https() {
    let issuer = TestIssuer::start().await;
    let args = tandem_service::auth::AuthArgs {
        oidc_issuer: Some(issuer.issuer().to_owned()),
        oidc_audience: Some(AUDIENCE.to_owned()),
        oidc_ca: None,
        ..Default::default()
    };
    let mut config = dev_config("http://console.example.com");
    config.auth = args.resolve().unwrap();
    config.oidc_issuer = args.oidc_issuer;
    let error = config.check().unwrap_err();
    assert!(error.contains("TANDEM_CONSOLE_PUBLIC_URL"), "{error}");
}

/// Signs in through `issuer`; the signed-in session's cookie.
async fn sign_in(console: &crate::Running) -> String {
    let http = client();
    let login = http
        .get(format!("{}/auth/login", console.base))
        .send()
        .await
        .unwrap();
    let (cookie, _) = session_cookie(&login).unwrap();
    let approved = http.get(location(&login)).send().await.unwrap();
    let callback = url::Url::parse(&location(&approved)).unwrap();
    let done = http
        .get(format!(
            "{}{}?{}",
            console.base,
            callback.path(),
            callback.query().unwrap()
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    session_cookie(&done).unwrap().0
}

#[tokio::test]
async fn an_expired_token_that_cannot_be_refreshed_sends_the_user_to_sign_in() {
    let issuer = TestIssuer::start().await;
    issuer.sign_in_as("acme", "ada@acme.test");
    let console = oidc_console(&issuer).await;
    let http = client();
    // Expired ten seconds ago: within the verifier's clock skew, so sign-in takes it, but the
    // console renews it before calling a service.
    issuer.set_token_lifetime(-10);
    let cookie = sign_in(&console).await;
    issuer.revoke_refresh_tokens();
    for _ in 0..2 {
        let page = http
            .get(format!("{}/", console.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 303, "never an error page");
        assert_eq!(location(&page), "/sign-in");
    }
    assert_eq!(issuer.refreshes(), 0);
    // The session is gone: the sign-in page offers the provider again.
    let again = http
        .get(format!("{}/sign-in", console.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains(r#"href="/auth/login""#)
    );
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_a_sign_in_again_not_an_error() {
    let issuer = TestIssuer::start().await;
    issuer.sign_in_as("acme", "ada@acme.test");
    let console = oidc_console(&issuer).await;
    issuer.set_token_lifetime(-10);
    let cookie = sign_in(&console).await;
    drop(issuer);
    let page = client()
        .get(format!("{}/", console.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/sign-in");
}

#[tokio::test]
async fn redis_sessions_outside_development_mode_need_sealing_keys() {
    let issuer = TestIssuer::start().await;
    let args = tandem_service::auth::AuthArgs {
        oidc_issuer: Some(issuer.issuer().to_owned()),
        oidc_audience: Some(AUDIENCE.to_owned()),
        ..Default::default()
    };
    let mut config = dev_config(PUBLIC);
    config.auth = args.resolve().unwrap();
    config.oidc_issuer = args.oidc_issuer;
    config.sessions = tandem_console::SessionBackend::Redis {
        url: tandem_testkit::redis_url(),
        prefix: "unused".into(),
    };
    let error = config.check().unwrap_err();
    assert!(
        error.contains("TANDEM_CONSOLE_SESSION_KEYS is required"),
        "{error}"
    );
    config.options.session_keys = Some("1:AAAA".to_owned().into());
    let error = config.check().unwrap_err();
    assert!(
        error.contains("entry 1: the key is not 32 bytes"),
        "{error}"
    );
    config.options.session_keys = Some(
        "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
            .to_owned()
            .into(),
    );
    config.check().unwrap();
    // Development mode makes its own.
    let mut dev = dev_config("http://127.0.0.1:8080");
    dev.sessions = config.sessions.clone();
    dev.check().unwrap();
}
