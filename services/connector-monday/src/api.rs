//! monday's GraphQL endpoint: one call with the connection's token and the pinned
//! `API-Version`, waiting out rate limits (`retry_in_seconds`), retrying 5xx with backoff and
//! jitter, never retrying a validation error. The complexity each response reports is kept in
//! [`Budgets`] per account.

use std::time::Duration;

use rand::Rng as _;
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::budget::Budgets;
use crate::credentials::{Credentials, Token};
use crate::error::Error;
use crate::queries;

/// Retries of a 5xx / transport failure before UNAVAILABLE.
const SERVER_RETRIES: u32 = 4;
/// Rate-limit waits inside one call before RESOURCE_EXHAUSTED.
const RATE_LIMIT_RETRIES: u32 = 5;
/// monday's code for an account whose daily calls are spent (reset at midnight UTC).
const DAILY_LIMIT: &str = "DAILY_LIMIT_EXCEEDED";
const BACKOFF_BASE: Duration = Duration::from_millis(200);

/// One entry of a response's `errors`.
#[derive(Debug, Clone)]
pub struct GqlError {
    pub message: String,
    /// `extensions.code`, empty for parse errors.
    pub code: String,
    /// The first element of `path` (the alias of a failed mutation), if any.
    pub path_head: Option<String>,
    /// Column ids named in `error_data`, if any.
    pub columns: Vec<String>,
}

/// `complexity { before after reset_in_x_seconds }` of a response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Complexity {
    pub before: u64,
    pub after: u64,
    pub reset_in_x_seconds: u64,
}

/// A 200 answer: `data` (possibly partial) and `errors`.
#[derive(Debug)]
pub struct Reply {
    pub data: Value,
    pub errors: Vec<GqlError>,
    pub complexity: Option<Complexity>,
}

impl Reply {
    /// For reads: the reply, or its first error (partial data is never passed on as if it
    /// were whole).
    pub fn check(self) -> Result<Reply, Error> {
        match self.errors.first() {
            Some(e) => Err(remote(e)),
            None => Ok(self),
        }
    }
}

fn remote(e: &GqlError) -> Error {
    match e.code.as_str() {
        "ResourceNotFoundException" | "InvalidBoardIdException" => {
            Error::NotFound(format!("monday: {}", e.message))
        }
        _ => Error::Remote {
            code: if e.code.is_empty() {
                "GraphQLError".to_owned()
            } else {
                e.code.clone()
            },
            message: e.message.clone(),
        },
    }
}

/// How a call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads and updates: retry 5xx and transport errors.
    Safe,
    /// Creates: a 5xx may have created items, so the caller decides (it re-checks keys).
    NoServerRetry,
}

#[derive(Clone)]
pub struct Monday {
    http: reqwest::Client,
    url: String,
    version: String,
    max_wait: Duration,
    pub credentials: Credentials,
    budgets: Budgets,
}

/// What one `execute` cost: HTTP requests made (retries included).
#[derive(Debug, Default, Clone, Copy)]
pub struct Calls(pub u32);

