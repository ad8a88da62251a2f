//! The web console against the real services: what an owner and another user of the account
//! see and may do, over plain HTTP (the browser test, `browser.rs`, drives the same pages in
//! Chromium). The console forwards each user's own token, so the services' own checks decide.

use tokio_util::sync::CancellationToken;

use crate::stack::{ORG, Stack, start_stack};

/// A console serving in front of a stack until dropped.
pub struct ConsoleUnderTest {
    pub base: String,
    stop: CancellationToken,
}

impl Drop for ConsoleUnderTest {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The console on a free port, in development mode, calling `stack`'s services.
pub async fn start_console(stack: &Stack) -> ConsoleUnderTest {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let peers = stack.peers();
    let config = tandem_console::Config {
        listen: listener.local_addr().unwrap(),
        auth: tandem_testkit::auth(),
        tls: Default::default(),
        https: None,
        oidc_issuer: None,
        oidc_audience: None,
        oidc_ca: None,
        sessions: tandem_console::SessionBackend::Memory,
        peers: tandem_console::Peers {
            mapping_config_url: peers.mapping_config_url.clone(),
            sync_orchestrator_url: peers.sync_orchestrator_url.clone(),
            run_history_url: peers.run_history_url.clone(),
        },
        options: tandem_console::Options {
            public_url: base.clone(),
            sessions: "memory".into(),
            ..Default::default()
        },
    };
    let console = tandem_console::bind_on(listener, config).await.unwrap();
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { console.serve(token).await });
    ConsoleUnderTest { base, stop }
}

/// A signed-in user over plain HTTP: the session cookie, no redirects followed.
pub struct Visitor {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

/// The hidden `csrf` input's value on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf input in {html}"));
    let rest = &html[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn cookie_of(response: &reqwest::Response) -> String {
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

impl Visitor {
    /// Signs in through development mode's form.
    pub async fn sign_in(console: &ConsoleUnderTest, account: &str, email: &str) -> Visitor {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http
            .get(format!("{}/sign-in", console.base))
            .send()
            .await
            .unwrap();
        let cookie = cookie_of(&page);
        let csrf = csrf_of(&page.text().await.unwrap());
        let signed = http
            .post(format!("{}/sign-in", console.base))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("account", account),
                ("email", email),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), 303, "sign-in: {:?}", signed.text().await);
        Visitor {
            cookie: cookie_of(&signed),
            http,
            base: console.base.clone(),
        }
    }

    /// A page's status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A GET's status, redirect (if any) and body.
    pub async fn get_raw(&self, path: &str) -> (u16, String, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, location, response.text().await.unwrap())
    }

    /// A form's POST with `csrf`: the status, the redirect (if any) and the body.
    pub async fn post(&self, path: &str, csrf: &str) -> (u16, String, String) {
        self.post_form(path, &[("csrf", csrf.to_owned())]).await
    }

