//! GetBoard and ListUsers: a board's columns with their Tandem kinds, and the account's users.

use serde_json::{Value, json};
use tandem_core::MondayColumn as CoreColumn;
use tandem_proto::v1::{BoardSummary, GetBoardResponse, MondayColumn, MondayGroup, MondayUser};

use crate::api::{Calls, Monday, Retry, Session};
use crate::error::Error;
use crate::queries;

/// Users read per page.
const USERS_PAGE: u64 = 200;
/// Boards read per page, and the most listed (a person picks from the list).
const BOARDS_PAGE: u64 = 100;
const MAX_BOARDS: usize = 1_000;

/// Text of a GraphQL `ID` (a string on output; tolerate numbers).
pub fn id_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub async fn get_board(
    monday: &Monday,
    session: &Session,
    board_id: &str,
    calls: &mut Calls,
) -> Result<GetBoardResponse, Error> {
    let reply = monday
        .execute(
            session,
            queries::BOARD,
            json!({"ids": [board_id]}),
            1_000,
            Retry::Safe,
            calls,
        )
        .await?
        .check()?;
    let Some(board) = reply
        .data
        .get("boards")
        .and_then(Value::as_array)
        .and_then(|b| b.first())
        .filter(|b| !b.is_null())
    else {
        return Err(Error::NotFound(format!(
            "monday board {board_id} does not exist or the connection cannot see it"
        )));
    };
    let columns = board
        .get("columns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let id = str_of(c, "id");
            let title = str_of(c, "title");
            let ty = str_of(c, "type");
            let core = CoreColumn::from_api(&id, &title, &ty, c.get("settings_str"));
            MondayColumn {
                read_only: core.kind.is_read_only(),
                kind: core.kind.name().to_owned(),
                label_ids: core.labels.iter().map(|l| l.id).collect(),
                labels: core.labels.into_iter().map(|l| l.name).collect(),
                id,
                title,
                monday_type: ty,
            }
        })
        .collect();
    let groups = board
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|g| MondayGroup {
            id: str_of(g, "id"),
            title: str_of(g, "title"),
        })
        .collect();
    let account_tier = reply
        .data
        .pointer("/account/tier")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(GetBoardResponse {
        board_id: id_text(board.get("id")),
        name: str_of(board, "name"),
        columns,
        groups,
        account_tier,
    })
}

/// The active boards the token can read, in monday's order (at most `MAX_BOARDS`).
pub async fn list_boards(
    monday: &Monday,
    session: &Session,
    calls: &mut Calls,
) -> Result<Vec<BoardSummary>, Error> {
    let paged = Paged {
        query: queries::BOARDS,
        root: "boards",
        page_size: BOARDS_PAGE,
        cost_per_row: 2,
        most: MAX_BOARDS,
    };
    let boards = paged.read(monday, session, calls).await?;
    Ok(boards
        .iter()
        .map(|b| BoardSummary {
            id: id_text(b.get("id")),
            name: str_of(b, "name"),
        })
        .collect())
}

pub async fn list_users(
    monday: &Monday,
    session: &Session,
    calls: &mut Calls,
) -> Result<Vec<MondayUser>, Error> {
    let paged = Paged {
        query: queries::USERS,
        root: "users",
        page_size: USERS_PAGE,
        cost_per_row: 6,
        most: usize::MAX,
    };
    let users = paged.read(monday, session, calls).await?;
    Ok(users
        .iter()
        .map(|u| MondayUser {
            id: id_text(u.get("id")),
            name: str_of(u, "name"),
            email: str_of(u, "email"),
            enabled: u.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        })
        .collect())
}

/// A root list monday pages by number (`limit`, `page`), read until a short page or `most`
/// rows.
struct Paged {
    query: &'static str,
    root: &'static str,
    page_size: u64,
    /// Our complexity estimate per row of the selection.
    cost_per_row: u64,
    most: usize,
}

impl Paged {
    async fn read(
        &self,
        monday: &Monday,
        session: &Session,
        calls: &mut Calls,
    ) -> Result<Vec<Value>, Error> {
        let mut rows = Vec::new();
        for page in 1.. {
            let reply = monday
                .execute(
                    session,
                    self.query,
                    json!({"limit": self.page_size, "page": page}),
                    self.page_size * self.cost_per_row,
                    Retry::Safe,
                    calls,
                )
                .await?
                .check()?;
            let batch = reply
                .data
                .get(self.root)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = batch.len() as u64;
            rows.extend(batch.into_iter().filter(|r| !r.is_null()));
            if n < self.page_size || rows.len() >= self.most {
                break;
            }
        }
        rows.truncate(self.most);
        Ok(rows)
    }
}
