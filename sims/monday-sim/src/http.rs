//! The HTTP surface: `POST /v2` (auth, API version, rate limit, parse, validate, complexity,
//! execute, envelope) and `GET /v2/get_schema` (the served SDL).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use graphql_parser::query::Selection;
use serde_json::{Map, Value, json};

use crate::Shared;
use crate::errors::error_entry;
use crate::schema::exec::{self, Ctx};
use crate::schema::validate::{self, OpKind};
use crate::schema::{SCHEMA, SERVED_SDL};
use crate::store::{RequestRecord, TokenOwner, now};
use crate::webhooks;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2", post(graphql))
        .route("/v2/get_schema", get(|| async { SERVED_SDL }))
        .merge(crate::control::routes())
        .with_state(shared)
}

/// Versions the simulator answers to: quarterly releases 2023-10 … 2027-01.
pub fn known_version(v: &str) -> bool {
    let Some((y, m)) = v.split_once('-') else {
        return false;
    };
    let (Ok(y), Ok(m)) = (y.parse::<u32>(), m.parse::<u32>()) else {
        return false;
    };
    v.len() == 7
        && matches!(m, 1 | 4 | 7 | 10)
        && (2023 * 100 + 10..=2027 * 100 + 1).contains(&(y * 100 + m))
}

struct Reply {
    status: StatusCode,
    body: Value,
    version: String,
    request_id: String,
    retry_after: Option<u64>,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.version) {
            h.insert("api-version", v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            h.insert("x-request-id", v);
        }
        if let Some(r) = self
            .retry_after
            .and_then(|r| HeaderValue::from_str(&r.to_string()).ok())
        {
            h.insert("retry-after", r);
        }
        resp
    }
}

