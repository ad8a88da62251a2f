//! The control plane under `/__sim/`, apart from the Salesforce API, for demos and tests in
//! other languages: the call log, faults, tokens, limits, records and simulated user edits.
//! It needs no token, never counts toward limits and is never itself faulted.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

use crate::Shared;
use crate::handle::SimHandle;
use crate::http::{Req, empty, json_response};

fn bad(message: impl Into<String>) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({"error": message.into()}))
}

/// A control-plane edit; `?outside_api=true` makes it a change "made outside the API".
fn edit<R>(h: &SimHandle, req: &Req, org: &str, f: impl FnOnce(&SimHandle) -> R) -> R {
    if req.query_param("outside_api").as_deref() == Some("true") {
        h.outside_api(org, f)
    } else {
        f(h)
    }
}

pub fn handle(shared: &Arc<Shared>, req: &Req, rest: &str) -> Response {
    let h = SimHandle::new(shared.clone());
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let org = |name: &str| name.to_ascii_lowercase();
    match (&req.method, segs.as_slice()) {
        (&Method::GET, ["calls"]) => {
            let calls: Vec<Value> = h
                .calls()
                .into_iter()
                .map(|c| json!({"method": c.method, "path": c.path, "query": c.query, "status": c.status, "org": c.org}))
                .collect();
            json_response(StatusCode::OK, &Value::Array(calls))
        }
        (&Method::DELETE, ["calls"]) => {
            h.clear_calls();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["faults"]) => {
            let n = |k: &str| body.get(k).and_then(Value::as_u64).unwrap_or(0) as u32;
            if let Some(f) = body.get("fail_next") {
                let count = f.get("count").and_then(Value::as_u64).unwrap_or(1) as u32;
                let status = f.get("status").and_then(Value::as_u64).unwrap_or(503) as u16;
                h.fail_next(count, status);
            }
            if let Some(ms) = body.get("latency_ms").and_then(Value::as_u64) {
                h.set_latency(Duration::from_millis(ms));
            }
            h.lock_next(n("lock_next"));
            if let Some(on) = body.get("hold_bulk_jobs").and_then(Value::as_bool) {
                h.hold_bulk_jobs(on);
            }
            h.drop_next(n("drop_next"));
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::DELETE, ["faults"]) => {
            h.clear_faults();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["expire-tokens"]) => {
            h.expire_all_tokens();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["orgs", name, "tokens"]) => {
            let t = h.mint_token(&org(name));
            json_response(
                StatusCode::OK,
                &json!({
                    "access_token": t.access_token, "refresh_token": t.refresh_token,
                    "org_id": t.org_id, "user_id": t.user_id,
                }),
            )
        }
        (&Method::GET, ["orgs", name, "limits"]) => {
            let name = org(name);
            let (used, max) = h.api_usage(&name);
            let bulk = h.bulk_usage(&name);
            json_response(
                StatusCode::OK,
                &json!({"used": used, "max": max, "bulk": {
                    "batches_max": bulk.batches_max, "batches_used": bulk.batches_used,
                    "records_max": bulk.records_max, "records_used": bulk.records_used,
                    "query_jobs_max": bulk.query_jobs_max, "query_jobs_used": bulk.query_jobs_used,
                }}),
            )
        }
        (&Method::POST, ["orgs", name, "limits"]) => {
            let name = org(name);
            if let Some(max) = body.get("max").and_then(Value::as_u64) {
                h.set_api_limit(&name, max);
            }
            if let Some(used) = body.get("used").and_then(Value::as_u64) {
                h.set_api_usage(&name, used);
            }
            if let Some(b) = body.get("bulk") {
                let n = |k: &str| b.get(k).and_then(Value::as_u64);
                h.set_bulk_usage(&name, |u| {
                    u.batches_max = n("batches_max").unwrap_or(u.batches_max);
                    u.batches_used = n("batches_used").unwrap_or(u.batches_used);
                    u.records_max = n("records_max").unwrap_or(u.records_max);
                    u.records_used = n("records_used").unwrap_or(u.records_used);
                    u.query_jobs_max = n("query_jobs_max").unwrap_or(u.query_jobs_max);
                    u.query_jobs_used = n("query_jobs_used").unwrap_or(u.query_jobs_used);
                });
            }
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["orgs", name, "records", object]) => {
            let name = org(name);
            match edit(&h, req, &name, |h| h.insert(&name, object, body)) {
                Ok(id) => json_response(StatusCode::CREATED, &json!({"id": id})),
                Err(e) => bad(e.to_string()),
            }
        }
        (&Method::PATCH, ["orgs", name, "records", id]) => {
            let name = org(name);
            let user = req
                .query_param("as_user")
                .unwrap_or_else(|| h.admin_user_id(&name));
            match edit(&h, req, &name, |h| h.update_as(&name, id, body, &user)) {
                Ok(()) => empty(StatusCode::NO_CONTENT),
                Err(e) => bad(e.to_string()),
            }
        }
        (&Method::DELETE, ["orgs", name, "records", id]) => {
            let name = org(name);
            match edit(&h, req, &name, |h| h.delete(&name, id)) {
                Ok(()) => empty(StatusCode::NO_CONTENT),
                Err(e) => bad(e.to_string()),
            }
        }
        (&Method::POST, ["orgs", name, "records", id, "undelete"]) => {
            let name = org(name);
            match edit(&h, req, &name, |h| h.undelete(&name, id)) {
                Ok(()) => empty(StatusCode::NO_CONTENT),
                Err(e) => bad(e.to_string()),
            }
        }
        (&Method::GET, ["orgs", name, "cdc"]) => {
            let name = org(name);
            let (used, max) = h.delivery_usage(&name);
            json_response(
                StatusCode::OK,
                &json!({"selected": h.cdc_selection(&name), "delivered": used, "allocation": max}),
            )
        }
        (&Method::POST, ["orgs", name, "cdc"]) => {
            let name = org(name);
            if let Some(list) = body.get("selected").and_then(Value::as_array) {
                let objects: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                if let Err(e) = h.set_cdc_selection(&name, &objects) {
                    return bad(e.to_string());
                }
            }
            if let Some(max) = body.get("allocation").and_then(Value::as_u64) {
                h.set_delivery_allocation(&name, max);
            }
            if body.get("allocation_spent").and_then(Value::as_bool) == Some(true) {
                h.spend_delivery_allocation(&name);
            }
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["pubsub", "faults"]) => {
            if body.get("drop_streams").and_then(Value::as_bool) == Some(true) {
                h.drop_pubsub_streams();
            }
            if let Some(ms) = body.get("delay_ms").and_then(Value::as_u64) {
                h.set_pubsub_delay(Duration::from_millis(ms));
            }
            if let Some(s) = body.get("advance_clock_s").and_then(Value::as_u64) {
                h.advance_event_clock(Duration::from_secs(s));
            }
            empty(StatusCode::NO_CONTENT)
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "unknown control endpoint"}),
        ),
    }
}
