//! WriteItems: creates (`create_item`) and updates (`change_multiple_column_values`) sent as
//! aliased mutations, as many per request as the complexity budget allows, with one result
//! per write in request order carrying monday's own error code and message.
//!
//! Idempotent creates: when the board has the idempotency column (a text column whose id or
//! title is `Settings::idempotency_column`), each create stores its key there, and before
//! creating the connector looks the keys up (`items_page_by_column_values`); a key found
//! turns the create into an update of that item, so a retried create never makes a second
//! item. A board without the column gets it (`create_column`) before its first keyed create;
//! only where the token may not add columns are creates sent as they are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tandem_proto::v1::{ItemWriteResult, RemoteError, WriteItemsRequest, WriteItemsResponse};

use crate::api::{Calls, Monday, Reply, Retry, Session};
use crate::error::Error;
use crate::grpc::{require, require_id};
use crate::queries::{self, WriteKind};
use crate::read::Spent;
use crate::schema::id_text;

/// How long a board's idempotency column is remembered.
const KEY_COLUMN_TTL: Duration = Duration::from_secs(300);
/// Re-checks of keys after a failed request that may have created items.
const CREATE_RETRIES: u32 = 3;
/// Most writes in one WriteItems call.
pub const MAX_WRITES: usize = 5_000;
/// Keys looked up per `items_page_by_column_values` call.
const KEYS_PER_LOOKUP: usize = 100;

/// A board's idempotency column (None: the board has none) and when it was looked up.
type KeyColumn = (Option<String>, Instant);

#[derive(Clone)]
pub struct Settings {
    pub idempotency_column: String,
    pub max_mutations_per_request: usize,
    key_columns: Arc<Mutex<HashMap<String, KeyColumn>>>,
}

impl Settings {
    pub fn new(idempotency_column: String, max_mutations_per_request: usize) -> Self {
        Self {
            idempotency_column,
            max_mutations_per_request: max_mutations_per_request.max(1),
            key_columns: Arc::default(),
        }
    }

    fn cached_key_column(&self, board: &str) -> Option<Option<String>> {
        let cache = self.key_columns.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(board)
            .filter(|(_, at)| at.elapsed() < KEY_COLUMN_TTL)
            .map(|(c, _)| c.clone())
    }

    fn remember_key_column(&self, board: &str, column: Option<String>) {
        self.key_columns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(board.to_owned(), (column, Instant::now()));
    }
}

pub fn validate(req: &WriteItemsRequest) -> Result<(), Error> {
    require(&req.connection_id, "connection_id")?;
    require_id(&req.board_id, "board_id")?;
    if req.writes.len() > MAX_WRITES {
        return Err(Error::InvalidArgument(format!(
            "writes holds {} writes; at most {MAX_WRITES} per call",
            req.writes.len()
        )));
    }
    let mut keys: HashMap<&str, usize> = HashMap::new();
    for (n, w) in req.writes.iter().enumerate() {
        if w.id.is_empty()
            && !w.idempotency_key.is_empty()
            && let Some(first) = keys.insert(&w.idempotency_key, n)
        {
            return Err(Error::InvalidArgument(format!(
                "writes[{n}].idempotency_key repeats writes[{first}].idempotency_key"
            )));
        }
        if !w.id.is_empty() {
            require_id(&w.id, &format!("writes[{n}].id"))?;
        }
        for (col, text) in &w.columns {
            if serde_json::from_str::<Value>(text).is_err() {
                return Err(Error::InvalidArgument(format!(
                    "writes[{n}].columns[{col}] is not JSON text"
                )));
            }
        }
        if w.id.is_empty() {
            let name = w
                .columns
                .get("name")
                .map(|t| serde_json::from_str::<Value>(t));
            if !matches!(name, Some(Ok(Value::String(_)))) {
                return Err(Error::InvalidArgument(format!(
                    "writes[{n}].columns[name] must be a JSON string to create an item"
                )));
            }
        }
    }
    Ok(())
}

/// One pending mutation.
#[derive(Debug, Clone)]
struct Op {
    index: usize,
    /// Set for updates (and creates found by their key).
    item_id: Option<String>,
    name: String,
    values: Map<String, Value>,
    key: String,
}

fn op_of(index: usize, w: &tandem_proto::v1::ItemWrite) -> Op {
    let mut values = Map::new();
    let mut name = String::new();
    for (col, text) in &w.columns {
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if col == "name" && w.id.is_empty() {
            name = v.as_str().unwrap_or_default().to_owned();
        } else {
            values.insert(col.clone(), v);
        }
    }
    Op {
        index,
        item_id: (!w.id.is_empty()).then(|| w.id.clone()),
        name,
        values,
        key: w.idempotency_key.clone(),
    }
}

