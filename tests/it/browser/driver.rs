//! Debian's Chromium, headless, through chromedriver: found (or the test skipped), started on a
//! free port, a WebDriver session opened; polling helpers with deadlines; a screenshot and the
//! page's HTML saved when a journey fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// How long a page may take to show what a step waits for.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A chromedriver process, killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary(variable: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    path.exists().then_some(path)
}

/// chromedriver on a free port, ready for sessions; `None` (the caller skips) when chromedriver
/// or Chromium is not installed.
pub async fn start() -> Option<Driver> {
    let (Some(driver), Some(_)) = (
        binary("TANDEM_CHROMEDRIVER", "/usr/bin/chromedriver"),
        binary("TANDEM_CHROMIUM", "/usr/bin/chromium"),
    ) else {
        eprintln!(
            "SKIPPED: chromedriver or chromium is not installed (apt-get install chromium chromium-driver, or set TANDEM_CHROMEDRIVER and TANDEM_CHROMIUM); the browser test did not run"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    tandem_testkit::install_crypto();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let ready = http
            .get(format!("{}/status", driver.url))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success());
        if ready.is_some() {
            return Some(driver);
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A new headless browser window.
pub async fn session(driver: &Driver) -> Client {
    let chromium = binary("TANDEM_CHROMIUM", "/usr/bin/chromium").expect("chromium");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1000"],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

/// Where screenshots go: `TANDEM_BROWSER_ARTIFACTS`, else `target/tmp/browser`.
pub fn artifacts() -> PathBuf {
    std::env::var_os("TANDEM_BROWSER_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser"))
}

/// Saves the page as `<name>.png` and `<name>.html`; the PNG's path.
pub async fn save(client: &Client, name: &str) -> Option<PathBuf> {
    let dir = artifacts();
    std::fs::create_dir_all(&dir).ok()?;
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&png, client.screenshot().await.ok()?).ok()?;
    if let Ok(html) = client.source().await {
        let _ = std::fs::write(dir.join(format!("{name}.html")), html);
    }
    Some(png)
}

/// Saves the page when `TANDEM_BROWSER_SCREENSHOTS` is set (every page, for a look).
pub async fn shot(client: &Client, name: &str) {
    if std::env::var_os("TANDEM_BROWSER_SCREENSHOTS").is_some() {
        save(client, name).await;
    }
}

/// The page's path once `ready` holds for it, polling until [`DEADLINE`].
pub async fn wait_until(client: &Client, what: &str, ready: impl Fn(&str, &str) -> bool) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let path = client
            .current_url()
            .await
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let html = client.source().await.unwrap_or_default();
        if ready(&path, &html) {
            return path;
        }
        assert!(
            Instant::now() < deadline,
            "waited {DEADLINE:?} for {what}; at {path}:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the element `css` selects.
pub async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
        .text()
        .await
        .unwrap()
}

/// Types into the field `css` selects, replacing what it held.
pub async fn fill(client: &Client, css: &str, value: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` to click: {e}"))
        .click()
        .await
        .unwrap();
}
