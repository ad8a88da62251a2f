//! A person at the development identity provider, with a plain HTTP client for a browser:
//! open the sign-in page the authorize URL names, fill in account and email, submit, and be
//! sent back.

/// Signs in at `authorize` (a URL to the provider's `/authorize` with the client's request)
/// as `account`/`email`, with `browser` trusting the provider and following no redirects;
/// where the provider sends the browser back (the client's redirect URI with code and state).
pub async fn sign_in_at_dev_issuer(
    browser: &reqwest::Client,
    authorize: &str,
    account: &str,
    email: &str,
) -> reqwest::Url {
    let page = browser
        .get(authorize)
        .send()
        .await
        .expect("the sign-in page");
    assert_eq!(page.status(), 200, "the sign-in page");
    let html = page.text().await.expect("the sign-in page's HTML");
    assert!(html.contains("Sign in to Tandem"), "{html}");
    let asked = reqwest::Url::parse(authorize).expect("an authorize URL");
    let mut form: Vec<(String, String)> = asked.query_pairs().into_owned().collect();
    form.push(("account".into(), account.into()));
    form.push(("email".into(), email.into()));
    let mut action = asked.clone();
    action.set_query(None);
    let back = browser
        .post(action)
        .form(&form)
        .send()
        .await
        .expect("the sign-in form");
    assert_eq!(back.status(), 303, "the provider sends the browser back");
    let location = back.headers()["location"].to_str().expect("a location");
    reqwest::Url::parse(location).expect("a redirect URI")
}