pub async fn write(
    monday: &Monday,
    settings: &Settings,
    session: &Session,
    req: &WriteItemsRequest,
    calls: &mut Calls,
) -> Result<WriteItemsResponse, Error> {
    let mut results: Vec<Option<ItemWriteResult>> = vec![None; req.writes.len()];
    let mut pending: Vec<Op> = req
        .writes
        .iter()
        .enumerate()
        .map(|(n, w)| op_of(n, w))
        .collect();
    let mut spent = Spent::default();
    let keyed = pending
        .iter()
        .any(|o| o.item_id.is_none() && !o.key.is_empty());
    let key_column = if keyed {
        key_column(monday, settings, session, &req.board_id, calls).await?
    } else {
        None
    };
    if let Some(col) = &key_column {
        for op in pending
            .iter_mut()
            .filter(|o| o.item_id.is_none() && !o.key.is_empty())
        {
            op.values.insert(col.clone(), Value::String(op.key.clone()));
        }
        adopt_existing(
            monday,
            session,
            &req.board_id,
            col,
            &mut pending,
            &mut spent,
            calls,
        )
        .await?;
    }
    let mut failures = 0u32;
    let mut waits = 0u32;
    while !pending.is_empty() {
        let window = monday.window(session).await;
        if let Some(w) = window
            && w.remaining < queries::WRITE_COST + 10
        {
            // Not even one write fits: wait for the reset, then size the batch afresh.
            monday
                .wait_out("COMPLEXITY_BUDGET_EXHAUSTED", w.reset_in(), &mut waits)
                .await?;
            continue;
        }
        let remaining = window.map(|w| w.remaining);
        let per = queries::writes_per_request(remaining, settings.max_mutations_per_request);
        let take = per.min(pending.len());
        let chunk: Vec<Op> = pending[..take].to_vec();
        let has_creates = chunk.iter().any(|o| o.item_id.is_none());
        let (query, vars) = batch(req, &chunk);
        let retry = if has_creates {
            Retry::NoServerRetry
        } else {
            Retry::Safe
        };
        let estimate = queries::WRITE_COST * chunk.len() as u64 + 10;
        match monday
            .execute(session, &query, vars, estimate, retry, calls)
            .await
        {
            Ok(reply) => {
                spent.add(reply.complexity);
                apply(&reply, &chunk, &mut results);
                pending.drain(..take);
            }
            Err(Error::Unavailable(why)) if has_creates && failures < CREATE_RETRIES => {
                failures += 1;
                tracing::warn!(
                    attempt = failures,
                    "monday write batch failed, re-checking keys"
                );
                tokio::time::sleep(Duration::from_millis(300 * u64::from(failures))).await;
                match &key_column {
                    Some(col) => {
                        adopt_existing(
                            monday,
                            session,
                            &req.board_id,
                            col,
                            &mut pending,
                            &mut spent,
                            calls,
                        )
                        .await?
                    }
                    // Without keys a resend could duplicate what the failed request created.
                    None => return Err(Error::Unavailable(why)),
                }
            }
            Err(e) => return Err(e),
        }
    }
    let results = results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| ItemWriteResult {
                success: false,
                errors: vec![remote_error("Unknown", "monday returned no result", vec![])],
                ..Default::default()
            })
        })
        .collect();
    Ok(WriteItemsResponse {
        results,
        complexity: Some(spent.usage()),
        api_calls: calls.0,
    })
}

fn remote_error(code: &str, message: &str, fields: Vec<String>) -> RemoteError {
    RemoteError {
        code: code.to_owned(),
        message: message.to_owned(),
        fields,
        ..Default::default()
    }
}

/// The request text and variables of one batch.
fn batch(req: &WriteItemsRequest, chunk: &[Op]) -> (String, Value) {
    let kinds: Vec<WriteKind> = chunk
        .iter()
        .map(|o| match o.item_id {
            None => WriteKind::Create,
            Some(_) => WriteKind::Update,
        })
        .collect();
    let mut vars = Map::new();
    vars.insert("board".into(), json!(req.board_id));
    vars.insert(
        "group".into(),
        if req.group_id.is_empty() {
            Value::Null
        } else {
            json!(req.group_id)
        },
    );
    vars.insert("labels".into(), json!(req.create_labels_if_missing));
    for (n, op) in chunk.iter().enumerate() {
        // The JSON scalar is a JSON-encoded string.
        vars.insert(
            format!("v{n}"),
            json!(Value::Object(op.values.clone()).to_string()),
        );
        match &op.item_id {
            None => {
                vars.insert(format!("n{n}"), json!(op.name));
            }
            Some(id) => {
                vars.insert(format!("i{n}"), json!(id));
            }
        }
    }
    (queries::write_batch(&kinds), Value::Object(vars))
}

fn apply(reply: &Reply, chunk: &[Op], results: &mut [Option<ItemWriteResult>]) {
    for (n, op) in chunk.iter().enumerate() {
        let alias = format!("w{n}");
        let errors: Vec<RemoteError> = reply
            .errors
            .iter()
            .filter(|e| e.path_head.as_deref() == Some(alias.as_str()) || e.path_head.is_none())
            .map(|e| {
                let code = if e.code.is_empty() {
                    "GraphQLError"
                } else {
                    &e.code
                };
                remote_error(code, &e.message, e.columns.clone())
            })
            .collect();
        let item = reply.data.get(&alias).filter(|v| !v.is_null());
        results[op.index] = Some(match item {
            Some(item) => ItemWriteResult {
                id: id_text(item.get("id")),
                success: true,
                created: op.item_id.is_none(),
                errors: vec![],
                gone: matches!(
                    item.get("state").and_then(Value::as_str),
                    Some("archived" | "deleted")
                ),
            },
            None => ItemWriteResult {
                id: op.item_id.clone().unwrap_or_default(),
                success: false,
                created: false,
                gone: op.item_id.is_some()
                    && errors.iter().any(|e| e.code == "ResourceNotFoundException"),
                errors: if errors.is_empty() {
                    vec![remote_error("Unknown", "monday returned no item", vec![])]
                } else {
                    errors
                },
            },
        });
    }
}

