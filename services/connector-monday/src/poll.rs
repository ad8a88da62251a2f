//! PollChanges: the board's items changed since the watermark, a page at a time (`items_page`
//! then `next_items_page` with its cursor).

use serde_json::{Value, json};
use tandem_proto::v1::{MondayPollRequest, MondayPollResponse};

use crate::api::{Calls, Monday, Reply, Retry, Session};
use crate::error::Error;
use crate::queries;
use crate::read::{Spent, from_timestamp, page_cost, record, to_timestamp, updated_at};
use crate::schema::id_text;
use time::OffsetDateTime;

/// monday's largest page.
pub const PAGE: u32 = 500;
/// The first page of a poll: most polls find few or no changes, and monday charges a page's
/// complexity by the items it may return, so a quiet poll asks for a small page (about a
/// twentieth of a full one's cost) and only a poll that fills it goes on in full pages.
pub const FIRST_PAGE: u32 = 25;

pub fn page_of(reply: &Reply, first: bool) -> (Vec<Value>, Option<String>) {
    let page = if first {
        reply
            .data
            .pointer("/boards/0/items_page")
            .cloned()
            .unwrap_or(Value::Null)
    } else {
        reply
            .data
            .get("next_items_page")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let items = page
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let cursor = page
        .get("cursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    (items, cursor)
}

pub async fn poll(
    monday: &Monday,
    session: &Session,
    req: &MondayPollRequest,
    calls: &mut Calls,
) -> Result<MondayPollResponse, Error> {
    if req.pages {
        return crate::pages::page(monday, session, req, calls).await;
    }
    let since = req.watermark.as_ref().map(from_timestamp).transpose()?;
    let max = req.max_items as usize;
    let mut out = Vec::new();
    let mut counted = 0usize;
    let mut newest = since;
    let mut spent = Spent::default();
    let mut cursor: Option<String> = None;
    let mut has_more = false;
    let mut restart_from: Option<OffsetDateTime> = None;
    let mut seen = std::collections::HashSet::new();
    'pages: loop {
        let size = if cursor.is_none() && restart_from.is_none() {
            FIRST_PAGE
        } else {
            PAGE
        };
        let limit = if max == 0 {
            size
        } else {
            ((max - counted) as u32 + 1).clamp(1, size)
        };
        let cols = &req.columns;
        let (query, vars, first) = match &cursor {
            None => (
                queries::poll_first(),
                json!({"board": [req.board_id], "limit": limit, "qp": queries::poll_query(restart_from.or(since)), "cols": cols}),
                true,
            ),
            Some(c) => (
                queries::poll_next(),
                json!({"cursor": c, "limit": limit, "cols": cols}),
                false,
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
            // A cursor lives 60 minutes: start again from the newest change read so far
            // (items seen already are skipped).
            Err(Error::Remote { code, .. }) if !first && code == "CursorException" => {
                tracing::info!(board_id = %req.board_id, "monday cursor expired, restarting the poll from the newest change read");
                cursor = None;
                restart_from = newest;
                continue;
            }
            other => other?,
        };
        spent.add(reply.complexity);
        if first && reply.data.pointer("/boards/0").is_none() {
            return Err(Error::NotFound(format!(
                "monday board {} does not exist or the connection cannot see it",
                req.board_id
            )));
        }
        let (items, next) = page_of(&reply, first);
        for item in &items {
            if !seen.insert(id_text(item.get("id"))) {
                continue;
            }
            let at = updated_at(item);
            // Items of the watermark's own second were seen before: they never count
            // against max_items, so a poll always makes progress.
            let fresh = match (at, since) {
                (Some(a), Some(s)) => a.unix_timestamp() > s.unix_timestamp(),
                _ => true,
            };
            if max > 0 && fresh && counted >= max {
                has_more = true;
                break 'pages;
            }
            if fresh {
                counted += 1;
            }
            if let Some(a) = at
                && newest.is_none_or(|n| a > n)
            {
                newest = Some(a);
            }
            out.push(record(item));
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(MondayPollResponse {
        items: out,
        watermark: newest.map(to_timestamp),
        has_more,
        complexity: Some(spent.usage()),
        api_calls: calls.0,
        next_page_token: String::new(),
        total: 0,
    })
}
