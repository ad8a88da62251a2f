//! The HTTP entry point: picks the org from the Host, applies injected faults, routes to
//! OAuth, the REST API or the control plane, and records every call.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::calllog::CallRecord;
use crate::errors::{ApiError, SfError};
use crate::{Shared, auth, control, rest};

pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";
const MAX_BODY: usize = 64 * 1024 * 1024;

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    r
}

pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

/// A handler's answer before it becomes an HTTP response, so that composite subrequests
/// can read it.
#[derive(Debug)]
pub enum Reply {
    Json(StatusCode, Value),
    Empty(StatusCode),
}

impl Reply {
    pub fn json(status: StatusCode, body: &Value) -> Reply {
        Reply::Json(status, body.clone())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Reply::Json(s, _) | Reply::Empty(s) => *s,
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply::Json(e.status, e.body())
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Json(status, body) => json_response(status, &body),
            Reply::Empty(status) => empty(status),
        }
    }
}

/// One request, read in full.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The org named by the Host (or `X-Tandem-Sim-Org`); `None` for a bare IP/localhost.
    pub host_org: Option<String>,
    /// `scheme://host[:port]` as the client addressed us.
    pub instance_url: String,
}

impl Req {
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json_body(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::json_parser(
                "No content to map due to end-of-input",
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| ApiError::json_parser(format!("{e}")))
    }

    pub fn form(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect();
        if let Some(q) = &self.query {
            out.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        out
    }
}

/// The org a Host names: `acme.my.salesforce.com`, `acme--uat.sandbox.my.salesforce.com`,
/// `acme-dev-ed.develop.my.salesforce.com`, or the first label of any other name.
pub fn org_from_host(host: &str) -> Option<String> {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty()
        || name == "localhost"
        || name.starts_with('[')
        || name.parse::<std::net::IpAddr>().is_ok()
    {
        return None;
    }
    for suffix in [
        ".sandbox.my.salesforce.com",
        ".develop.my.salesforce.com",
        ".scratch.my.salesforce.com",
        ".my.salesforce.com",
    ] {
        if let Some(sub) = name.strip_suffix(suffix) {
            return Some(sub.to_string());
        }
    }
    name.split('.').next().map(str::to_string)
}

/// The axum fallback handler that answers every request.
pub async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| shared.local_addr.to_string());
    let host_org = parts
        .headers
        .get("x-tandem-sim-org")
        .and_then(|h| h.to_str().ok())
        .map(|s| s.to_ascii_lowercase())
        .or_else(|| org_from_host(&host));
    // A Bulk API upload may carry up to 150 MB; anything else up to MAX_BODY.
    let upload = parts.method == Method::PUT && parts.uri.path().contains("/jobs/ingest/");
    let limit = if upload {
        shared.config.bulk.max_upload_bytes
    } else {
        MAX_BODY
    };
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) if upload => return crate::bulk::too_large(limit).into_response(),
        Err(_) => {
            return ApiError::bad_request("JSON_PARSER_ERROR", "request body could not be read")
                .into_response();
        }
    };
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        host_org,
        instance_url: format!("{}://{host}", shared.scheme()),
    };
    let latency = shared.faults.latency();
    if !latency.is_zero() && !req.path.starts_with("/__sim") {
        tokio::time::sleep(latency).await;
    }
    let (response, org) = route(&shared, &req);
    shared.calls.push(CallRecord {
        method: req.method.to_string(),
        path: req.path.clone(),
        query: req.query.clone(),
        status: response.status().as_u16(),
        org,
    });
    tracing::debug!(method = %req.method, path = %req.path, status = response.status().as_u16(), "answered");
    response
}