fn codes_of(body: &Value) -> Vec<String> {
    body.get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    e.pointer("/extensions/code")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn graphql(State(app): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let cfg = &app.config;
    let asked = headers
        .get("api-version")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let version = match asked {
        "" | "current" | "stable" => cfg.default_api_version.clone(),
        v => v.to_string(),
    };
    let reply = |status: StatusCode, mut body: Value, retry_after: Option<u64>| {
        if let Some(o) = body.as_object_mut() {
            o.insert("extensions".into(), json!({"request_id": request_id}));
        }
        Reply {
            status,
            body,
            version: version.clone(),
            request_id: request_id.clone(),
            retry_after,
        }
    };
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let query_text = parsed
        .as_ref()
        .and_then(|p| p.get("query"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let variables = match parsed.as_ref().and_then(|p| p.get("variables")) {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        _ => Map::new(),
    };
    let log = |account_id: Option<i64>, complexity: u64, reply: &Reply| {
        let rec = RequestRecord {
            account_id,
            query: query_text.clone(),
            variables: Value::Object(variables.clone()),
            complexity,
            http_status: reply.status.as_u16(),
            error_codes: codes_of(&reply.body),
        };
        tracing::debug!(
            account_id = ?rec.account_id,
            complexity = rec.complexity,
            status = rec.http_status,
            errors = ?rec.error_codes,
            "graphql request served"
        );
        if let Ok(mut s) = app.store.lock() {
            s.log.push(rec);
        }
    };

    if !known_version(&version) {
        // monday lists InvalidVersionException among the errors[] codes returned at HTTP 200.
        let r = reply(
            StatusCode::OK,
            json!({"errors": [{"message": format!("Invalid API version: {asked}"), "extensions": {"code": "InvalidVersionException", "status_code": 400, "error_data": {"api_version": asked}}}]}),
            None,
        );
        log(None, 0, &r);
        return r.into_response();
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.trim().trim_start_matches("Bearer ").trim().to_string())
        .unwrap_or_default();
    let owner: Option<TokenOwner> = app
        .store
        .lock()
        .ok()
        .and_then(|s| s.tokens.get(&token).copied());
    let Some(owner) = owner else {
        let r = reply(
            StatusCode::UNAUTHORIZED,
            json!({"errors": [{"message": "Not Authenticated", "extensions": {"code": "UNAUTHENTICATED", "status_code": 401}}]}),
            None,
        );
        log(None, 0, &r);
        return r.into_response();
    };
    let Some(_inflight) = InFlight::enter(&app, owner.account_id) else {
        let r = reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"errors": [{"message": "Too many concurrent requests", "extensions": {"code": "MAX_CONCURRENCY_EXCEEDED", "retry_in_seconds": 1}}]}),
            Some(1),
        );
        log(Some(owner.account_id), 0, &r);
        return r.into_response();
    };
    if let Some(retry) = over_daily_limit(&app, owner.account_id) {
        let r = reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"errors": [{"message": "Daily limit exceeded", "extensions": {"code": "DAILY_LIMIT_EXCEEDED", "retry_in_seconds": retry}}]}),
            Some(retry),
        );
        log(Some(owner.account_id), 0, &r);
        return r.into_response();
    }
    let fault = app.take_fault();
    if let Some(latency) = fault.latency {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = fault.fail_with {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let r = reply(
            code,
            json!({"error_message": "Internal server error", "status_code": status}),
            None,
        );
        return r.into_response();
    }
    let Some(_) = parsed.as_ref().filter(|_| !query_text.is_empty()) else {
        let r = reply(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"message": "No query string was present"}]}),
            None,
        );
        log(Some(owner.account_id), 0, &r);
        return r.into_response();
    };

    // Per-minute call limit.
    {
        let Ok(mut s) = app.store.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let t = now();
        let entry = s.minute_calls.entry(owner.account_id).or_insert((t, 0));
        if (t - entry.0).whole_seconds() >= 60 {
            *entry = (t, 0);
        }
        entry.1 += 1;
        if entry.1 > cfg.requests_per_minute {
            let retry = (60 - (t - entry.0).whole_seconds()).max(1) as u64;
            drop(s);
            let r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"errors": [{"message": "Minute rate limit exceeded", "extensions": {"code": "MINUTE_RATE_LIMIT_EXCEEDED", "retry_in_seconds": retry}}]}),
                Some(retry),
            );
            log(Some(owner.account_id), 0, &r);
            return r.into_response();
        }
    }

    let op_name = parsed
        .as_ref()
        .and_then(|p| p.get("operationName"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let plan = match plan(&query_text, op_name.as_deref(), &variables) {
        Ok(p) => p,
        Err(body) => {
            let r = reply(StatusCode::BAD_REQUEST, body, None);
            log(Some(owner.account_id), 0, &r);
            return r.into_response();
        }
    };
    let cost = plan.cost;
    if cost > cfg.max_query_complexity {
        let e = crate::errors::ApiError::query_too_complex(cost, cfg.max_query_complexity);
        let r = reply(
            StatusCode::OK,
            json!({"errors": [{"message": e.message, "extensions": e.extensions()}], "account_id": owner.account_id}),
            None,
        );
        log(Some(owner.account_id), cost, &r);
        return r.into_response();
    }

    // Challenge every create_webhook URL before running anything (outside the store lock).
    let mut challenges = HashMap::new();
    for url in plan.webhook_urls {
        if let std::collections::hash_map::Entry::Vacant(slot) = challenges.entry(url) {
            let ok = webhooks::challenge(&app.client, slot.key()).await;
            slot.insert(ok);
        }
    }

    let default_budget = cfg.complexity_budget_per_minute;
    if let Some(retry) = fault.exhausted {
        let spent = crate::complexity::Charge {
            query: cost,
            before: 0,
            after: 0,
            reset_in_x_seconds: retry,
            limit: default_budget,
        };
        let body = budget_exhausted(&version, spent, owner.account_id);
        let r = reply(StatusCode::TOO_MANY_REQUESTS, body, Some(retry));
        log(Some(owner.account_id), cost, &r);
        return r.into_response();
    }
    let Ok(mut store) = app.store.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let t = now();
    let budget = store
        .budgets
        .entry(owner.account_id)
        .or_insert_with(|| crate::complexity::Budget::new(t));
    let charge = match budget.charge(cost, default_budget, t) {
        Ok(c) => c,
        Err(c) => {
            drop(store);
            let body = budget_exhausted(&version, c, owner.account_id);
            let r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                body,
                Some(c.reset_in_x_seconds),
            );
            log(Some(owner.account_id), cost, &r);
            return r.into_response();
        }
    };
    let mut ctx = Ctx {
        store: &mut store,
        owner,
        charge,
        cursor_ttl: time::Duration::try_from(cfg.cursor_ttl).unwrap_or(time::Duration::HOUR),
        max_items_per_board: cfg.max_items_per_board,
        api_version: version.clone(),
        challenges,
        events: vec![],
        errors: vec![],
        actual: 0,
    };
    let data = match graphql_parser::parse_query::<&str>(&query_text) {
        Ok(doc) => match validate::prepare(&doc, op_name.as_deref(), &variables) {
            Ok(prepared) => exec::execute(&mut ctx, &prepared),
            Err(_) => None,
        },
        Err(_) => None,
    };
    let errors = std::mem::take(&mut ctx.errors);
    let events = std::mem::take(&mut ctx.events);
    let actual = ctx.actual;
    if version.as_str() >= "2025-10"
        && let Some(b) = store.budgets.get_mut(&owner.account_id)
        && b.actual_cost.unwrap_or(cfg.complexity_actual_cost)
    {
        b.settle(cost, actual, default_budget);
    }
    crate::dispatch(&app, &store, events);
    drop(store);
    let mut body = Map::new();
    body.insert("data".into(), data.unwrap_or(Value::Null));
    if !errors.is_empty() {
        body.insert("errors".into(), Value::Array(errors));
        body.insert("account_id".into(), json!(owner.account_id));
    }
    let r = reply(StatusCode::OK, Value::Object(body), None);
    log(Some(owner.account_id), cost, &r);
    r.into_response()
}