impl Monday {
    pub fn new(
        url: String,
        version: String,
        max_wait: Duration,
        credentials: Credentials,
        budgets: Budgets,
    ) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(65))
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))?;
        Ok(Self {
            http,
            url,
            version,
            max_wait,
            credentials,
            budgets,
        })
    }

    /// The connection's token and its account id (looked up once per token).
    pub async fn session(&self, connection_id: &str, calls: &mut Calls) -> Result<Session, Error> {
        if connection_id.is_empty() {
            return Err(Error::InvalidArgument("connection_id is required".into()));
        }
        let token = self.credentials.token(connection_id).await?;
        if let Some(account) = self.credentials.account_id(connection_id) {
            return Ok(Session { token, account });
        }
        let reply = self
            .send(&token, None, queries::ME, json!({}), 10, Retry::Safe, calls)
            .await?
            .check()?;
        let account = match reply.data.pointer("/me/account/id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        if !account.is_empty() {
            self.credentials.set_account_id(&token, account.clone());
            self.record(&account, reply.complexity).await;
        }
        Ok(Session { token, account })
    }

    /// The budget window known for the session's account.
    pub async fn window(&self, session: &Session) -> Option<crate::budget::Window> {
        if session.account.is_empty() {
            return None;
        }
        self.budgets.window(&session.account).await
    }

    /// Send `query` with `variables`; `estimate` is its expected complexity.
    pub async fn execute(
        &self,
        session: &Session,
        query: &str,
        variables: Value,
        estimate: u64,
        retry: Retry,
        calls: &mut Calls,
    ) -> Result<Reply, Error> {
        let account = (!session.account.is_empty()).then_some(session.account.as_str());
        self.send(
            &session.token,
            account,
            query,
            variables,
            estimate,
            retry,
            calls,
        )
        .await
    }

    async fn record(&self, account: &str, c: Option<Complexity>) {
        if let Some(c) = c
            && !account.is_empty()
        {
            self.budgets
                .record(account, c.after, c.reset_in_x_seconds)
                .await;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        token: &Token,
        account: Option<&str>,
        query: &str,
        variables: Value,
        estimate: u64,
        retry: Retry,
        calls: &mut Calls,
    ) -> Result<Reply, Error> {
        let body = json!({"query": query, "variables": variables});
        let mut server_failures = 0u32;
        let mut rate_limited = 0u32;
        if let Some(account) = account
            && let Some(wait) = self.budgets.daily_spent(account).await
        {
            // Refused at once, without a call: a wait of hours is the caller's to schedule.
            return Err(Error::RateLimited {
                code: DAILY_LIMIT.to_owned(),
                retry_in_seconds: wait,
            });
        }
        loop {
            if let Some(account) = account
                && let Some(w) = self.budgets.window(account).await
                && w.remaining < estimate
            {
                let wait = w.reset_in();
                self.wait_out("COMPLEXITY_BUDGET_EXHAUSTED", wait, &mut rate_limited)
                    .await?;
                continue;
            }
            calls.0 += 1;
            let span = tandem_telemetry::http::client_span(
                "monday",
                "POST",
                &self.url,
                server_failures + rate_limited + 1,
            );
            let sent = self
                .http
                .post(&self.url)
                .header("authorization", token.expose())
                .header("api-version", &self.version)
                .json(&body)
                .send()
                .instrument(span.clone())
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(error) => {
                    let kind = if error.is_timeout() {
                        "timeout"
                    } else {
                        "connect"
                    };
                    tandem_telemetry::http::record_failure(&span, kind);
                    let error = error.without_url();
                    tracing::warn!(%error, attempt = server_failures + 1, "monday unreachable");
                    retry_server_failure(retry, &mut server_failures, error.to_string()).await?;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let header_id = tandem_telemetry::http::request_id_header(resp.headers());
            let text = resp
                .text()
                .instrument(span.clone())
                .await
                .unwrap_or_default();
            let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            // monday sends its request id in `extensions.request_id` (and `x-request-id`).
            let request_id = parsed
                .pointer("/extensions/request_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(header_id);
            tandem_telemetry::http::record_response(&span, status, request_id.as_deref());
            if let Some(code) = errors_of(&parsed).first().map(|e| e.code.clone())
                && !code.is_empty()
            {
                span.record("error.type", code.as_str());
            }
            if status == 401 {
                self.credentials.forget(token);
                return Err(Error::Reauthenticate {
                    connection_id: token.connection_id.clone(),
                });
            }
            if let Some((code, wait)) = rate_limit(status, &parsed, retry_after) {
                if (code.contains("COMPLEXITY") || code == "ComplexityException")
                    && let Some(account) = account
                {
                    self.budgets.record(account, 0, wait).await;
                }
                if code == DAILY_LIMIT
                    && let Some(account) = account
                {
                    self.budgets.daily_spent_for(account, wait).await;
                }
                tracing::info!(code, retry_in_s = wait, "monday rate limit, waiting");
                self.wait_out(&code, wait, &mut rate_limited).await?;
                continue;
            }
            if status >= 500 || status == 423 {
                tracing::warn!(status, attempt = server_failures + 1, "monday server error");
                let reason = format!("monday answered HTTP {status}");
                retry_server_failure(retry, &mut server_failures, reason).await?;
                continue;
            }
            if let Some(code) = parsed.get("error_code").and_then(Value::as_str) {
                let message = parsed
                    .get("error_message")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return Err(Error::Remote {
                    code: code.to_owned(),
                    message: message.to_owned(),
                });
            }
            let errors = errors_of(&parsed);
            if !(200..300).contains(&status) {
                let first = errors.first().cloned().unwrap_or(GqlError {
                    message: format!("monday answered HTTP {status}"),
                    code: String::new(),
                    path_head: None,
                    columns: vec![],
                });
                return Err(Error::Remote {
                    code: if first.code.is_empty() {
                        format!("HTTP_{status}")
                    } else {
                        first.code
                    },
                    message: first.message,
                });
            }
            let data = parsed.get("data").cloned().unwrap_or(Value::Null);
            let complexity = data.get("complexity").and_then(|c| {
                Some(Complexity {
                    before: c.get("before")?.as_u64()?,
                    after: c.get("after")?.as_u64()?,
                    reset_in_x_seconds: c.get("reset_in_x_seconds")?.as_u64()?,
                })
            });
            if let Some(account) = account {
                self.record(account, complexity).await;
            }
            return Ok(Reply {
                data,
                errors,
                complexity,
            });
        }
    }

    /// Sleep `wait` seconds (plus jitter) unless that is longer than allowed.
    pub async fn wait_out(&self, code: &str, wait: u64, count: &mut u32) -> Result<(), Error> {
        *count += 1;
        if Duration::from_secs(wait) > self.max_wait || *count > RATE_LIMIT_RETRIES {
            return Err(Error::RateLimited {
                code: code.to_owned(),
                retry_in_seconds: wait,
            });
        }
        let jitter = Duration::from_millis(rand::rng().random_range(0..250));
        tokio::time::sleep(Duration::from_secs(wait) + jitter).await;
        Ok(())
    }
}

/// A connection's token with its monday account.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: Token,
    pub account: String,
}

/// After a transport error or a 5xx/423: backs off before the next try, or gives up with
/// `Unavailable(reason)` when `retry` forbids server retries or they are used up.
async fn retry_server_failure(
    retry: Retry,
    failures: &mut u32,
    reason: String,
) -> Result<(), Error> {
    if retry == Retry::NoServerRetry || *failures >= SERVER_RETRIES {
        return Err(Error::Unavailable(reason));
    }
    *failures += 1;
    tokio::time::sleep(backoff(*failures)).await;
    Ok(())
}

fn backoff(attempt: u32) -> Duration {
    let base = BACKOFF_BASE * 2u32.pow(attempt.saturating_sub(1).min(6));
    base + Duration::from_millis(rand::rng().random_range(0..=base.as_millis() as u64 / 2))
}

/// A rate-limit answer's code and how long to wait, else None.
fn rate_limit(status: u16, body: &Value, retry_after: Option<u64>) -> Option<(String, u64)> {
    let errors = body.get("errors").and_then(Value::as_array);
    let hit = errors.into_iter().flatten().find(|e| {
        e.pointer("/extensions/retry_in_seconds").is_some()
            || matches!(
                e.pointer("/extensions/code").and_then(Value::as_str),
                Some(
                    "COMPLEXITY_BUDGET_EXHAUSTED"
                        | "MINUTE_RATE_LIMIT_EXCEEDED"
                        | "MAX_CONCURRENCY_EXCEEDED"
                        | "maxConcurrencyExceeded"
                        | "DAILY_LIMIT_EXCEEDED"
                        | "IP_RATE_LIMIT_EXCEEDED"
                )
            )
            || e.get("message")
                .and_then(Value::as_str)
                .is_some_and(|m| m.starts_with("Complexity budget exhausted"))
    });
    let legacy = body.get("error_code").and_then(Value::as_str) == Some("ComplexityException")
        && body
            .get("error_message")
            .and_then(Value::as_str)
            .is_some_and(|m| m.contains("reset in"));
    if status != 429 && hit.is_none() && !legacy {
        return None;
    }
    let code = hit
        .and_then(|e| e.pointer("/extensions/code").and_then(Value::as_str))
        .or_else(|| body.get("error_code").and_then(Value::as_str))
        .unwrap_or("RATE_LIMITED")
        .to_owned();
    let message = hit
        .and_then(|e| e.get("message").and_then(Value::as_str))
        .or_else(|| body.get("error_message").and_then(Value::as_str))
        .unwrap_or_default();
    let wait = hit
        .and_then(|e| e.pointer("/extensions/retry_in_seconds"))
        .and_then(Value::as_u64)
        .or(retry_after)
        .or_else(|| reset_in_message(message))
        .unwrap_or(5);
    Some((code, wait))
}

/// `… reset in 3 seconds` in a legacy ComplexityException message.
fn reset_in_message(message: &str) -> Option<u64> {
    let rest = message.split("reset in ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

fn errors_of(body: &Value) -> Vec<GqlError> {
    body.get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let ext = e.get("extensions");
            let data = ext.and_then(|x| x.get("error_data"));
            let mut columns = Vec::new();
            for key in ["column_id", "column_key"] {
                if let Some(c) = data.and_then(|d| d.get(key)).and_then(Value::as_str) {
                    columns.push(c.to_owned());
                }
            }
            GqlError {
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                code: ext
                    .and_then(|x| x.get("code"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                path_head: e
                    .get("path")
                    .and_then(Value::as_array)
                    .and_then(|p| p.first())
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                columns,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_are_recognised_in_every_shape() {
        let cases = [
            (
                429,
                json!({"errors":[{"message":"Complexity budget exhausted","extensions":{"code":"COMPLEXITY_BUDGET_EXHAUSTED","retry_in_seconds":22}}]}),
                None,
                Some(("COMPLEXITY_BUDGET_EXHAUSTED", 22)),
            ),
            (
                429,
                json!({"errors":[{"message":"Complexity budget exhausted, query cost 30001 budget remaining 19986 out of 1000000 reset in 3 seconds","extensions":{"code":"ComplexityException","status_code":429}}]}),
                None,
                Some(("ComplexityException", 3)),
            ),
            (
                200,
                json!({"error_code":"ComplexityException","error_message":"Complexity budget exhausted, query cost 1 budget remaining 0 out of 10 reset in 7 seconds"}),
                None,
                Some(("ComplexityException", 7)),
            ),
            (429, json!({}), Some(9), Some(("RATE_LIMITED", 9))),
            (
                200,
                json!({"errors":[{"message":"Query has complexity of 6000000, which exceeds max complexity of 5000000","extensions":{"code":"ComplexityException"}}]}),
                None,
                None,
            ),
            (
                200,
                json!({"errors":[{"message":"invalid value","extensions":{"code":"ColumnValueException"}}]}),
                None,
                None,
            ),
        ];
        for (status, body, after, want) in cases {
            let got = rate_limit(status, &body, after);
            assert_eq!(got.as_ref().map(|(c, w)| (c.as_str(), *w)), want, "{body}");
        }
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) < Duration::from_millis(301));
        assert!(backoff(3) >= Duration::from_millis(800));
        assert!(backoff(30) <= Duration::from_millis(200 * 64 * 3 / 2));
    }
}
