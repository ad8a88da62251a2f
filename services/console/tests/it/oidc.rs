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
