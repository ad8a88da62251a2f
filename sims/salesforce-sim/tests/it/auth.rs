//! OAuth 2.0, token expiry, org selection by Host, userinfo and identity.

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{self, TestSim};

async fn token_request(sim: &TestSim, host: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut rb = sim
        .client
        .post(format!("{}/services/oauth2/token", sim.base_url))
        .form(form);
    if let Some(h) = host {
        rb = rb.header("Host", h);
    }
    let (status, _, body) = support::read(rb.send().await.expect("token")).await;
    (status, body)
}

#[tokio::test]
async fn authorization_code_flow_returns_the_real_token_fields() {
    let sim = support::start_default().await;
    let r = sim
        .client
        .get(format!("{}/services/oauth2/authorize", sim.base_url))
        .query(&[
            ("response_type", "code"),
            ("client_id", "3MVG9-any"),
            ("redirect_uri", "https://tandem.example.com/oauth/callback"),
            ("scope", "api refresh_token offline_access id"),
            ("state", "s-123"),
        ])
        .header("Host", "acme.my.salesforce.com")
        .send()
        .await
        .expect("authorize");
    assert_eq!(r.status().as_u16(), 302);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let loc = url::Url::parse(&location).expect("url");
    assert!(location.starts_with("https://tandem.example.com/oauth/callback?"));
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    assert_eq!(
        loc.query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned()),
        Some("s-123".into())
    );

    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "3MVG9-any"),
        ("client_secret", "shh"),
        ("redirect_uri", "https://tandem.example.com/oauth/callback"),
    ];
    let (status, body) = token_request(&sim, Some("acme.my.salesforce.com"), &form).await;
    assert_eq!(status, 200, "{body}");
    for key in [
        "access_token",
        "refresh_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ] {
        assert!(body[key].is_string(), "{key} in {body}");
    }
    assert!(body.get("expires_in").is_none());
    assert_eq!(body["token_type"], json!("Bearer"));
    assert_eq!(body["instance_url"], json!("http://acme.my.salesforce.com"));
    let org_id = sim.handle.org_id("acme");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("{}!", &org_id[..15])))
    );
    let issued = body["issued_at"].as_str().unwrap_or_default();
    assert!(
        issued.len() == 13 && issued.bytes().all(|b| b.is_ascii_digit()),
        "ms since epoch: {issued}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"shh").expect("hmac");
    mac.update(format!("{}{issued}", body["id"].as_str().unwrap_or_default()).as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(body["signature"], json!(want));

    // The code is single-use.
    let (status, again) = token_request(&sim, Some("acme.my.salesforce.com"), &form).await;
    assert_eq!(
        (status, again["error"].clone()),
        (400, json!("invalid_grant"))
    );

    // The token works for acme's host, and not for another org's.
    let token = body["access_token"].as_str().unwrap_or_default();
    let query = |host: &'static str| {
        sim.client
            .get(sim.api("limits"))
            .bearer_auth(token)
            .header("Host", host)
            .send()
    };
    assert_eq!(
        query("acme.my.salesforce.com")
            .await
            .expect("q")
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        query("other.sandbox.my.salesforce.com")
            .await
            .expect("q")
            .status()
            .as_u16(),
        401
    );
}

#[tokio::test]
async fn expired_token_answers_401_invalid_session_then_refresh_works() {
    let sim = support::start_default().await;
    let (status, _, _) = sim.json(Method::GET, &sim.api("sobjects"), None).await;
    assert_eq!(status, 200);
    sim.handle.expire_all_tokens();
    let (status, _, body) = sim.json(Method::GET, &sim.api("sobjects"), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );

    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", sim.refresh_token.as_str()),
        ("client_id", "any"),
        ("client_secret", "x"),
    ];
    let (status, body) = token_request(&sim, None, &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "refresh does not rotate by default"
    );
    let fresh = body["access_token"].as_str().expect("access_token");
    let r = sim
        .call_with(Method::GET, &sim.api("sobjects"), None, fresh)
        .await;
    assert_eq!(r.status().as_u16(), 200);

    let (status, body) = token_request(
        &sim,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "nope"),
            ("client_id", "any"),
        ],
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
        )
    );
}

