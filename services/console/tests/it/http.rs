//! Headers, cookies, CSRF and the development sign-in, over HTTP.

use crate::{client, csrf_of, dev_config, session_cookie, start};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let console = start(dev_config("http://127.0.0.1:8080")).await;
    let http = client();
    for path in [
        "/sign-in",
        "/",
        "/no-such-page",
        "/static/console.css",
        "/runs/x",
    ] {
        let response = http
            .get(format!("{}{path}", console.base))
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn pages_send_a_visitor_who_is_not_signed_in_to_the_sign_in_page() {
    let console = start(dev_config("http://127.0.0.1:8080")).await;
    let http = client();
    for path in ["/", "/integrations/abc", "/runs/abc"] {
        let response = http
            .get(format!("{}{path}", console.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/sign-in", "{path}");
    }
    let forged = http
        .post(format!("{}/integrations/abc/sync", console.base))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 303);
    assert_eq!(forged.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_secure_only_behind_https() {
    let plain = start(dev_config("http://127.0.0.1:8080")).await;
    let response = client()
        .get(format!("{}/sign-in", plain.base))
        .send()
        .await
        .unwrap();
    let (pair, line) = session_cookie(&response).expect("a session cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax") && line.contains("Path=/"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "{line}");
    // An opaque random id, not a token.
    let value = pair.split_once('=').unwrap().1;
    assert_eq!(value.len(), 43, "{value}");
    assert!(!value.contains('.'), "{value}");

    let tls = start(dev_config("https://tandem.example.com")).await;
    let response = client()
        .get(format!("{}/sign-in", tls.base))
        .send()
        .await
        .unwrap();
    let (_, line) = session_cookie(&response).expect("a session cookie");
    assert!(line.contains("; Secure"), "{line}");
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let console = start(dev_config("http://127.0.0.1:8080")).await;
    let http = client();
    let page = http
        .get(format!("{}/sign-in", console.base))
        .send()
        .await
        .unwrap();
    let (cookie, _) = session_cookie(&page).unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let post = |form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut request = http.post(format!("{}/sign-in", console.base)).form(&form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let user = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("account", "acme".to_owned()),
            ("email", "ada@acme.test".to_owned()),
        ]
    };
    // No token, a wrong one, another session's, or no session at all.
    let other = http
        .get(format!("{}/sign-in", console.base))
        .send()
        .await
        .unwrap();
    let other_csrf = csrf_of(&other.text().await.unwrap());
    for (form, cookie) in [
        (user(""), Some(cookie.clone())),
        (user("forged"), Some(cookie.clone())),
        (user(&other_csrf), Some(cookie.clone())),
        (user(&csrf), None),
    ] {
        let refused = post(form, cookie).await.unwrap();
        assert_eq!(refused.status(), 403);
        assert!(session_cookie(&refused).is_none());
        let body = refused.text().await.unwrap();
        assert!(body.contains("csrf"), "{body}");
    }
    // The session's own token signs in: a new session (the old id is worth nothing now).
    let signed = post(user(&csrf), Some(cookie.clone())).await.unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()["location"], "/");
    let (new_cookie, line) = session_cookie(&signed).expect("a new session");
    assert_ne!(new_cookie, cookie);
    assert!(line.contains("HttpOnly"), "{line}");
    let old = http
        .get(format!("{}/", console.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(old.headers()["location"], "/sign-in");
    // Signing out is a POST too: refused without the (new) session's token.
    let out = http
        .post(format!("{}/sign-out", console.base))
        .header("cookie", &new_cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 403);
}

#[tokio::test]
async fn bad_sign_in_input_is_shown_at_its_field() {
    let console = start(dev_config("http://127.0.0.1:8080")).await;
    let http = client();
    let page = http
        .get(format!("{}/sign-in", console.base))
        .send()
        .await
        .unwrap();
    let (cookie, _) = session_cookie(&page).unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let response = http
        .post(format!("{}/sign-in", console.base))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("account", "acme"),
            ("email", "not-an-email"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains(r#"id="email-problem""#), "{body}");
    assert!(body.contains("is not an email address"), "{body}");
    assert!(!body.contains(r#"id="account-problem""#), "{body}");
}

#[tokio::test]
async fn with_a_certificate_the_console_serves_https_only() {
    let pki = tandem_testkit::tls::TestPki::new();
    let mut config = dev_config("https://localhost:8443");
    config.https =
        Some(tandem_console::https_config(pki.cert.as_bytes(), pki.key.as_bytes()).unwrap());
    let console = start(config).await;
    let port = console.base.rsplit(':').next().unwrap().to_owned();
    let ca = reqwest::Certificate::from_pem(pki.ca.as_bytes()).unwrap();
    let https = reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = https
        .get(format!("https://localhost:{port}/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let (_, line) = session_cookie(&page).expect("a session cookie");
    assert!(line.contains("; Secure"), "{line}");
    assert!(page.headers().contains_key("content-security-policy"));
    // Plain HTTP gets no page.
    let plain = client()
        .get(format!("{}/sign-in", console.base))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

/// Every field a person fills is named by a label (`<label for=ID>` for `<input id=ID>`).
fn unlabelled_fields(html: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for tag in html
        .split('<')
        .filter(|t| t.starts_with("input") || t.starts_with("select"))
    {
        if tag.contains(r#"type="hidden""#) {
            continue;
        }
        let id = tag
            .split("id=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default();
        if id.is_empty() || !html.contains(&format!(r#"<label for="{id}">"#)) {
            missing.push(tag.to_owned());
        }
    }
    missing
}

#[tokio::test]
async fn the_sign_in_form_is_labelled_and_has_one_main_heading() {
    let console = start(dev_config("http://127.0.0.1:8080")).await;
    let page = client()
        .get(format!("{}/sign-in", console.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        unlabelled_fields(&page).is_empty(),
        "{:?}",
        unlabelled_fields(&page)
    );
    assert_eq!(page.matches("<h1>").count(), 1, "{page}");
    assert!(page.contains(r#"<html lang="en">"#));
    assert!(page.contains(r##"href="#main""##), "a skip link: {page}");
    // The check itself finds an unlabelled field.
    assert_eq!(unlabelled_fields(r#"<input id="x" name="x">"#).len(), 1);
}