/// Count a call against the account's daily limit; Some(seconds until midnight UTC) when it
/// is over it.
fn over_daily_limit(app: &Shared, account_id: i64) -> Option<u64> {
    let mut s = app.store.lock().ok()?;
    let t = now();
    let by_tier = if app.config.daily_calls_by_tier {
        s.accounts
            .get(&account_id)
            .map(|a| crate::daily::documented_limit(&a.tier))
    } else {
        None
    };
    s.daily_calls
        .entry(account_id)
        .or_insert_with(|| crate::daily::DailyCalls::new(t))
        .count(by_tier, t)
        .err()
}

/// The budget-exhausted body in the shape of the requested API version.
fn budget_exhausted(version: &str, c: crate::complexity::Charge, account_id: i64) -> Value {
    let retry = c.reset_in_x_seconds;
    if version < "2025-01" {
        let msg = format!(
            "Complexity budget exhausted, query cost {} budget remaining {} out of {} reset in {retry} seconds",
            c.query, c.before, c.limit
        );
        json!({"errors": [{"message": msg, "extensions": {"code": "ComplexityException", "status_code": 429, "error_data": {}, "retry_in_seconds": retry}}], "account_id": account_id})
    } else if version < "2025-07" {
        json!({"errors": [{"message": "Complexity budget exhausted", "extensions": {
            "code": "COMPLEXITY_BUDGET_EXHAUSTED", "complexity": c.query, "complexity_budget_left": c.before,
            "complexity_budget_limit": c.limit, "status_code": 429, "retry_in_seconds": retry}}], "account_id": account_id})
    } else {
        json!({"errors": [{"message": "Complexity budget exhausted", "extensions": {"code": "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": retry}}]})
    }
}

/// What is known before execution: the cost and the URLs to challenge.
struct Plan {
    cost: u64,
    webhook_urls: Vec<String>,
}

/// Parse and validate; Err is the 400 body (parse error or validation errors).
fn plan(query: &str, op_name: Option<&str>, variables: &Map<String, Value>) -> Result<Plan, Value> {
    let doc = graphql_parser::parse_query::<&str>(query)
        .map_err(|e| json!({"errors": [{"message": format!("Parse error: {e}"), "locations": [{"line": 1, "column": 1}]}]}))?;
    let prepared = validate::prepare(&doc, op_name, variables).map_err(|errs| {
        let list: Vec<Value> = errs
            .iter()
            .map(|e| {
                error_entry(
                    &e.message,
                    e.line,
                    e.column,
                    &[],
                    Some(json!({"code": "GRAPHQL_VALIDATION_FAILED"})),
                )
            })
            .collect();
        json!({"errors": list})
    })?;
    let mut webhook_urls = Vec::new();
    if prepared.kind == OpKind::Mutation {
        for sel in &prepared.selection.items {
            if let Selection::Field(f) = sel
                && f.name == "create_webhook"
                && let Ok(args) = validate::field_args(&SCHEMA, "Mutation", f, &prepared.vars)
                && let Some(url) = args.get("url").and_then(Value::as_str)
            {
                webhook_urls.push(url.to_string());
            }
        }
    }
    Ok(Plan {
        cost: prepared.complexity,
        webhook_urls,
    })
}

/// One request in flight for an account; leaving decrements the count.
struct InFlight {
    app: Arc<Shared>,
    account_id: i64,
}

impl InFlight {
    fn enter(app: &Arc<Shared>, account_id: i64) -> Option<InFlight> {
        let mut map = app.inflight.lock().ok()?;
        let n = map.entry(account_id).or_insert(0);
        if *n >= app.config.max_concurrent_requests {
            return None;
        }
        *n += 1;
        Some(InFlight {
            app: app.clone(),
            account_id,
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut map) = self.app.inflight.lock()
            && let Some(n) = map.get_mut(&self.account_id)
        {
            *n = n.saturating_sub(1);
        }
    }
}
