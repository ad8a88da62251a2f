//! `POST /composite`: up to 25 subrequests in one API call, with `@{ref.field}` references
//! between them and `allOrNone` rollback.

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use crate::errors::ApiError;
use crate::http::{Reply, Req};
use crate::rest::{self, Ctx};
use crate::{Shared, clock};

const MAX_SUBREQUESTS: usize = 25;

/// Looks up `ref.path[0].field` in earlier results.
fn lookup(refs: &HashMap<String, Value>, expr: &str) -> Option<Value> {
    let mut parts = expr.split('.');
    let mut cur = refs.get(parts.next()?)?;
    for part in parts {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur.clone())
}

fn substitute(s: &str, refs: &HashMap<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let expr = &rest[start + 2..start + end];
        match lookup(refs, expr) {
            Some(Value::String(v)) => out.push_str(&v),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&rest[start..start + end + 1]),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn substitute_value(v: &Value, refs: &HashMap<String, Value>) -> Value {
    match v {
        Value::String(s) => Value::String(substitute(s, refs)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute_value(x, refs)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute_value(x, refs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn sub_response(reference_id: &str, status: StatusCode, body: Value, headers: Value) -> Value {
    json!({"body": body, "httpHeaders": headers, "httpStatusCode": status.as_u16(), "referenceId": reference_id})
}

pub fn handle(shared: &Shared, ctx: &Ctx, req: &Req) -> Result<Reply, ApiError> {
    let body = req.json_body()?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(subs) = body.get("compositeRequest").and_then(Value::as_array) else {
        return Err(ApiError::json_parser(
            "Missing required field: compositeRequest",
        ));
    };
    if subs.len() > MAX_SUBREQUESTS {
        return Err(ApiError::bad_request(
            "INVALID_BATCH_REQUEST",
            "Limit of 25 subrequests exceeded",
        ));
    }
    // With allOrNone the subrequests are one transaction; without, one each.
    let snapshot = all_or_none
        .then(|| shared.with_org(&ctx.org, |o, _| (o.records.clone(), o.cdc.journal.len())));
    let mut refs: HashMap<String, Value> = HashMap::new();
    let mut results = Vec::new();
    let mut failed = false;
    for sub in subs {
        let reference_id = sub
            .get("referenceId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if failed && all_or_none {
            let halted = json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}]);
            results.push(sub_response(
                &reference_id,
                StatusCode::BAD_REQUEST,
                halted,
                json!({}),
            ));
            continue;
        }
        if !all_or_none {
            shared.with_org(&ctx.org, |o, _| o.cdc.begin());
        }
        let method = sub
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::GET);
        let url = substitute(sub.get("url").and_then(Value::as_str).unwrap_or(""), &refs);
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (url.clone(), None),
        };
        let Some((version, tail)) = path
            .strip_prefix("/services/data/v")
            .map(|r| r.split_once('/').unwrap_or((r, "")))
        else {
            let err = ApiError::not_found();
            results.push(sub_response(
                &reference_id,
                err.status,
                err.body(),
                json!({}),
            ));
            failed = true;
            continue;
        };
        let sub_body = match sub.get("body") {
            Some(b) => Bytes::from(substitute_value(b, &refs).to_string()),
            None => Bytes::new(),
        };
        let sub_req = Req {
            method: method.clone(),
            path: path.clone(),
            query,
            headers: req.headers.clone(),
            body: sub_body,
            host_org: req.host_org.clone(),
            instance_url: req.instance_url.clone(),
        };
        let sub_ctx = Ctx {
            org: ctx.org.clone(),
            user_id: ctx.user_id.clone(),
            version: version.to_string(),
            instance_url: ctx.instance_url.clone(),
        };
        let reply = rest::handle(shared, &sub_ctx, &sub_req, tail.trim_end_matches('/'))
            .unwrap_or_else(Reply::from);
        let status = reply.status();
        let body = match reply {
            Reply::Json(_, v) => v,
            Reply::Empty(_) => Value::Null,
        };
        let mut headers = Map::new();
        if status == StatusCode::CREATED
            && let Some(id) = body.get("id").and_then(Value::as_str)
        {
            headers.insert(
                "Location".into(),
                json!(format!("{}/{id}", path.trim_end_matches('/'))),
            );
        }
        if method == Method::GET && tail.ends_with("describe") {
            headers.insert(
                "ETag".into(),
                json!(format!(
                    "\"{:08x}\"",
                    tail.len() * 2_654_435_761 % 0xffff_ffff
                )),
            );
            let now = clock::now();
            let date = now
                .format(&time::format_description::well_known::Rfc2822)
                .unwrap_or_default()
                .replace(" +0000", " GMT");
            headers.insert("Last-Modified".into(), json!(date));
        }
        if status.is_success() {
            refs.insert(reference_id.clone(), body.clone());
        } else {
            failed = true;
        }
        results.push(sub_response(
            &reference_id,
            status,
            body,
            Value::Object(headers),
        ));
    }
    if failed && let Some((saved, mark)) = snapshot {
        shared.with_org(&ctx.org, |o, _| {
            o.records = saved;
            o.forget_keys();
            o.cdc.rollback(mark);
        });
    }
    Ok(Reply::Json(
        StatusCode::OK,
        json!({"compositeResponse": results}),
    ))
}