    /// A form's POST: the status, the redirect (if any) and the body.
    pub async fn post_form(&self, path: &str, form: &[(&str, String)]) -> (u16, String, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, location, response.text().await.unwrap())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_owner_sees_read_only_and_the_server_refuses_their_forged_actions() {
    let stack = start_stack().await;
    stack.salesforce.ensure_org(ORG);
    let integration = stack.integration().await;
    let console = start_console(&stack).await;
    let page = format!("/integrations/{}", integration.id);

    let bob = Visitor::sign_in(&console, "acme", "bob@acme.test").await;
    let (status, list) = bob.get("/").await;
    assert_eq!(status, 200);
    assert!(
        list.contains(&integration.id),
        "bob sees the account's integration: {list}"
    );
    let (status, body) = bob.get(&page).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"id="read-only""#), "{body}");
    assert!(!body.contains(r#"id="sync-now""#), "{body}");
    assert!(
        !body.contains("StageName"),
        "the mapping is the owner's: {body}"
    );
    // A valid CSRF token of bob's own session: only the services' check stands in the way.
    let csrf = csrf_of(&body);
    for action in ["sync", "pause"] {
        let (status, _, body) = bob.post(&format!("{page}/{action}"), &csrf).await;
        assert_eq!(status, 403, "{action}: {body}");
        assert!(body.contains("only its owner may"), "{action}: {body}");
    }
    assert!(stack.runs(&integration).await.is_empty(), "no cycle ran");
    let import = |mode: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("source", "salesforce".to_owned()),
            ("mode", mode.to_owned()),
        ]
    };
    let (status, _, body) = bob
        .post_form(&format!("{page}/import"), &import("import"))
        .await;
    assert_eq!(status, 403, "a writing import is the owner's: {body}");
    // A preview writes nothing: any user of the account may run one.
    let (status, location, _) = bob
        .post_form(&format!("{page}/import"), &import("preview"))
        .await;
    assert_eq!(status, 303);
    let (_, run) = bob.get(&location).await;
    assert!(run.contains("dry run"), "{run}");
    let bad = [
        ("csrf", csrf.clone()),
        ("source", "excel".to_owned()),
        ("mode", "preview".to_owned()),
    ];
    let (status, _, body) = bob.post_form(&format!("{page}/import"), &bad).await;
    assert_eq!(status, 400);
    assert!(body.contains("source: `excel` is not a side"), "{body}");
    // The mapping's description is the owner's, whoever asks the service.
    let denied = stack
        .config
        .clone()
        .describe_mappings(tandem_testkit::authorized(
            tandem_proto::v1::DescribeMappingsRequest {
                integration_id: integration.id.clone(),
            },
            &tandem_testkit::user_bearer_in("acme", "bob@acme.test"),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
    assert_eq!(stack.status(&integration).await.state, "active");

    // Another account does not learn the integration exists.
    let eve = Visitor::sign_in(&console, "globex", "eve@globex.test").await;
    let (status, _) = eve.get(&page).await;
    assert_eq!(status, 404);

    // The owner sees the mapping and acts.
    let ada = Visitor::sign_in(&console, "acme", "ada@acme.test").await;
    let (status, body) = ada.get(&page).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#"id="sync-now""#), "{body}");
    assert!(body.contains("<code>StageName</code>"), "{body}");
    // The owner's forms are labelled for screen readers and keyboard users.
    for id in ["import-source", "new-owner"] {
        assert!(
            body.contains(&format!(r#"<label for="{id}">"#)),
            "{id}: {body}"
        );
    }
    // Described from the live board and object: titles, kinds, the conversion, what it loses.
    for expected in [
        "Stage",
        "picklist-label",
        "Close Date",
        "required",
        "to Salesforce: ",
    ] {
        assert!(
            body.contains(expected),
            "`{expected}` in the mapping: {body}"
        );
    }
    let csrf = csrf_of(&body);
    let (status, _, _) = ada.post(&format!("{page}/sync"), "not-the-token").await;
    assert_eq!(status, 403, "the owner's forms need the token too");
    let (status, location, _) = ada.post(&format!("{page}/sync"), &csrf).await;
    assert_eq!(status, 303);
    // Bob's preview, then this cycle (newest first).
    let runs = stack.runs(&integration).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].trigger, tandem_proto::v1::Trigger::Manual as i32);
    assert_eq!(location, format!("/runs/{}", runs[0].id));
    let (status, body) = ada.get(&location).await;
    assert_eq!(status, 200);
    assert!(body.contains("succeeded"), "{body}");
    let (status, location, _) = ada.post(&format!("{page}/pause"), &csrf).await;
    assert_eq!((status, location.as_str()), (303, page.as_str()));
    assert_eq!(stack.status(&integration).await.state, "paused");
    let (_, body) = ada.get(&page).await;
    assert!(body.contains(r#"id="resume""#), "{body}");
    let (status, _, _) = ada.post(&format!("{page}/resume"), &csrf).await;
    assert_eq!(status, 303);
    assert_eq!(stack.status(&integration).await.state, "active");

    // Handing it over: the new owner's email is checked, the version must be the one read.
    let transfer = |email: &str, version: i64| {
        [
            ("csrf", csrf.clone()),
            ("new_owner", email.to_owned()),
            ("version", version.to_string()),
        ]
    };
    let (status, _, body) = ada
        .post_form(&format!("{page}/transfer"), &transfer("bob", 1))
        .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("new_owner: `bob` is not an email address"),
        "{body}"
    );
    let current = stack
        .config
        .clone()
        .get_integration(tandem_testkit::authorized(
            tandem_proto::v1::GetIntegrationRequest {
                id: integration.id.clone(),
            },
            &stack.bearer,
        ))
        .await
        .unwrap()
        .into_inner();
    let (status, _, body) = ada
        .post_form(
            &format!("{page}/transfer"),
            &transfer("bob@acme.test", current.version - 1),
        )
        .await;
    assert_eq!(status, 409, "a stale version: {body}");
    let (status, location, _) = ada
        .post_form(
            &format!("{page}/transfer"),
            &transfer("bob@acme.test", current.version),
        )
        .await;
    assert_eq!((status, location.as_str()), (303, page.as_str()));
    let (_, body) = ada.get(&page).await;
    assert!(
        body.contains(r#"id="read-only""#) && body.contains("bob@acme.test"),
        "{body}"
    );
}