fn route(shared: &Arc<Shared>, req: &Req) -> (Response, Option<String>) {
    let path = req.path.as_str();
    if let Some(rest) = path.strip_prefix("/__sim/") {
        return (control::handle(shared, req, rest), None);
    }
    if let Some(status) = shared.faults.take_failure() {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let err = ApiError::new(
            code,
            SfError::new(
                if status >= 500 {
                    "SERVER_UNAVAILABLE"
                } else {
                    "REQUEST_REFUSED"
                },
                "injected fault: the service is temporarily unavailable",
            ),
        );
        return (err.into_response(), req.host_org.clone());
    }
    let trimmed = path.trim_end_matches('/');
    match trimmed {
        "/services/oauth2/authorize" => return auth::authorize(shared, req),
        "/services/oauth2/token" => return auth::token(shared, req),
        "/services/oauth2/revoke" => return auth::revoke(shared, req),
        "/services/oauth2/userinfo" => return auth::userinfo(shared, req),
        "/services/data" => return (versions(), req.host_org.clone()),
        _ => {}
    }
    if let Some(rest) = trimmed.strip_prefix("/id/") {
        return auth::identity(shared, req, rest);
    }
    if let Some(rest) = trimmed.strip_prefix("/services/data/v") {
        let (version, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if version.parse::<f32>().is_ok() && version.contains('.') {
            return api(shared, req, version, tail);
        }
    }
    (ApiError::not_found().into_response(), req.host_org.clone())
}

/// `GET /services/data`: v31.0 (Summer '14) to v66.0 (Spring '26), no auth, no limit header.
fn versions() -> Response {
    let list: Vec<Value> = (31..=66)
        .map(|v: u32| {
            let k = v - 31;
            let season = ["Summer", "Winter", "Spring"][(k % 3) as usize];
            let year = 14 + k.div_ceil(3);
            json!({"label": format!("{season} '{year:02}"), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")})
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// An authenticated REST call: checks the token, spends one API call, answers, and adds
/// `Sforce-Limit-Info`.
fn api(shared: &Arc<Shared>, req: &Req, version: &str, tail: &str) -> (Response, Option<String>) {
    let Some(grant) = auth::check_bearer(shared, req) else {
        return (
            ApiError::invalid_session().into_response(),
            req.host_org.clone(),
        );
    };
    let org_key = grant.org.clone();
    let spent = shared.with_org(&org_key, |org, _| (org.spend_api_call(), org.limit_info()));
    let mut response = if !spent.0 {
        ApiError::limit_exceeded().into_response()
    } else {
        let ctx = rest::Ctx {
            org: org_key.clone(),
            user_id: grant.user_id.clone(),
            version: version.to_string(),
            instance_url: req.instance_url.clone(),
        };
        let bulk = tail
            .strip_prefix("jobs/")
            .or((tail == "jobs").then_some(""));
        let answer = match bulk {
            Some(rest) => {
                let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
                crate::bulk::handle(shared, &ctx, req, &segs)
            }
            None => match rest::handle(shared, &ctx, req, tail) {
                Ok(r) => r.into_response(),
                Err(e) => e.into_response(),
            },
        };
        let origin = crate::pubsub::events::rest_origin(version, req.header("sforce-call-options"));
        crate::pubsub::commit(shared, &org_key, &origin);
        answer
    };
    if let Ok(v) = HeaderValue::from_str(&spent.1) {
        response.headers_mut().insert("sforce-limit-info", v);
    }
    (response, Some(org_key))
}

#[cfg(test)]
mod tests {
    use super::org_from_host;

    #[test]
    fn host_selects_org() {
        let cases = [
            ("acme.my.salesforce.com", Some("acme")),
            (
                "acme--uat.sandbox.my.salesforce.com:7001",
                Some("acme--uat"),
            ),
            ("acme-dev-ed.develop.my.salesforce.com", Some("acme-dev-ed")),
            ("Other.localhost:8080", Some("other")),
            ("127.0.0.1:7001", None),
            ("localhost:7001", None),
            ("[::1]:7001", None),
        ];
        for (host, want) in cases {
            assert_eq!(org_from_host(host).as_deref(), want, "{host}");
        }
    }
}
