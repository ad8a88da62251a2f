//! Read: GetItems, and items as the contract's `Record`s (column id → the column `value` JSON
//! text as monday returns it, `name` → the item name as a JSON string), shared by the poll.

use std::collections::HashMap;

use serde_json::{Value, json};
use tandem_proto::v1::{ApiUsage, FindItemsRequest, GetItemsRequest, GetItemsResponse, Record};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::{Calls, Complexity, Monday, Retry, Session};
use crate::error::Error;
use crate::queries;
use crate::schema::id_text;

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

pub use tandem_proto::timestamp::from_offset as to_timestamp;

pub(crate) fn from_timestamp(ts: &prost_types::Timestamp) -> Result<OffsetDateTime, Error> {
    tandem_proto::timestamp::to_offset(ts)
        .ok_or_else(|| Error::InvalidArgument("watermark is out of range".into()))
}

pub(crate) fn updated_at(item: &Value) -> Option<OffsetDateTime> {
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

pub(crate) fn page_cost(limit: u32, columns: usize) -> u64 {
    u64::from(limit) * (12 + 3 * columns.max(1) as u64) + 50
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

/// The most values one FindItems may match.
pub const MAX_FIND_VALUES: usize = 1_000;
/// Values per `items_page_by_column_values` call.
const VALUES_PER_CALL: usize = 100;

/// FindItems: the board's items whose `column_id` shows one of `values` (monday's
/// `items_page_by_column_values`, then `next_items_page` while a cursor comes back).
pub async fn find_items(
    monday: &Monday,
    session: &Session,
    req: &FindItemsRequest,
    calls: &mut Calls,
) -> Result<GetItemsResponse, Error> {
    let mut found: Vec<Record> = Vec::new();
    for chunk in req.values.chunks(VALUES_PER_CALL) {
        let vars = json!({
            "board": req.board_id,
            "columns": [{"column_id": req.column_id, "column_values": chunk}],
            "cols": req.columns,
            "limit": 500,
        });
        let mut reply = monday
            .execute(
                session,
                &queries::find_items(),
                vars,
                page_cost(500, req.columns.len()),
                Retry::Safe,
                calls,
            )
            .await?
            .check()?;
        let mut page = reply.data.get("items_page_by_column_values").cloned();
        while let Some(p) = page.take() {
            found.extend(
                p.get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(record),
            );
            let Some(cursor) = p
                .get("cursor")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            else {
                break;
            };
            reply = monday
                .execute(
                    session,
                    &queries::poll_next(),
                    json!({"cursor": cursor, "limit": 500, "cols": req.columns}),
                    page_cost(500, req.columns.len()),
                    Retry::Safe,
                    calls,
                )
                .await?
                .check()?;
            page = reply.data.get("next_items_page").cloned();
        }
    }
    Ok(GetItemsResponse {
        items: found,
        missing_ids: Vec::new(),
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
