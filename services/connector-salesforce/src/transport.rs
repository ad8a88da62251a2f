//! One HTTP exchange with Salesforce, retried with exponential backoff and full jitter on
//! transient failures: 5xx, timeouts, dropped connections and `UNABLE_TO_LOCK_ROW`. Never on
//! other 4xx answers. A request that is not idempotent (a plain create) is retried only when
//! it surely did not arrive (connection refused) or Salesforce said 503 before handling it.

use std::time::Duration;

use rand::Rng as _;
use reqwest::Method;
use serde_json::Value as Json;
use tracing::Instrument as _;

use crate::error::Error;

const MAX_DELAY: Duration = Duration::from_secs(10);

/// A request to send; the bearer token is attached by the caller's [`Request::bearer`].
pub struct Request {
    pub method: Method,
    pub url: String,
    pub bearer: Option<String>,
    pub body: Body,
    /// True when sending it twice has the effect of sending it once.
    pub idempotent: bool,
    /// `Sforce-Call-Options` (`client=tandem-…`): who wrote, named in the change events.
    pub call_options: Option<String>,
    /// The `Accept` header: [`JSON`], or [`CSV`] for Bulk API result files.
    pub accept: &'static str,
}

/// What most resources answer.
pub const JSON: &str = "application/json";
/// What Bulk API 2.0 job data and result files are.
pub const CSV: &str = "text/csv";

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

pub enum Body {
    None,
    /// JSON already rendered (kept as text so exact numbers pass through).
    Text(String),
    /// Bulk API job data.
    Csv(String),
    Form(Vec<(&'static str, String)>),
}

/// An answer: status, body text, and the `Sforce-Limit-Info` usage if present.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub usage: Option<(u64, u64)>,
    /// How many attempts it took (each one a call Salesforce may have counted).
    pub attempts: u32,
    /// `Sforce-Locator` of a Bulk API query results page (`null` after the last).
    pub locator: Option<String>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Result<Json, Error> {
        if self.body.trim().is_empty() {
            return Ok(Json::Null);
        }
        serde_json::from_str(&self.body).map_err(|e| {
            Error::Protocol(format!("body of a {} answer is not JSON: {e}", self.status))
        })
    }

    /// The first entry of Salesforce's error array `[{message, errorCode, fields}]`.
    pub fn error(&self) -> (String, String, Vec<String>) {
        let parsed: Json = serde_json::from_str(&self.body).unwrap_or(Json::Null);
        let first = match &parsed {
            Json::Array(a) => a.first().cloned().unwrap_or(Json::Null),
            other => other.clone(),
        };
        let text = |k: &str| first.get(k).and_then(Json::as_str).map(str::to_owned);
        let code = text("errorCode")
            .or_else(|| text("error"))
            .unwrap_or_else(|| format!("HTTP_{}", self.status));
        let message = text("message")
            .or_else(|| text("error_description"))
            .unwrap_or_else(|| self.body.chars().take(300).collect());
        let fields = first
            .get("fields")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        (code, message, fields)
    }

    fn is_lock_error(&self) -> bool {
        self.status == 400 && self.body.contains("UNABLE_TO_LOCK_ROW")
    }
}

/// Backoff settings.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub base: Duration,
}

impl Retry {
    /// The wait before attempt `n + 1` (n >= 1): uniform in [0, min(cap, base * 2^(n-1))].
    pub fn delay(&self, n: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << (n.saturating_sub(1)).min(16))
            .min(MAX_DELAY);
        let ms = ceiling.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=ms))
    }
}

#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    retry: Retry,
}

/// What went wrong with one attempt.
enum Attempt {
    Answered(Reply),
    Failed { retryable: bool, reason: String },
}

