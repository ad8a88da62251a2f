//! `SimHandle`: direct access for tests and tools — create accounts, tokens, boards, columns
//! and items; read the request log; set or exhaust complexity budgets; inspect webhooks.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, MutexGuard};

use serde_json::Value;

use crate::Shared;
use crate::column_value::{self, Input, WriteCtx};
use crate::errors::Error;
use crate::store::{RequestRecord, Store, TokenOwner, Webhook, iso_millis, now};

/// A new account with its first (admin) user and that user's API token.
#[derive(Debug, Clone)]
pub struct AccountInfo {
    pub account_id: i64,
    pub user_id: i64,
    pub token: String,
}

/// An item as stored: name, state, timestamps and raw stored values by column id.
#[derive(Debug, Clone)]
pub struct ItemSnapshot {
    pub id: i64,
    pub board_id: i64,
    pub group_id: String,
    pub name: String,
    pub state: String,
    pub updated_at: time::OffsetDateTime,
    pub values: BTreeMap<String, Value>,
}

#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl SimHandle {
    pub(crate) fn new(shared: Arc<Shared>, addr: SocketAddr) -> Self {
        Self { shared, addr }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        match self.shared.store.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    pub fn create_account(&self, name: &str, admin_name: &str, admin_email: &str) -> AccountInfo {
        let mut s = self.store();
        let account_id = s.add_account(name);
        let user_id = s.add_user(account_id, admin_name, admin_email, true);
        let token = new_token();
        s.tokens.insert(
            token.clone(),
            TokenOwner {
                account_id,
                user_id,
            },
        );
        AccountInfo {
            account_id,
            user_id,
            token,
        }
    }

    pub fn add_user(&self, account_id: i64, name: &str, email: &str) -> i64 {
        self.store().add_user(account_id, name, email, false)
    }

    /// A further API token acting as `user_id`.
    pub fn create_token(&self, account_id: i64, user_id: i64) -> String {
        let token = new_token();
        self.store().tokens.insert(
            token.clone(),
            TokenOwner {
                account_id,
                user_id,
            },
        );
        token
    }

    pub fn revoke_token(&self, token: &str) {
        self.store().tokens.remove(token);
    }

    /// Sets an account's plan tier (`free`, `basic`, `standard`, `pro`, `enterprise`), which
    /// `account { tier }` answers (new accounts are `enterprise`).
    pub fn set_account_tier(&self, account_id: i64, tier: &str) {
        if let Some(a) = self.store().accounts.get_mut(&account_id) {
            a.tier = tier.to_owned();
        }
    }

    pub fn set_user_enabled(&self, user_id: i64, enabled: bool) {
        if let Some(u) = self.store().users.get_mut(&user_id) {
            u.enabled = enabled;
        }
    }

    pub fn create_board(&self, account_id: i64, name: &str) -> i64 {
        self.store().add_board(account_id, name)
    }

    /// Add a column with monday settings (e.g. status `{"labels": {"1": "Done"}}`).
    pub fn add_column(
        &self,
        board_id: i64,
        id: &str,
        title: &str,
        kind: &str,
        settings: Value,
    ) -> Result<String, Error> {
        self.store()
            .add_column(board_id, Some(id), title, kind, settings)
            .ok_or_else(|| Error::NotFound(format!("board {board_id} (or column {id} exists)")))
    }

    /// Add a group (`id` None = generated like monday's `group_…`).
    pub fn add_group(
        &self,
        board_id: i64,
        id: Option<&str>,
        title: &str,
        color: &str,
    ) -> Result<String, Error> {
        self.store()
            .add_group(board_id, id, title, color)
            .ok_or_else(|| Error::NotFound(format!("board {board_id} (or group exists)")))
    }

    /// Edit board details the GraphQL API reads back.
    pub fn set_board_details(&self, board_id: i64, name: &str, description: Option<&str>) {
        if let Some(b) = self.store().boards.get_mut(&board_id) {
            b.name = name.into();
            b.description = description.map(str::to_string);
        }
    }

    /// Set a column's description.
    pub fn set_column_description(
        &self,
        board_id: i64,
        column_id: &str,
        description: Option<&str>,
    ) {
        if let Some(c) = self
            .store()
            .boards
            .get_mut(&board_id)
            .and_then(|b| b.columns.iter_mut().find(|c| c.spec.id == column_id))
        {
            c.description = description.map(str::to_string);
        }
    }

    /// Set an item's state (active | archived | deleted) directly.
    pub fn set_item_state(&self, item_id: i64, state: &str) {
        self.store()
            .items
            .update(&item_id, |i| i.state = state.into());
    }

    /// Remove a group (e.g. the default `topics` group of a fresh board).
    pub fn remove_group(&self, board_id: i64, group_id: &str) {
        if let Some(b) = self.store().boards.get_mut(&board_id) {
            b.groups.retain(|g| g.id != group_id);
        }
    }

    /// Create an item; `values` is a `column_values` object in monday's write formats
    /// (labels are created when missing). Mirror/formula cells take `{"display_value": …}`.
    pub fn create_item(
        &self,
        board_id: i64,
        group_id: Option<&str>,
        name: &str,
        values: Value,
    ) -> Result<i64, Error> {
        let mut s = self.store();
        let stored = convert_values(&mut s, board_id, &values)?;
        let creator = s
            .boards
            .get(&board_id)
            .and_then(|b| s.users.values().find(|u| u.account_id == b.account_id))
            .map(|u| u.id)
            .unwrap_or_default();
        s.insert_item(board_id, group_id, name, creator, stored)
            .ok_or_else(|| Error::NotFound(format!("board {board_id} or its group")))
    }

    /// Overwrite cells directly (no webhook events), bumping `updated_at`.
    pub fn set_values(&self, item_id: i64, values: Value) -> Result<(), Error> {
        let mut s = self.store();
        let board_id = s
            .items
            .get(&item_id)
            .map(|i| i.board_id)
            .ok_or_else(|| Error::NotFound(format!("item {item_id}")))?;
        let stored = convert_values(&mut s, board_id, &values)?;
        s.items.update(&item_id, |i| {
            i.values.extend(stored);
            i.updated_at = now();
        });
        Ok(())
    }

    /// Store a raw `value` object for a cell as-is (for replaying recorded data).
    pub fn set_raw_value(
        &self,
        item_id: i64,
        column_id: &str,
        value: Option<Value>,
    ) -> Result<(), Error> {
        self.store()
            .items
            .update(&item_id, |item| {
                match value {
                    Some(v) => item.values.insert(column_id.to_string(), v),
                    None => item.values.remove(column_id),
                };
            })
            .ok_or_else(|| Error::NotFound(format!("item {item_id}")))
    }

    /// Set an item's `updated_at` (e.g. to test "changed since" polling).
    pub fn set_updated_at(&self, item_id: i64, at: time::OffsetDateTime) {
        self.store().items.update(&item_id, |i| i.updated_at = at);
    }

    /// Rename (move) an entity id: boards and items get fixed ids for replaying recordings.
    pub fn renumber_item(&self, item_id: i64, new_id: i64) -> Result<(), Error> {
        let mut s = self.store();
        let mut item = s
            .items
            .remove(&item_id)
            .ok_or_else(|| Error::NotFound(format!("item {item_id}")))?;
        item.id = new_id;
        s.items.insert(item);
        s.reserve_id(new_id);
        Ok(())
    }

    pub fn renumber_board(&self, board_id: i64, new_id: i64) -> Result<(), Error> {
        let mut s = self.store();
        let mut board = s
            .boards
            .remove(&board_id)
            .ok_or_else(|| Error::NotFound(format!("board {board_id}")))?;
        board.id = new_id;
        s.boards.insert(new_id, board);
        let items: Vec<i64> = s.items.of_board(board_id).map(|i| i.id).collect();
        for id in items {
            s.items.update(&id, |i| i.board_id = new_id);
        }
        s.reserve_id(new_id);
        Ok(())
    }

    pub fn renumber_user(&self, user_id: i64, new_id: i64) -> Result<(), Error> {
        let mut s = self.store();
        let mut user = s
            .users
            .remove(&user_id)
            .ok_or_else(|| Error::NotFound(format!("user {user_id}")))?;
        user.id = new_id;
        s.users.insert(new_id, user);
        for t in s.tokens.values_mut().filter(|t| t.user_id == user_id) {
            t.user_id = new_id;
        }
        s.reserve_id(new_id);
        Ok(())
    }

    pub fn item(&self, item_id: i64) -> Option<ItemSnapshot> {
        self.store().items.get(&item_id).map(snapshot)
    }

    /// Every item of a board (any state), by id.
    pub fn items(&self, board_id: i64) -> Vec<ItemSnapshot> {
        let store = self.store();
        store.items.of_board(board_id).map(snapshot).collect()
    }

    /// Every GraphQL request served so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.store().log.clone()
    }

    pub fn clear_requests(&self) {
        self.store().log.clear();
    }

    /// Override an account's per-minute complexity budget (None = the configured default).
    pub fn set_complexity_budget(&self, account_id: i64, per_minute: Option<u64>) {
        let mut s = self.store();
        let b = s
            .budgets
            .entry(account_id)
            .or_insert_with(|| crate::complexity::Budget::new(now()));
        b.limit = per_minute;
    }

    /// Spend the rest of an account's current minute window.
    pub fn exhaust_complexity_budget(&self, account_id: i64) {
        let mut s = self.store();
        let b = s
            .budgets
            .entry(account_id)
            .or_insert_with(|| crate::complexity::Budget::new(now()));
        b.window_start = now();
        b.used = u64::MAX / 2;
    }

    /// Start a fresh budget window for an account.
    pub fn reset_complexity_budget(&self, account_id: i64) {
        let mut s = self.store();
        let b = s
            .budgets
            .entry(account_id)
            .or_insert_with(|| crate::complexity::Budget::new(now()));
        b.window_start = now();
        b.used = 0;
    }

    /// Settle an account's requests against their actual complexity (API 2025-10 on), or
    /// charge the estimate only; None = `Config::complexity_actual_cost`.
    pub fn set_complexity_actual_cost(&self, account_id: i64, on: Option<bool>) {
        let mut s = self.store();
        s.budgets
            .entry(account_id)
            .or_insert_with(|| crate::complexity::Budget::new(now()))
            .actual_cost = on;
    }

    /// An account's own daily call limit (None = the configured one: its plan's with
    /// `Config::daily_calls_by_tier`, else none).
    pub fn set_daily_call_limit(&self, account_id: i64, limit: Option<u32>) {
        let mut s = self.store();
        s.daily_calls
            .entry(account_id)
            .or_insert_with(|| crate::daily::DailyCalls::new(now()))
            .limit = limit;
    }

    /// Count `calls` more calls made today by an account (to test close to its limit).
    pub fn spend_daily_calls(&self, account_id: i64, calls: u32) {
        let mut s = self.store();
        let t = now();
        s.daily_calls
            .entry(account_id)
            .or_insert_with(|| crate::daily::DailyCalls::new(t))
            .spend(calls, t);
    }

    /// Make every outstanding cursor older by `by` (to test expiry).
    pub fn age_cursors(&self, by: std::time::Duration) {
        let by = time::Duration::try_from(by).unwrap_or(time::Duration::ZERO);
        for c in self.store().cursors.values_mut() {
            c.issued_at -= by;
        }
    }

    pub fn webhooks(&self) -> Vec<Webhook> {
        self.store().webhooks.values().cloned().collect()
    }

    /// Delete a webhook as a user would in monday's UI (its owner is not told); false when
    /// there was none with this id.
    pub fn remove_webhook(&self, id: i64) -> bool {
        self.store().webhooks.remove(&id).is_some()
    }

    /// Register a webhook without the challenge handshake.
    pub fn register_webhook(
        &self,
        account_id: i64,
        board_id: i64,
        url: &str,
        event: &str,
        config: Option<Value>,
    ) -> i64 {
        let mut s = self.store();
        let id = s.next_id();
        s.webhooks.insert(
            id,
            Webhook {
                id,
                board_id,
                account_id,
                url: url.into(),
                event: event.into(),
                config: config.map(|c| c.to_string()),
            },
        );
        id
    }

    /// Edit an item as `user_id` would in monday's UI: values in the API's write formats,
    /// validated, `updated_at` bumped, and webhook events sent to matching subscriptions.
    pub fn edit_item_as(
        &self,
        user_id: i64,
        item_id: i64,
        column_values: Value,
    ) -> Result<(), crate::ApiError> {
        let mut s = self.store();
        let account_id = s
            .users
            .get(&user_id)
            .map(|u| u.account_id)
            .unwrap_or_default();
        let owner = TokenOwner {
            account_id,
            user_id,
        };
        let events = crate::schema::mutate::edit_as(&mut s, owner, item_id, column_values, false)?;
        crate::dispatch(&self.shared, &s, events);
        Ok(())
    }

    /// Inject latency and/or failures into the next GraphQL requests.
    pub fn set_faults(&self, faults: crate::Faults) {
        match self.shared.faults.lock() {
            Ok(mut f) => *f = faults,
            Err(p) => *p.into_inner() = faults,
        }
    }

    /// The secret webhook JWTs are signed with.
    pub fn webhook_signing_secret(&self) -> String {
        self.shared.config.webhook_signing_secret.clone()
    }
}