/// The board's idempotency column id, if it has one (cached per board).
async fn key_column(
    monday: &Monday,
    settings: &Settings,
    session: &Session,
    board_id: &str,
    calls: &mut Calls,
) -> Result<Option<String>, Error> {
    if let Some(c) = settings.cached_key_column(board_id) {
        return Ok(c);
    }
    let board = crate::schema::get_board(monday, session, board_id, calls).await?;
    let wanted = &settings.idempotency_column;
    let column = board
        .columns
        .iter()
        .find(|c| c.monday_type == "text" && &c.id == wanted)
        .or_else(|| {
            board
                .columns
                .iter()
                .find(|c| c.monday_type == "text" && c.title.eq_ignore_ascii_case(wanted))
        })
        .map(|c| c.id.clone());
    let column = match column {
        Some(c) => Some(c),
        None => create_key_column(monday, session, board_id, wanted, calls).await,
    };
    settings.remember_key_column(board_id, column.clone());
    Ok(column)
}

/// A column id monday accepts for `title`: lower-case letters, digits and `_`, at most 20.
fn column_id_for(title: &str) -> String {
    let id: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(20)
        .collect();
    if id.is_empty() {
        "tandem_key".to_owned()
    } else {
        id
    }
}

/// Adds the idempotency column to a board that lacks it, so creates there are idempotent
/// too. A board whose user may not add columns keeps working without it (with a warning):
/// a retried create may then duplicate an item.
async fn create_key_column(
    monday: &Monday,
    session: &Session,
    board_id: &str,
    title: &str,
    calls: &mut Calls,
) -> Option<String> {
    let id = column_id_for(title);
    let vars = json!({
        "board": board_id,
        "title": title,
        "id": id,
        "description": "Tandem's sync key: lets a retried create find the item it made. Leave it as it is.",
    });
    let answer = monday
        .execute(
            session,
            queries::CREATE_KEY_COLUMN,
            vars,
            queries::MUTATION_COST,
            Retry::Safe,
            calls,
        )
        .await
        .and_then(Reply::check);
    match answer {
        Ok(reply) => {
            let created = reply
                .data
                .pointer("/create_column/id")
                .and_then(Value::as_str)
                .unwrap_or(&id)
                .to_owned();
            tracing::info!(board_id, column = %created, "added the idempotency column to the monday board");
            Some(created)
        }
        // Another writer added it between our read and our create.
        Err(Error::Remote { message, .. }) if message.contains("already exists") => Some(id),
        Err(e) => {
            tracing::warn!(
                board_id,
                column = %title,
                error = %e,
                "monday board has no idempotency column and it could not be added; a retried create may duplicate an item"
            );
            None
        }
    }
}

/// Turn pending creates whose key already exists on the board into updates of that item.
async fn adopt_existing(
    monday: &Monday,
    session: &Session,
    board_id: &str,
    column: &str,
    pending: &mut [Op],
    spent: &mut Spent,
    calls: &mut Calls,
) -> Result<(), Error> {
    let keys: Vec<String> = pending
        .iter()
        .filter(|o| o.item_id.is_none() && !o.key.is_empty())
        .map(|o| o.key.clone())
        .collect();
    let mut found: HashMap<String, String> = HashMap::new();
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let vars = json!({
            "board": board_id,
            "columns": [{"column_id": column, "column_values": chunk}],
            "cols": [column],
            "limit": 500,
        });
        let reply = monday
            .execute(
                session,
                queries::FIND_BY_KEY,
                vars,
                500 * 25,
                Retry::Safe,
                calls,
            )
            .await?
            .check()?;
        spent.add(reply.complexity);
        for item in reply
            .data
            .pointer("/items_page_by_column_values/items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = item
                .get("column_values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|cv| id_text(cv.get("id")) == column)
                .and_then(|cv| cv.get("text").and_then(Value::as_str))
                .unwrap_or_default();
            found
                .entry(key.to_owned())
                .or_insert_with(|| id_text(item.get("id")));
        }
    }
    for op in pending.iter_mut().filter(|o| o.item_id.is_none()) {
        if let Some(id) = found.get(&op.key) {
            tracing::info!(item_id = %id, "create already applied, updating the item instead");
            op.item_id = Some(id.clone());
            if !op.name.is_empty() {
                op.values
                    .insert("name".into(), Value::String(std::mem::take(&mut op.name)));
            }
        }
    }
    Ok(())
}