impl Transport {
    pub fn new(timeout: Duration, retry: Retry) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "tandem-connector-salesforce/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))?;
        Ok(Self { client, retry })
    }

    pub fn retry(&self) -> Retry {
        self.retry
    }

    /// Sends `request`, retrying transient failures; returns the last answer (whatever its
    /// status) or `Unavailable` when no answer came.
    pub async fn send(&self, request: &Request) -> Result<Reply, Error> {
        let mut attempt = 1;
        loop {
            let span = tandem_telemetry::http::client_span(
                "salesforce",
                request.method.as_str(),
                &request.url,
                attempt,
            );
            let outcome = self.once(request, &span).instrument(span.clone()).await;
            let (retryable, why) = match &outcome {
                Attempt::Answered(reply) => {
                    let transient =
                        matches!(reply.status, 500 | 502 | 503 | 504) || reply.is_lock_error();
                    let safe = request.idempotent || reply.status == 503;
                    (transient && safe, format!("status {}", reply.status))
                }
                Attempt::Failed { retryable, reason } => (*retryable, reason.clone()),
            };
            if !retryable || attempt >= self.retry.attempts {
                return match outcome {
                    Attempt::Answered(mut reply) => {
                        reply.attempts = attempt;
                        Ok(reply)
                    }
                    Attempt::Failed { reason, .. } => Err(Error::Unavailable(format!(
                        "{} {} failed after {attempt} attempt(s): {reason}",
                        request.method,
                        path_of(&request.url)
                    ))),
                };
            }
            let wait = self.retry.delay(attempt);
            tracing::warn!(
                method = %request.method,
                path = %path_of(&request.url),
                attempt,
                reason = %why,
                wait_ms = wait.as_millis() as u64,
                "retrying salesforce request"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt, recorded on its client `span` (status, request id, or why it failed).
    async fn once(&self, request: &Request, span: &tracing::Span) -> Attempt {
        let mut builder = self
            .client
            .request(request.method.clone(), &request.url)
            .header("accept", request.accept);
        if let Some(token) = &request.bearer {
            builder = builder.bearer_auth(token);
        }
        if let Some(options) = &request.call_options {
            builder = builder.header("sforce-call-options", options);
        }
        builder = match &request.body {
            Body::None => builder,
            Body::Text(t) => builder
                .header("content-type", "application/json")
                .body(t.clone()),
            Body::Csv(t) => builder.header("content-type", CSV).body(t.clone()),
            Body::Form(f) => builder.form(f),
        };
        match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let request_id = tandem_telemetry::http::request_id_header(response.headers());
                tandem_telemetry::http::record_response(span, status, request_id.as_deref());
                let usage = response
                    .headers()
                    .get("sforce-limit-info")
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_limit_info);
                let locator = response
                    .headers()
                    .get("sforce-locator")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                match response.text().await {
                    Ok(body) => Attempt::Answered(Reply {
                        status,
                        body,
                        usage,
                        attempts: 1,
                        locator,
                    }),
                    Err(e) => Attempt::Failed {
                        retryable: request.idempotent,
                        reason: format!("reading the answer failed: {}", describe(&e)),
                    },
                }
            }
            Err(e) => {
                tandem_telemetry::http::record_failure(span, error_type(&e));
                Attempt::Failed {
                    // A refused connection never reached Salesforce; anything else might have.
                    retryable: e.is_connect() || request.idempotent,
                    reason: describe(&e),
                }
            }
        }
    }
}

/// A transport error without its URL (which could carry query text) or secrets.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "connection closed before an answer".to_owned()
    }
}

/// OpenTelemetry's `error.type` of a call that got no answer.
fn error_type(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "connection_closed"
    }
}

/// The path of a URL, for logs (no query string: it may hold SOQL with data).
pub fn path_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| "<url>".to_owned())
}

/// `api-usage=25/15000` (possibly among other comma-separated entries) → (25, 15000).
pub fn parse_limit_info(header: &str) -> Option<(u64, u64)> {
    header.split(',').find_map(|part| {
        let (_, v) = part.trim().split_once("api-usage=")?;
        let (used, max) = v.trim().split_once('/')?;
        Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limit_info_among_other_entries() {
        assert_eq!(parse_limit_info("api-usage=25/15000"), Some((25, 15000)));
        assert_eq!(
            parse_limit_info("per-app-api-usage=1/100(appName=x), api-usage=7/50"),
            Some((7, 50))
        );
        assert_eq!(parse_limit_info("nonsense"), None);
        assert_eq!(parse_limit_info("api-usage=a/b"), None);
    }

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let r = Retry {
            attempts: 5,
            base: Duration::from_millis(100),
        };
        for _ in 0..50 {
            assert!(r.delay(1) <= Duration::from_millis(100));
            assert!(r.delay(3) <= Duration::from_millis(400));
            assert!(r.delay(30) <= MAX_DELAY);
        }
    }

    /// A server that accepts connections and never answers; counts the connections.
    async fn silent_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/services/data/v62.0/sobjects",
            listener.local_addr().unwrap()
        );
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn timeouts_are_retried_for_idempotent_requests_only() {
        tandem_testkit::install_crypto();
        let transport = Transport::new(
            Duration::from_millis(200),
            Retry {
                attempts: 3,
                base: Duration::from_millis(1),
            },
        )
        .unwrap();
        for (method, idempotent, attempts) in [(Method::GET, true, 3), (Method::POST, false, 1)] {
            let (url, accepted) = silent_server().await;
            let request = Request {
                method,
                url,
                bearer: Some("secret-token".into()),
                body: Body::None,
                idempotent,
                call_options: None,
                accept: JSON,
            };
            let e = transport.send(&request).await.unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, Error::Unavailable(_)), "{text}");
            assert!(text.contains("timed out"), "{text}");
            assert!(!text.contains("secret-token"));
            assert_eq!(
                accepted.load(std::sync::atomic::Ordering::SeqCst),
                attempts,
                "{text}"
            );
        }
    }

    #[test]
    fn reads_salesforce_and_oauth_error_shapes() {
        let rest = Reply {
            status: 400,
            body: r#"[{"message":"No such column 'X' on sobject of type Account","errorCode":"INVALID_FIELD","fields":["X"]}]"#.into(),
            usage: None,
            attempts: 1,
            locator: None,
        };
        assert_eq!(
            rest.error(),
            (
                "INVALID_FIELD".to_owned(),
                "No such column 'X' on sobject of type Account".to_owned(),
                vec!["X".to_owned()]
            )
        );
        let oauth = Reply {
            status: 400,
            body: r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#
                .into(),
            usage: None,
            attempts: 1,
            locator: None,
        };
        assert_eq!(oauth.error().0, "invalid_grant");
        assert_eq!(oauth.error().1, "expired access/refresh token");
        let html = Reply {
            status: 502,
            body: "<html>bad gateway</html>".into(),
            usage: None,
            attempts: 1,
            locator: None,
        };
        assert_eq!(html.error().0, "HTTP_502");
    }
}