fn snapshot(i: &crate::store::Item) -> ItemSnapshot {
    ItemSnapshot {
        id: i.id,
        board_id: i.board_id,
        group_id: i.group_id.clone(),
        name: i.name.clone(),
        state: i.state.clone(),
        updated_at: i.updated_at,
        values: i.values.clone(),
    }
}

fn new_token() -> String {
    format!("sim_{}", uuid::Uuid::new_v4().simple())
}

fn convert_values(
    s: &mut Store,
    board_id: i64,
    values: &Value,
) -> Result<BTreeMap<String, Value>, Error> {
    let account = s
        .boards
        .get(&board_id)
        .map(|b| b.account_id)
        .ok_or_else(|| Error::NotFound(format!("board {board_id}")))?;
    let mut board = s
        .boards
        .get(&board_id)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("board {board_id}")))?;
    let mut out = BTreeMap::new();
    for (col_id, v) in values.as_object().into_iter().flatten() {
        let col = board
            .columns
            .iter_mut()
            .find(|c| c.spec.id == *col_id)
            .ok_or_else(|| Error::NotFound(format!("column {col_id}")))?;
        if matches!(col.spec.kind.as_str(), "mirror" | "formula") {
            out.insert(col_id.clone(), v.clone());
            continue;
        }
        let users = &s.users;
        let exists = |uid: i64| users.get(&uid).is_some_and(|u| u.account_id == account);
        let ctx = WriteCtx {
            create_labels_if_missing: true,
            user_exists: &exists,
            changed_at: iso_millis(now()),
        };
        let stored = column_value::write(&mut col.spec, Input::Json(v), &ctx)
            .map_err(|e| Error::NotFound(format!("column {col_id}: {}", e.message)))?;
        if let Some(v) = stored {
            out.insert(col_id.clone(), v);
        }
    }
    s.boards.insert(board_id, board);
    Ok(out)
}
