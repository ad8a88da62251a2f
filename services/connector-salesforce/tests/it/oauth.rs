//! AuthorizeUrl, ExchangeCode, RefreshToken, RevokeToken against the simulator's OAuth server.

use reqwest::Method;
use tandem_proto::v1::*;
use tandem_testkit::{authorized, user_bearer_in};
use tonic::Code;

use crate::harness::{CLIENT_ID, harness, harness_with, test_options};

const REDIRECT: &str = "https://tandem.example/oauth/callback";
const PROD: i32 = SalesforceEnvironment::Production as i32;
/// RFC 7636's example verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_request(subdomain: &str, environment: i32) -> AuthorizeUrlRequest {
    AuthorizeUrlRequest {
        subdomain: subdomain.to_owned(),
        environment,
        redirect_uri: REDIRECT.to_owned(),
        state: "st-123".to_owned(),
        code_challenge: CHALLENGE.to_owned(),
    }
}

/// Follows an authorize URL at the simulator and returns the `code` of the callback.
async fn approve(url: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.request(Method::GET, url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let callback = url::Url::parse(&location).unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let pairs: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(pairs.get("state").map(String::as_str), Some("st-123"));
    pairs["code"].clone()
}

#[tokio::test]
async fn authorize_url_carries_client_scopes_state_and_redirect() {
    let mut h = harness().await;
    let url = h
        .client
        .authorize_url(h.config_req(authorize_request("Acme", PROD)))
        .await
        .unwrap()
        .into_inner()
        .url;
    let parsed = url::Url::parse(&url).unwrap();
    assert!(url.starts_with(&format!("{}/services/oauth2/authorize?", h.sim_url)));
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["scope"], connector_salesforce::SCOPES);
    assert_eq!(q["code_challenge"], CHALLENGE);
    assert_eq!(q["code_challenge_method"], "S256");
}

#[tokio::test]
async fn authorize_url_uses_the_my_domain_host_of_each_environment() {
    let mut h = harness_with(test_options(), false).await;
    for (sub, env, host) in [
        (
            "acme",
            SalesforceEnvironment::Production,
            "https://acme.my.salesforce.com/",
        ),
        (
            "acme--uat",
            SalesforceEnvironment::Sandbox,
            "https://acme--uat.sandbox.my.salesforce.com/",
        ),
        (
            "acme-dev-ed",
            SalesforceEnvironment::Developer,
            "https://acme-dev-ed.develop.my.salesforce.com/",
        ),
    ] {
        let url = h
            .client
            .authorize_url(h.config_req(authorize_request(sub, env as i32)))
            .await
            .unwrap()
            .into_inner()
            .url;
        assert!(
            url.starts_with(&format!("{host}services/oauth2/authorize?")),
            "{url}"
        );
    }
}

