//! Mutation resolvers. Each mutation validates every value before changing anything, so a
//! failing one leaves the item as it was; it then records webhook events for delivery.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::exec::{Ctx, Obj, Resolved, obj};
use super::resolve::id_arg;
use crate::column_value::{self, ColumnSpec, Input, WriteCtx};
use crate::errors::ApiError;
use crate::store::{Webhook, iso_millis, now};
use crate::webhooks;

/// The JSON scalar as monday takes it: a JSON-encoded string (an object is accepted too).
fn json_arg(args: &Map<String, Value>, name: &str) -> Result<Option<Value>, ApiError> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| ApiError::json_parse(format!("809: Unexpected token in JSON: {e}"))),
        Some(other) => Ok(Some(other.clone())),
    }
}

fn str_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

fn create_labels(args: &Map<String, Value>) -> bool {
    args.get("create_labels_if_missing")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The board of a mutation: must exist in the token's account.
fn board_arg(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<i64, ApiError> {
    let raw = args
        .get("board_id")
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .unwrap_or_default();
    let id = id_arg(args, "board_id").ok_or_else(|| ApiError::board_not_found(&raw))?;
    ctx.store
        .board_of_account(ctx.owner.account_id, id)
        .map(|b| b.id)
        .ok_or_else(|| ApiError::board_not_found(&raw))
}

/// The item of a mutation: must exist in the account (and on `board`, when given).
fn item_arg(ctx: &Ctx<'_>, args: &Map<String, Value>, board: Option<i64>) -> Result<i64, ApiError> {
    let raw = args
        .get("item_id")
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .unwrap_or_default();
    let id = id_arg(args, "item_id").ok_or_else(|| ApiError::item_not_found(&raw))?;
    let item = ctx
        .store
        .item_of_account(ctx.owner.account_id, id)
        .ok_or_else(|| ApiError::item_not_found(&raw))?;
    if board.is_some_and(|b| b != item.board_id) || item.state == "deleted" {
        return Err(ApiError::item_not_found(&raw));
    }
    Ok(id)
}

/// New stored values by column (None clears) and the new item name, if written.
type PreparedWrites = (Vec<(String, Option<Value>)>, Option<String>);

/// Validate writes to a board's cells; returns the new stored values (None = cleared), the
/// new item name if `name` was written, and updates column settings for created labels.
fn prepare_writes(
    ctx: &mut Ctx<'_>,
    board_id: i64,
    writes: Vec<(String, Value, bool)>,
    create: bool,
) -> Result<PreparedWrites, ApiError> {
    let account = ctx.owner.account_id;
    let changed_at = iso_millis(now());
    let store = &*ctx.store;
    let board = store
        .boards
        .get(&board_id)
        .ok_or_else(|| ApiError::board_not_found(&board_id.to_string()))?;
    // Copies of the written columns: labels a write creates reach the board only when every
    // write of the mutation is valid.
    let mut specs: Vec<(usize, ColumnSpec)> = Vec::new();
    let mut out = Vec::new();
    let mut name = None;
    for (col_id, v, simple) in writes {
        if col_id == "name" {
            let n = v.as_str().map(str::to_string).ok_or_else(|| {
                ApiError::column_value("invalid value - name should be a string".into(), "name")
            })?;
            if n.chars().count() > 255 {
                return Err(ApiError::new(
                    "ItemNameTooLongException",
                    200,
                    "Item name is too long",
                    json!({"max_length": 255}),
                ));
            }
            name = Some(n);
            continue;
        }
        let Some(at) = board.columns.iter().position(|c| c.spec.id == col_id) else {
            return Err(ApiError::invalid_column(&col_id));
        };
        let slot = match specs.iter().position(|(i, _)| *i == at) {
            Some(slot) => slot,
            None => {
                specs.push((at, board.columns[at].spec.clone()));
                specs.len() - 1
            }
        };
        let user_exists = |uid: i64| store.user_in_account(account, uid);
        let wctx = WriteCtx {
            create_labels_if_missing: create,
            user_exists: &user_exists,
            changed_at: changed_at.clone(),
        };
        let input = if simple {
            Input::Simple(v.as_str())
        } else {
            Input::Json(&v)
        };
        let stored = column_value::write(&mut specs[slot].1, input, &wctx)?;
        out.push((col_id, stored));
    }
    if let Some(board) = ctx.store.boards.get_mut(&board_id) {
        for (at, spec) in specs {
            board.columns[at].spec = spec;
        }
    }
    Ok((out, name))
}

/// Whether anything may receive a board's events: a subscription to it, or one this request
/// creates (events are dispatched after the request, to the subscriptions then). Events
/// nobody can receive are not built.
fn hooked(ctx: &Ctx<'_>, board_id: i64) -> bool {
    !ctx.challenges.is_empty() || ctx.store.webhooks.on_board(board_id).next().is_some()
}

/// Commit prepared writes to an item and record change events.
fn commit(
    ctx: &mut Ctx<'_>,
    item_id: i64,
    writes: Vec<(String, Option<Value>)>,
    name: Option<String>,
) {
    let user_id = ctx.owner.user_id;
    let t = now();
    // The cells that changed, with their values before; the name before, if it changed.
    let mut changed: Vec<(String, Option<Value>)> = Vec::new();
    let mut old_name = None;
    let Some(board_id) = ctx.store.items.update(&item_id, |item| {
        for (col, v) in writes {
            let before = match v {
                Some(v) => item.values.insert(col.clone(), v),
                None => item.values.remove(&col),
            };
            if before.as_ref() != item.values.get(&col) {
                changed.push((col, before));
            }
        }
        if let Some(n) = name
            && n != item.name
        {
            old_name = Some(std::mem::replace(&mut item.name, n));
        }
        item.updated_at = t;
        item.board_id
    }) else {
        return;
    };
    if hooked(ctx, board_id)
        && let (Some(board), Some(item)) = (
            ctx.store.boards.get(&board_id),
            ctx.store.items.get(&item_id),
        )
    {
        for (col, before) in &changed {
            if let Some(c) = board.column(col) {
                ctx.events.push(webhooks::column_change_event(
                    board,
                    item,
                    c,
                    before.as_ref(),
                    item.values.get(col),
                    user_id,
                ));
            }
        }
        if let Some(old) = &old_name {
            ctx.events
                .push(webhooks::name_change_event(board, item, old, user_id));
        }
    }
    if let Some(b) = ctx.store.boards.get_mut(&board_id) {
        b.updated_at = t;
    }
}

fn writes_from_object(v: Option<Value>) -> Result<Vec<(String, Value, bool)>, ApiError> {
    match v {
        None => Ok(vec![]),
        Some(Value::Object(m)) => Ok(m.into_iter().map(|(k, v)| (k, v, false)).collect()),
        Some(_) => Err(ApiError::json_parse(
            "column_values must be a JSON object keyed by column id",
        )),
    }
}

pub fn mutate(ctx: &mut Ctx<'_>, field: &str, args: &Map<String, Value>) -> Resolved {
    match field {
        "create_item" => {
            let board_id = board_arg(ctx, args)?;
            let count = ctx
                .store
                .items
                .board(board_id)
                .map_or(0, |b| b.not_deleted());
            if count >= ctx.max_items_per_board {
                return Err(ApiError::new(
                    "ItemsLimitationException",
                    200,
                    format!(
                        "The board has reached its limit of {} items",
                        ctx.max_items_per_board
                    ),
                    json!({"board_id": board_id, "limit": ctx.max_items_per_board}),
                ));
            }
            let name = str_arg(args, "item_name").unwrap_or_default().to_string();
            if name.chars().count() > 255 {
                return Err(ApiError::new(
                    "ItemNameTooLongException",
                    200,
                    "Item name is too long",
                    json!({"max_length": 255}),
                ));
            }
            let group = str_arg(args, "group_id");
            if let Some(g) = group {
                let exists = ctx
                    .store
                    .boards
                    .get(&board_id)
                    .is_some_and(|b| b.groups.iter().any(|x| x.id == g));
                if !exists {
                    return Err(ApiError::new(
                        "InvalidGroupIdException",
                        200,
                        "Group not found",
                        json!({"group_id": g}),
                    ));
                }
            }
            let writes = writes_from_object(json_arg(args, "column_values")?)?;
            let (values, new_name) = prepare_writes(ctx, board_id, writes, create_labels(args))?;
            let values: BTreeMap<String, Value> = values
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect();
            let name = new_name.unwrap_or(name);
            let id = ctx
                .store
                .insert_item(board_id, group, &name, ctx.owner.user_id, values)
                .ok_or_else(|| ApiError::board_not_found(&board_id.to_string()))?;
            if hooked(ctx, board_id)
                && let (Some(b), Some(i)) =
                    (ctx.store.boards.get(&board_id), ctx.store.items.get(&id))
            {
                ctx.events
                    .push(webhooks::create_item_event(b, i, ctx.owner.user_id));
            }
            Ok(obj(Obj::Item(id)))
        }
        "change_multiple_column_values" | "change_column_value" | "change_simple_column_value" => {
            let board_id = board_arg(ctx, args)?;
            let item_id = item_arg(ctx, args, Some(board_id))?;
            let writes = match field {
                "change_multiple_column_values" => {
                    writes_from_object(json_arg(args, "column_values")?)?
                }
                "change_column_value" => {
                    let v = json_arg(args, "value")?.unwrap_or(Value::Null);
                    vec![(
                        str_arg(args, "column_id").unwrap_or_default().to_string(),
                        v,
                        false,
                    )]
                }
                _ => {
                    let col = str_arg(args, "column_id").unwrap_or_default().to_string();
                    let v = args.get("value").cloned().unwrap_or(Value::Null);
                    let simple = col != "name";
                    vec![(col, v, simple)]
                }
            };
            let (values, name) = prepare_writes(ctx, board_id, writes, create_labels(args))?;
            commit(ctx, item_id, values, name);
            Ok(obj(Obj::Item(item_id)))
        }
        "archive_item" | "delete_item" => {
            let item_id = item_arg(ctx, args, None)?;
            let state = if field == "archive_item" {
                "archived"
            } else {
                "deleted"
            };
            ctx.store.items.update(&item_id, |i| {
                i.state = state.into();
                i.updated_at = now();
            });
            if let Some(i) = ctx.store.items.get(&item_id)
                && let Some(b) = ctx.store.boards.get(&i.board_id)
            {
                ctx.events
                    .push(webhooks::item_state_event(b, i, state, ctx.owner.user_id));
            }
            Ok(obj(Obj::Item(item_id)))
        }
        "move_item_to_group" => {
            let item_id = item_arg(ctx, args, None)?;
            let g = str_arg(args, "group_id").unwrap_or_default().to_string();
            let board_id = ctx
                .store
                .items
                .get(&item_id)
                .map(|i| i.board_id)
                .unwrap_or_default();
            let exists = ctx
                .store
                .boards
                .get(&board_id)
                .is_some_and(|b| b.groups.iter().any(|x| x.id == g));
            if !exists {
                return Err(ApiError::new(
                    "InvalidGroupIdException",
                    200,
                    "Group not found",
                    json!({"group_id": g}),
                ));
            }
            ctx.store.items.update(&item_id, |i| {
                i.group_id = g;
                i.updated_at = now();
            });
            if let Some(i) = ctx.store.items.get(&item_id)
                && let Some(b) = ctx.store.boards.get(&i.board_id)
            {
                ctx.events
                    .push(webhooks::item_state_event(b, i, "moved", ctx.owner.user_id));
            }
            Ok(obj(Obj::Item(item_id)))
        }
        "create_webhook" => {
            let board_id = board_arg(ctx, args)?;
            let url = str_arg(args, "url").unwrap_or_default().to_string();
            if !ctx.challenges.get(&url).copied().unwrap_or(false) {
                return Err(ApiError::new(
                    "InvalidArgumentException",
                    400,
                    "Failed to communicate with URL provided.",
                    json!({"url": url}),
                ));
            }
            let config = json_arg(args, "config")?.map(|c| c.to_string());
            let id = ctx.store.next_id();
            let hook = Webhook {
                id,
                board_id,
                account_id: ctx.owner.account_id,
                url,
                event: str_arg(args, "event").unwrap_or_default().into(),
                config,
            };
            ctx.store.webhooks.insert(id, hook.clone());
            Ok(obj(Obj::Webhook(hook)))
        }
        "delete_webhook" => {
            let id = id_arg(args, "id").unwrap_or_default();
            let account = ctx.owner.account_id;
            match ctx.store.webhooks.get(&id) {
                Some(w) if w.account_id == account => {
                    let w = w.clone();
                    ctx.store.webhooks.remove(&id);
                    Ok(obj(Obj::Webhook(w)))
                }
                _ => Err(ApiError::resource_not_found("Webhook", &id.to_string())),
            }
        }
        "create_board" => {
            let name = str_arg(args, "board_name").unwrap_or_default();
            let id = ctx.store.add_board(ctx.owner.account_id, name);
            if let Some(b) = ctx.store.boards.get_mut(&id) {
                b.kind = str_arg(args, "board_kind").unwrap_or("public").into();
                b.description = str_arg(args, "description").map(str::to_string);
            }
            Ok(obj(Obj::Board(id)))
        }
        "create_column" => {
            let board_id = board_arg(ctx, args)?;
            let kind = str_arg(args, "column_type").unwrap_or("text");
            let settings = json_arg(args, "defaults")?.unwrap_or_else(|| json!({}));
            let title = str_arg(args, "title").unwrap_or_default();
            let id = ctx
                .store
                .add_column(board_id, str_arg(args, "id"), title, kind, settings)
                .ok_or_else(|| {
                    ApiError::new(
                        "ColumnCreationException",
                        200,
                        "Column id already exists",
                        json!({}),
                    )
                })?;
            if let Some(c) = ctx
                .store
                .boards
                .get_mut(&board_id)
                .and_then(|b| b.columns.iter_mut().find(|c| c.spec.id == id))
            {
                c.description = str_arg(args, "description").map(str::to_string);
            }
            Ok(obj(Obj::Column(board_id, id)))
        }
        "create_group" => {
            let board_id = board_arg(ctx, args)?;
            let g = ctx
                .store
                .add_group(
                    board_id,
                    None,
                    str_arg(args, "group_name").unwrap_or_default(),
                    str_arg(args, "group_color").unwrap_or("#579bfc"),
                )
                .ok_or_else(|| ApiError::board_not_found(&board_id.to_string()))?;
            Ok(obj(Obj::Group(board_id, g)))
        }
        "complexity" => Ok(obj(Obj::Complexity)),
        _ => Err(ApiError::invalid_argument(format!(
            "mutation {field} is not supported by the simulator"
        ))),
    }
}

/// Apply `column_values` to an item as `owner` would through the API (validation, labels,
/// `updated_at`, webhook events), outside any request. Returns the events to dispatch.
pub(crate) fn edit_as(
    store: &mut crate::store::Store,
    owner: crate::store::TokenOwner,
    item_id: i64,
    column_values: Value,
    create_labels_if_missing: bool,
) -> Result<Vec<webhooks::Event>, ApiError> {
    let charge = crate::complexity::Charge {
        query: 0,
        before: 0,
        after: 0,
        reset_in_x_seconds: 0,
        limit: 0,
    };
    let mut ctx = Ctx {
        store,
        owner,
        charge,
        cursor_ttl: time::Duration::HOUR,
        max_items_per_board: usize::MAX,
        api_version: String::new(),
        challenges: Default::default(),
        events: vec![],
        errors: vec![],
        actual: 0,
    };
    let board_id = ctx
        .store
        .item_of_account(owner.account_id, item_id)
        .map(|i| i.board_id)
        .ok_or_else(|| ApiError::item_not_found(&item_id.to_string()))?;
    let writes = writes_from_object(Some(column_values))?;
    let (values, name) = prepare_writes(&mut ctx, board_id, writes, create_labels_if_missing)?;
    commit(&mut ctx, item_id, values, name);
    Ok(ctx.events)
}
