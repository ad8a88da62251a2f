//! PollChanges and GetItems: items as `Record`s (column id → the column `value` JSON text as
//! monday returns it, `name` → the item name as a JSON string).

use std::collections::HashMap;

use serde_json::{Value, json};
use tandem_proto::v1::{
    ApiUsage, GetItemsRequest, GetItemsResponse, MondayPollRequest, MondayPollResponse, Record,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::{Calls, Complexity, Monday, Reply, Retry, Session};
use crate::board::id_text;
use crate::error::Error;
use crate::queries;

/// monday's largest page.
pub const PAGE: u32 = 500;
/// monday's largest `items(ids:)` call.
const IDS_PER_CALL: usize = 100;

/// Points spent by one RPC, summed from each response's `before - after`.
#[derive(Debug, Default)]
pub struct Spent(i64);

impl Spent {
    pub fn add(&mut self, c: Option<Complexity>) {
        if let Some(c) = c {
            self.0 += c.before.saturating_sub(c.after) as i64;
        }
    }

    /// `used` = points this call spent; the window's limit is not reported by monday.
    pub fn usage(&self) -> ApiUsage {
        ApiUsage {
            used: self.0,
            limit: 0,
        }
    }
}

pub fn to_timestamp(t: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: t.nanosecond() as i32,
    }
}

fn from_timestamp(ts: &prost_types::Timestamp) -> Result<OffsetDateTime, Error> {
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_err(|_| Error::InvalidArgument("watermark is out of range".into()))
}

fn updated_at(item: &Value) -> Option<OffsetDateTime> {
    item.get("updated_at")
        .and_then(Value::as_str)
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
}

/// One item as a Record.
pub fn record(item: &Value) -> Record {
    let mut fields = HashMap::new();
    let mut texts = HashMap::new();
    let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
    fields.insert(
        "name".to_owned(),
        Value::String(name.to_owned()).to_string(),
    );
    for cv in item
        .get("column_values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = id_text(cv.get("id"));
        let value = match cv.get("value") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => "null".to_owned(),
            Some(other) => other.to_string(),
        };
        // A read-only column's value is null; what it shows is its (display) text.
        if value == "null" {
            let shown = ["display_value", "text"]
                .iter()
                .find_map(|k| cv.get(*k).and_then(Value::as_str))
                .filter(|t| !t.is_empty());
            if let Some(shown) = shown {
                texts.insert(id.clone(), shown.to_owned());
            }
        }
        fields.insert(id, value);
    }
    let state = item
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or("active");
    Record {
        id: id_text(item.get("id")),
        modified_at: updated_at(item).map(to_timestamp),
        fields,
        deleted: matches!(state, "archived" | "deleted"),
        texts,
    }
}

fn page_of(reply: &Reply, first: bool) -> (Vec<Value>, Option<String>) {
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

fn page_cost(limit: u32, columns: usize) -> u64 {
    u64::from(limit) * (12 + 3 * columns.max(1) as u64) + 50
}

pub async fn poll(
    monday: &Monday,
    session: &Session,
    req: &MondayPollRequest,
    calls: &mut Calls,
) -> Result<MondayPollResponse, Error> {
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
        let limit = if max == 0 {
            PAGE
        } else {
            ((max - counted) as u32 + 1).clamp(1, PAGE)
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
    })
}

pub async fn get_items(
    monday: &Monday,
    session: &Session,
    req: &GetItemsRequest,
    calls: &mut Calls,
) -> Result<GetItemsResponse, Error> {
    let mut found = Vec::new();
    for chunk in req.ids.chunks(IDS_PER_CALL) {
        let reply = monday
            .execute(
                session,
                &queries::items_by_id(),
                json!({"ids": chunk, "limit": chunk.len(), "cols": req.columns}),
                page_cost(chunk.len() as u32, req.columns.len()),
                Retry::Safe,
                calls,
            )
            .await?
            .check()?;
        for item in reply
            .data
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if id_text(item.pointer("/board/id")) == req.board_id {
                found.push(record(item));
            }
        }
    }
    let missing_ids = req
        .ids
        .iter()
        .filter(|id| !found.iter().any(|r| &r.id == *id))
        .cloned()
        .collect();
    Ok(GetItemsResponse {
        items: found,
        missing_ids,
        api_calls: calls.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keeps_value_json_text_and_the_name_as_a_json_string() {
        let item = json!({
            "id": "12", "name": "Deal \"A\"", "state": "active", "updated_at": "2026-05-22T05:47:42Z",
            "column_values": [
                {"id": "status", "value": "{\"index\":1}"},
                {"id": "text", "value": null},
            ]
        });
        let r = record(&item);
        assert_eq!(r.id, "12");
        assert_eq!(r.fields["name"], r#""Deal \"A\"""#);
        assert_eq!(r.fields["status"], r#"{"index":1}"#);
        assert_eq!(r.fields["text"], "null");
        assert_eq!(r.modified_at.map(|t| t.seconds), Some(1_779_428_862));
        assert!(!r.deleted);
        assert!(record(&json!({"id": "1", "state": "archived"})).deleted);
    }
}