#[tokio::test]
async fn malformed_subdomains_and_missing_inputs_are_invalid_arguments_naming_the_field() {
    let mut h = harness().await;
    for (request, field) in [
        (
            authorize_request("https://acme.my.salesforce.com", PROD),
            "subdomain",
        ),
        (
            authorize_request("acme.my.salesforce.com", PROD),
            "subdomain",
        ),
        (authorize_request("acme/../evil", PROD), "subdomain"),
        (authorize_request("", PROD), "subdomain"),
        (authorize_request("acme", 0), "environment"),
        (
            AuthorizeUrlRequest {
                redirect_uri: "not a url".into(),
                ..authorize_request("acme", PROD)
            },
            "redirect_uri",
        ),
        (
            AuthorizeUrlRequest {
                state: String::new(),
                ..authorize_request("acme", PROD)
            },
            "state",
        ),
        (
            AuthorizeUrlRequest {
                code_challenge: String::new(),
                ..authorize_request("acme", PROD)
            },
            "code_challenge",
        ),
    ] {
        let e = h
            .client
            .authorize_url(h.config_req(request))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(e.message().starts_with(field), "{field}: {}", e.message());
    }
    let e = h
        .client
        .exchange_code(h.config_req(ExchangeCodeRequest {
            subdomain: "https://acme.my.salesforce.com".into(),
            environment: PROD,
            code: "x".into(),
            redirect_uri: REDIRECT.into(),
            code_verifier: VERIFIER.into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("subdomain"));
}

#[tokio::test]
async fn code_exchange_returns_tokens_and_identity_then_refresh_and_revoke_work() {
    let mut h = harness().await;
    let url = h
        .client
        .authorize_url(h.config_req(authorize_request("demo", PROD)))
        .await
        .unwrap()
        .into_inner()
        .url;
    let code = approve(&url).await;
    let tokens = h
        .client
        .exchange_code(h.config_req(ExchangeCodeRequest {
            subdomain: "demo".into(),
            environment: PROD,
            code: code.clone(),
            redirect_uri: REDIRECT.into(),
            code_verifier: VERIFIER.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!tokens.access_token.is_empty());
    assert!(tokens.refresh_token.starts_with("5Aep"));
    assert_eq!(tokens.instance_url, h.sim_url);
    assert_eq!(tokens.org_id, h.sim.org_id("demo"));
    assert_eq!(tokens.user_id, h.sim.admin_user_id("demo"));
    assert!(tokens.username.contains('@'), "{}", tokens.username);
    assert!(tokens.user_email.contains('@'), "{}", tokens.user_email);
    assert!(tokens.scopes.iter().any(|s| s == "refresh_token"));
    assert!(tokens.issued_at.is_some());

    // A code is single-use: a second exchange is the caller's bad input.
    let e = h
        .client
        .exchange_code(h.config_req(ExchangeCodeRequest {
            subdomain: "demo".into(),
            environment: PROD,
            code,
            redirect_uri: REDIRECT.into(),
            code_verifier: VERIFIER.into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("invalid_grant"), "{}", e.message());

    let refreshed = h
        .client
        .refresh_token(h.config_req(RefreshTokenRequest {
            subdomain: "demo".into(),
            environment: PROD,
            refresh_token: tokens.refresh_token.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!refreshed.access_token.is_empty());
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert_eq!(
        refreshed.refresh_token, "",
        "no rotation: the old refresh token stays"
    );
    assert_eq!(refreshed.org_id, tokens.org_id);

    h.client
        .revoke_token(h.config_req(RevokeTokenRequest {
            subdomain: "demo".into(),
            environment: PROD,
            token: tokens.refresh_token.clone(),
        }))
        .await
        .unwrap();
    // Revoking twice is fine; refreshing a revoked token needs a new authorization.
    h.client
        .revoke_token(h.config_req(RevokeTokenRequest {
            subdomain: "demo".into(),
            environment: PROD,
            token: tokens.refresh_token.clone(),
        }))
        .await
        .unwrap();
    let e = h
        .client
        .refresh_token(h.config_req(RefreshTokenRequest {
            subdomain: "demo".into(),
            environment: PROD,
            refresh_token: tokens.refresh_token,
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("invalid_grant"), "{}", e.message());
    assert!(!e.message().contains("5Aep"), "no token in errors");
}

#[tokio::test]
async fn without_a_client_id_oauth_is_a_failed_precondition() {
    let options = connector_salesforce::Options {
        client_id: None,
        ..test_options()
    };
    let mut h = harness_with(options, true).await;
    let e = h
        .client
        .authorize_url(h.config_req(authorize_request("acme", PROD)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("TANDEM_SALESFORCE_CLIENT_ID"));
}

#[tokio::test]
async fn a_user_identity_is_denied_on_every_rpc() {
    let mut h = harness().await;
    let user = user_bearer_in("acme", "ada@acme.test");
    let e = h
        .client
        .authorize_url(authorized(authorize_request("acme", PROD), &user))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = h
        .client
        .describe_global(authorized(
            DescribeGlobalRequest {
                connection_id: crate::harness::CONN.into(),
            },
            &user,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = h
        .client
        .write_records(authorized(WriteRecordsRequest::default(), &user))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(h.sim.calls().len(), 0, "nothing reached salesforce");
}

#[tokio::test]
async fn a_code_is_exchanged_only_with_the_pkce_verifier_of_its_challenge() {
    let mut h = harness().await;
    let mut exchange = async |verifier: &str| {
        let url = h
            .client
            .authorize_url(h.config_req(authorize_request("demo", PROD)))
            .await
            .unwrap()
            .into_inner()
            .url;
        let code = approve(&url).await;
        h.client
            .exchange_code(h.config_req(ExchangeCodeRequest {
                subdomain: "demo".into(),
                environment: PROD,
                code,
                redirect_uri: REDIRECT.into(),
                code_verifier: verifier.into(),
            }))
            .await
    };
    // Someone who intercepted the code but not the verifier.
    let e = exchange("a-verifier-that-is-not-the-one-of-the-challenge")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("invalid code verifier"),
        "{}",
        e.message()
    );
    let e = exchange("").await.unwrap_err();
    assert!(e.message().starts_with("code_verifier"), "{}", e.message());
    assert!(exchange(VERIFIER).await.is_ok());
}
