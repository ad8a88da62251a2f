//! The in-memory monday account(s): users, boards, columns, groups, items, webhooks, cursors,
//! and the request log. One `Mutex<Store>` guards it; a GraphQL request runs under the lock.
//! Items live in an indexed table (items.rs) and cursors hold positions (cursor.rs), so item
//! reads and writes cost O(log n) of the board, not a scan.

mod cursor;
mod items;
mod webhook_table;

pub use cursor::{Cursor, Remaining};
pub use items::{BoardIndex, ItemTable, text_indexable, time_key};
pub use webhook_table::WebhookTable;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::column_value::ColumnSpec;
use crate::complexity::Budget;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub tier: String,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: String,
    pub enabled: bool,
    pub is_admin: bool,
    pub is_guest: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub title: String,
    pub color: String,
    pub position: String,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub spec: ColumnSpec,
    pub title: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Board {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub state: String,
    pub columns: Vec<Column>,
    pub groups: Vec<Group>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Board {
    pub fn column(&self, id: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.spec.id == id)
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: i64,
    pub board_id: i64,
    pub group_id: String,
    pub name: String,
    /// active | archived | deleted
    pub state: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub creator_id: i64,
    /// Stored values by column id (see column_value.rs for the formats).
    pub values: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: i64,
    pub board_id: i64,
    pub account_id: i64,
    pub url: String,
    pub event: String,
    pub config: Option<String>,
}

/// One served GraphQL request, for tests to count and inspect.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub account_id: Option<i64>,
    pub query: String,
    pub variables: Value,
    pub complexity: u64,
    pub http_status: u16,
    /// `extensions.code` of every error in the response (or the top-level code).
    pub error_codes: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct TokenOwner {
    pub account_id: i64,
    pub user_id: i64,
}

#[derive(Debug, Default)]
pub struct Store {
    next_id: i64,
    pub accounts: BTreeMap<i64, Account>,
    pub tokens: HashMap<String, TokenOwner>,
    pub users: BTreeMap<i64, User>,
    pub boards: BTreeMap<i64, Board>,
    pub items: ItemTable,
    pub webhooks: WebhookTable,
    pub cursors: HashMap<String, Cursor>,
    pub budgets: HashMap<i64, Budget>,
    pub minute_calls: HashMap<i64, (OffsetDateTime, u32)>,
    pub daily_calls: HashMap<i64, crate::daily::DailyCalls>,
    pub log: Vec<RequestRecord>,
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `2026-05-22T05:47:42Z` — item/board timestamps (second precision).
pub fn iso_seconds(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// `2026-05-22T05:47:17.769Z` — `changed_at` inside column values.
pub fn iso_millis(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// Parse an ISO-8601 date-time (`…Z`, with or without fraction) or a bare date.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let f = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &f) {
        return Some(d.midnight().assume_utc());
    }
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(s, &f)
        .ok()
        .map(|p| p.assume_utc())
}

impl Store {
    pub fn new() -> Self {
        Self {
            next_id: 1_000_000,
            ..Self::default()
        }
    }

    /// A fresh numeric id, monday-sized (boards and items share one sequence).
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Ensure future generated ids stay above `id` (for seeding with fixed ids).
    pub fn reserve_id(&mut self, id: i64) {
        self.next_id = self.next_id.max(id);
    }

    pub fn add_account(&mut self, name: &str) -> i64 {
        let id = self.next_id();
        let slug = name.to_lowercase().replace(' ', "-");
        self.accounts.insert(
            id,
            Account {
                id,
                name: name.into(),
                slug,
                tier: "enterprise".into(),
            },
        );
        id
    }

    pub fn add_user(&mut self, account_id: i64, name: &str, email: &str, is_admin: bool) -> i64 {
        let id = self.next_id();
        self.users.insert(
            id,
            User {
                id,
                account_id,
                name: name.into(),
                email: email.into(),
                enabled: true,
                is_admin,
                is_guest: false,
                created_at: now(),
            },
        );
        id
    }

    pub fn add_board(&mut self, account_id: i64, name: &str) -> i64 {
        let id = self.next_id();
        let t = now();
        self.boards.insert(
            id,
            Board {
                id,
                account_id,
                name: name.into(),
                description: None,
                kind: "public".into(),
                state: "active".into(),
                columns: vec![Column {
                    spec: ColumnSpec {
                        id: "name".into(),
                        kind: "name".into(),
                        settings: json!({}),
                    },
                    title: "Name".into(),
                    description: None,
                }],
                groups: vec![Group {
                    id: "topics".into(),
                    title: "Group Title".into(),
                    color: "#579bfc".into(),
                    position: "65536".into(),
                }],
                created_at: t,
                updated_at: t,
            },
        );
        id
    }

    /// Add a column; returns its id (generated as `<type>_<n>` like monday when not given).
    pub fn add_column(
        &mut self,
        board_id: i64,
        id: Option<&str>,
        title: &str,
        kind: &str,
        settings: Value,
    ) -> Option<String> {
        let n = self.next_id();
        let board = self.boards.get_mut(&board_id)?;
        let id = id
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind}_{n:x}"));
        if board.column(&id).is_some() {
            return None;
        }
        board.columns.push(Column {
            spec: ColumnSpec {
                id: id.clone(),
                kind: kind.into(),
                settings,
            },
            title: title.into(),
            description: None,
        });
        Some(id)
    }

    pub fn add_group(
        &mut self,
        board_id: i64,
        id: Option<&str>,
        title: &str,
        color: &str,
    ) -> Option<String> {
        let n = self.next_id();
        let board = self.boards.get_mut(&board_id)?;
        let id = id
            .map(str::to_string)
            .unwrap_or_else(|| format!("group_{n:x}"));
        if board.groups.iter().any(|g| g.id == id) {
            return None;
        }
        let position = format!("{}", 65536 * (board.groups.len() + 1));
        board.groups.push(Group {
            id: id.clone(),
            title: title.into(),
            color: color.into(),
            position,
        });
        Some(id)
    }

    /// Insert an item with already-valid stored values.
    pub fn insert_item(
        &mut self,
        board_id: i64,
        group_id: Option<&str>,
        name: &str,
        creator_id: i64,
        values: BTreeMap<String, Value>,
    ) -> Option<i64> {
        let id = self.next_id();
        let board = self.boards.get_mut(&board_id)?;
        let group_id = match group_id {
            Some(g) => board.groups.iter().find(|x| x.id == g)?.id.clone(),
            None => board.groups.first()?.id.clone(),
        };
        let t = now();
        board.updated_at = t;
        self.items.insert(Item {
            id,
            board_id,
            group_id,
            name: name.into(),
            state: "active".into(),
            created_at: t,
            updated_at: t,
            creator_id,
            values,
        });
        Some(id)
    }

    pub fn user_in_account(&self, account_id: i64, user_id: i64) -> bool {
        self.users
            .get(&user_id)
            .is_some_and(|u| u.account_id == account_id)
    }

    pub fn board_of_account(&self, account_id: i64, board_id: i64) -> Option<&Board> {
        self.boards
            .get(&board_id)
            .filter(|b| b.account_id == account_id && b.state != "deleted")
    }

    pub fn item_of_account(&self, account_id: i64, item_id: i64) -> Option<&Item> {
        let item = self.items.get(&item_id)?;
        self.board_of_account(account_id, item.board_id)?;
        Some(item)
    }

    /// How many active items a board (or one of its groups) holds.
    pub fn active_count(&self, board_id: i64, group: Option<&str>) -> usize {
        self.items
            .board(board_id)
            .and_then(|b| b.active_in(group))
            .map_or(0, |s| s.len())
    }
}
