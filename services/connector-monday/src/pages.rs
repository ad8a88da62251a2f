//! PollChanges with `pages` set: every item of the board a page at a time, in the board's
//! order, for an import — `items_page` for the first page, `next_items_page` with the cursor
//! (the page token) for the others. A cursor lives 60 minutes: an expired one is refused
//! naming `page_token`, and the import starts again from the first page (the items it linked
//! already are skipped there).

use serde_json::json;
use tandem_proto::v1::{MondayPollRequest, MondayPollResponse};

use crate::api::{Calls, Monday, Retry, Session};
use crate::error::Error;
use crate::poll::{PAGE, page_of};
use crate::queries;
use crate::read::{Spent, page_cost, record};

pub async fn page(
    monday: &Monday,
    session: &Session,
    req: &MondayPollRequest,
    calls: &mut Calls,
) -> Result<MondayPollResponse, Error> {
    // A page larger than monday's 500 items is read in several requests, cursor to cursor.
    let wanted = match req.max_items {
        0 => PAGE as usize,
        n => n as usize,
    };
    let cols = &req.columns;
    let mut items = Vec::new();
    let mut spent = Spent::default();
    let mut total = 0;
    let mut cursor = Some(req.page_token.clone()).filter(|t| !t.is_empty());
    let mut first = cursor.is_none();
    loop {
        let limit = (wanted - items.len()).min(PAGE as usize) as u32;
        let (query, vars) = match &cursor {
            None => (
                queries::page_first(),
                json!({"board": [req.board_id], "limit": limit, "cols": cols}),
            ),
            Some(c) => (
                queries::poll_next(),
                json!({"cursor": c, "limit": limit, "cols": cols}),
            ),
        };
        let reply = monday
            .execute(
                session,
                &query,
                vars,
                page_cost(limit, cols.len()),
                Retry::Safe,
                calls,
            )
            .await?
            .check();
        let reply = match reply {
            Err(Error::Remote { code, .. }) if !first && code == "CursorException" => {
                return Err(Error::Remote {
                    code,
                    message: "page_token: the cursor expired (monday cursors live 60 minutes); start again from the first page".to_owned(),
                });
            }
            other => other?,
        };
        if first && reply.data.pointer("/boards/0").is_none() {
            return Err(Error::NotFound(format!(
                "monday board {} does not exist or the connection cannot see it",
                req.board_id
            )));
        }
        spent.add(reply.complexity);
        if first {
            total = reply
                .data
                .pointer("/boards/0/items_count")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or_default();
        }
        let (read, next) = page_of(&reply, first);
        items.extend(read.iter().map(record));
        cursor = next;
        first = false;
        if cursor.is_none() || items.len() >= wanted {
            break;
        }
    }
    Ok(MondayPollResponse {
        items,
        watermark: None,
        has_more: cursor.is_some(),
        complexity: Some(spent.usage()),
        api_calls: calls.0,
        next_page_token: cursor.unwrap_or_default(),
        total,
    })
}
