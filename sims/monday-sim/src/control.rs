//! The control plane at `/__sim/…` (no auth; a local tool): seed accounts, boards, columns and
//! items, edit an item as a user (webhooks fire), read the request log, set complexity budgets,
//! inject faults. The same operations are on `SimHandle` for in-process tests.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Faults, Shared, SimHandle};

fn handle(shared: &Arc<Shared>) -> SimHandle {
    SimHandle::new(
        shared.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
}

fn bad(message: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.to_string()})),
    )
        .into_response()
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route("/__sim/accounts", post(create_account))
        .route("/__sim/accounts/{account_id}/users", post(add_user))
        .route("/__sim/boards", post(create_board))
        .route("/__sim/boards/{board_id}/columns", post(add_column))
        .route("/__sim/boards/{board_id}/items", post(create_item))
        .route("/__sim/items/{item_id}/edit", post(edit_item))
        .route("/__sim/complexity", post(complexity))
        .route("/__sim/daily-calls", post(daily_calls))
        .route("/__sim/faults", post(faults))
}

async fn requests(State(s): State<Arc<Shared>>) -> Json<Value> {
    let list: Vec<Value> = handle(&s)
        .requests()
        .into_iter()
        .map(|r| {
            json!({"account_id": r.account_id, "query": r.query, "variables": r.variables, "complexity": r.complexity,
                   "http_status": r.http_status, "error_codes": r.error_codes})
        })
        .collect();
    Json(Value::Array(list))
}

async fn clear_requests(State(s): State<Arc<Shared>>) -> StatusCode {
    handle(&s).clear_requests();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct NewAccount {
    name: String,
    admin_name: String,
    admin_email: String,
}

async fn create_account(State(s): State<Arc<Shared>>, Json(a): Json<NewAccount>) -> Json<Value> {
    let info = handle(&s).create_account(&a.name, &a.admin_name, &a.admin_email);
    Json(json!({"account_id": info.account_id, "user_id": info.user_id, "token": info.token}))
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    email: String,
}

async fn add_user(
    State(s): State<Arc<Shared>>,
    Path(account_id): Path<i64>,
    Json(u): Json<NewUser>,
) -> Json<Value> {
    let h = handle(&s);
    let user_id = h.add_user(account_id, &u.name, &u.email);
    let token = h.create_token(account_id, user_id);
    Json(json!({"user_id": user_id, "token": token}))
}

#[derive(Deserialize)]
struct NewBoard {
    account_id: i64,
    name: String,
}

async fn create_board(State(s): State<Arc<Shared>>, Json(b): Json<NewBoard>) -> Json<Value> {
    Json(json!({"board_id": handle(&s).create_board(b.account_id, &b.name)}))
}

#[derive(Deserialize)]
struct NewColumn {
    id: String,
    title: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    settings: Value,
}

async fn add_column(
    State(s): State<Arc<Shared>>,
    Path(board_id): Path<i64>,
    Json(c): Json<NewColumn>,
) -> Response {
    let settings = if c.settings.is_null() {
        json!({})
    } else {
        c.settings
    };
    match handle(&s).add_column(board_id, &c.id, &c.title, &c.kind, settings) {
        Ok(id) => Json(json!({"column_id": id})).into_response(),
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
struct NewItem {
    name: String,
    group_id: Option<String>,
    #[serde(default)]
    column_values: Value,
}

async fn create_item(
    State(s): State<Arc<Shared>>,
    Path(board_id): Path<i64>,
    Json(i): Json<NewItem>,
) -> Response {
    match handle(&s).create_item(board_id, i.group_id.as_deref(), &i.name, i.column_values) {
        Ok(id) => Json(json!({"item_id": id})).into_response(),
        Err(e) => bad(e),
    }
}

#[derive(Deserialize)]
struct Edit {
    user_id: i64,
    column_values: Value,
}

async fn edit_item(
    State(s): State<Arc<Shared>>,
    Path(item_id): Path<i64>,
    Json(e): Json<Edit>,
) -> Response {
    match handle(&s).edit_item_as(e.user_id, item_id, e.column_values) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": err.message, "code": err.code})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct Budget {
    account_id: i64,
    per_minute: Option<u64>,
    #[serde(default)]
    exhaust: bool,
    #[serde(default)]
    reset: bool,
    /// Settle requests against their actual cost (true), charge estimates only (false).
    actual_cost: Option<bool>,
}

async fn complexity(State(s): State<Arc<Shared>>, Json(b): Json<Budget>) -> StatusCode {
    let h = handle(&s);
    h.set_complexity_budget(b.account_id, b.per_minute);
    if b.reset {
        h.reset_complexity_budget(b.account_id);
    }
    if b.exhaust {
        h.exhaust_complexity_budget(b.account_id);
    }
    if b.actual_cost.is_some() {
        h.set_complexity_actual_cost(b.account_id, b.actual_cost);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Daily {
    account_id: i64,
    /// Calls a day for this account (null: the configured limit).
    limit: Option<u32>,
    /// Calls to count as already made today.
    #[serde(default)]
    spend: u32,
}

async fn daily_calls(State(s): State<Arc<Shared>>, Json(d): Json<Daily>) -> StatusCode {
    let h = handle(&s);
    h.set_daily_call_limit(d.account_id, d.limit);
    if d.spend > 0 {
        h.spend_daily_calls(d.account_id, d.spend);
    }
    StatusCode::NO_CONTENT
}

async fn faults(State(s): State<Arc<Shared>>, Json(f): Json<Faults>) -> StatusCode {
    handle(&s).set_faults(f);
    StatusCode::NO_CONTENT
}