#[tokio::test]
async fn short_token_ttl_expires_on_its_own() {
    let sim = support::start(salesforce_sim::Config {
        token_ttl: std::time::Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (status, _, _) = sim.json(Method::GET, &sim.api("limits"), None).await;
        if status == 401 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "token never expired");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn revoked_refresh_token_takes_its_access_tokens_along() {
    let sim = support::start_default().await;
    let r = sim
        .client
        .post(format!("{}/services/oauth2/revoke", sim.base_url))
        .form(&[("token", sim.refresh_token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status().as_u16(), 200);
    let (status, _, _) = sim.json(Method::GET, &sim.api("limits"), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn userinfo_and_identity_describe_the_admin() {
    let sim = support::start_default().await;
    let (status, _, info) = sim
        .json(Method::GET, "/services/oauth2/userinfo", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(info["user_id"], json!(sim.handle.admin_user_id("demo")));
    assert_eq!(info["organization_id"], json!(sim.handle.org_id("demo")));
    assert_eq!(info["email"], json!("admin@demo.example.com"));
    let sub = info["sub"].as_str().expect("sub").to_string();
    let (status, _, id) = sim.json(Method::GET, &sub, None).await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(id["user_id"], info["user_id"]);
    assert_eq!(id["username"], info["preferred_username"]);
    assert!(
        id["urls"]["rest"]
            .as_str()
            .is_some_and(|u| u.contains("/services/data/v{version}/"))
    );
}

#[tokio::test]
async fn orgs_are_created_on_first_use_and_kept_apart() {
    let sim = support::start_default().await;
    let acme = sim.handle.mint_token("acme");
    let globex = sim.handle.mint_token("globex--uat");
    sim.handle
        .insert("acme", "Account", json!({"Name": "Only in acme"}))
        .expect("insert");
    let count = |token: String, host: &'static str| {
        let client = sim.client.clone();
        let url = sim.api("query");
        async move {
            let r = client
                .get(url)
                .query(&[("q", "SELECT COUNT() FROM Account")])
                .bearer_auth(token)
                .header("Host", host)
                .send()
                .await
                .expect("q");
            support::read(r).await.2["totalSize"].clone()
        }
    };
    assert_eq!(
        count(acme.access_token.clone(), "acme.my.salesforce.com").await,
        json!(1)
    );
    assert_eq!(
        count(
            globex.access_token.clone(),
            "globex--uat.sandbox.my.salesforce.com"
        )
        .await,
        json!(0)
    );
    // A bare IP Host goes by the token's org.
    let r = sim
        .client
        .get(sim.api("query"))
        .query(&[("q", "SELECT COUNT() FROM Account")])
        .bearer_auth(&acme.access_token)
        .send()
        .await
        .expect("q");
    assert_eq!(support::read(r).await.2["totalSize"], json!(1));
    assert_ne!(acme.org_id, globex.org_id);
    // X-Tandem-Sim-Org names the org when the Host cannot.
    let r = sim
        .client
        .get(sim.api("limits"))
        .bearer_auth(&acme.access_token)
        .header("X-Tandem-Sim-Org", "globex--uat")
        .send()
        .await
        .expect("q");
    assert_eq!(
        r.status().as_u16(),
        401,
        "acme's token is not valid in globex"
    );
}

/// An authorize request's code, for `challenge` (PKCE S256) if given.
async fn code_for(sim: &TestSim, challenge: Option<&str>) -> String {
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", "3MVG9-any"),
        ("redirect_uri", "https://tandem.example.com/oauth/callback"),
    ];
    if let Some(c) = challenge {
        query.extend([("code_challenge", c), ("code_challenge_method", "S256")]);
    }
    let r = sim
        .client
        .get(format!("{}/services/oauth2/authorize", sim.base_url))
        .query(&query)
        .header("Host", "acme.my.salesforce.com")
        .send()
        .await
        .expect("authorize");
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    url::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {location}"))
}

#[tokio::test]
async fn a_code_issued_for_a_pkce_challenge_needs_the_verifier_it_was_made_from() {
    use sha2::Digest as _;
    let sim = support::start_default().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier));
    let exchange = |code: String, verifier: Option<&'static str>| {
        let sim = &sim;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("client_id", "3MVG9-any"),
                ("client_secret", "shh"),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v));
            }
            token_request(sim, Some("acme.my.salesforce.com"), &form).await
        }
    };
    for wrong in [None, Some("another-verifier-of-forty-three-characters-x")] {
        let (status, body) = exchange(code_for(&sim, Some(&challenge)).await, wrong).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], json!("invalid_grant"));
        assert_eq!(body["error_description"], json!("invalid code verifier"));
    }
    let (status, body) = exchange(code_for(&sim, Some(&challenge)).await, Some(verifier)).await;
    assert_eq!(status, 200, "{body}");
    // A code issued without a challenge needs no verifier.
    let (status, body) = exchange(code_for(&sim, None).await, None).await;
    assert_eq!(status, 200, "{body}");
}
