//! The console over HTTP on port 0, in development mode with in-memory sessions: the security
//! headers, the session cookie, CSRF on every POST, sign-in and sign-out. (The pages' data and
//! the owner's actions run against the real services in the e2e crate, `tests/it/console.rs`.)

mod http;
mod oidc;

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

/// A console serving on a free port until dropped.
pub struct Running {
    pub base: String,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Development mode, memory sessions, services nowhere (the pages tested here need none).
pub fn dev_config(public_url: &str) -> tandem_console::Config {
    tandem_console::Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        auth: tandem_testkit::auth(),
        tls: Default::default(),
        https: None,
        oidc_issuer: None,
        oidc_audience: None,
        oidc_ca: None,
        sessions: tandem_console::SessionBackend::Memory,
        peers: tandem_console::Peers {
            mapping_config_url: "http://127.0.0.1:1".into(),
            sync_orchestrator_url: "http://127.0.0.1:1".into(),
            run_history_url: "http://127.0.0.1:1".into(),
        },
        options: tandem_console::Options {
            public_url: public_url.to_owned(),
            ..Default::default()
        },
    }
}

pub async fn start(config: tandem_console::Config) -> Running {
    tandem_testkit::install_crypto();
    let console = tandem_console::bind(config)
        .await
        .expect("the console starts");
    let base = format!("http://{}", console.local_addr().unwrap());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move { console.serve(token).await });
    Running { base, stop }
}

/// An HTTP client that shows redirects instead of following them, and keeps no cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The session cookie a response sets (`name=value`), and the whole Set-Cookie line.
pub fn session_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(tandem_console::COOKIE))
        .map(|line| {
            let pair = line.split(';').next().unwrap_or_default().to_owned();
            (pair, line.to_owned())
        })
}

/// The value of the hidden `csrf` input of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf input in {html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}
