//! Every GraphQL document the connector sends to monday. All of them are listed by
//! [`documents`] so a test validates each against monday's real schema.

use std::fmt::Write as _;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The budget probe appended to every operation.
const COMPLEXITY: &str = "complexity { before after reset_in_x_seconds }";

/// The account a token belongs to (budgets are per account).
pub const ME: &str =
    "query Me { me { id account { id } } complexity { before after reset_in_x_seconds } }";

/// A board's name, columns (with settings) and groups.
pub const BOARD: &str = "query Board($ids: [ID!]) { boards(ids: $ids) { id name columns { id title type settings_str } groups { id title } } account { tier } complexity { before after reset_in_x_seconds } }";

/// One page of the account's users.
/// The account's active boards, a page at a time (ListBoards).
pub const BOARDS: &str = "query Boards($limit: Int, $page: Int) { boards(limit: $limit, page: $page) { id name } complexity { before after reset_in_x_seconds } }";

pub const USERS: &str = "query Users($limit: Int, $page: Int) { users(limit: $limit, page: $page) { id name email enabled } complexity { before after reset_in_x_seconds } }";

/// Registers a webhook (monday challenges the URL before it answers).
pub const CREATE_WEBHOOK: &str = "mutation CreateWebhook($board: ID!, $url: String!, $event: WebhookEventType!) { create_webhook(board_id: $board, url: $url, event: $event) { id board_id event } complexity { before after reset_in_x_seconds } }";

/// Removes a webhook.
pub const DELETE_WEBHOOK: &str = "mutation DeleteWebhook($id: ID!) { delete_webhook(id: $id) { id board_id } complexity { before after reset_in_x_seconds } }";

/// A board's webhooks.
pub const WEBHOOKS: &str = "query Webhooks($board: ID!) { webhooks(board_id: $board) { id board_id event } complexity { before after reset_in_x_seconds } }";

/// The fields read of every item (`$cols` restricts the column values).
const ITEM_FIELDS: &str = "id name state updated_at board { id } column_values(ids: $cols) { id value text ... on MirrorValue { display_value } ... on BoardRelationValue { display_value } ... on FormulaValue { display_value } }";

/// First page of items updated since a time (`$qp` holds the `__last_updated__` rule).
pub fn poll_first() -> String {
    format!(
        "query PollFirst($board: [ID!], $limit: Int!, $qp: ItemsQuery, $cols: [String!]) {{ boards(ids: $board) {{ items_page(limit: $limit, query_params: $qp) {{ cursor items {{ {ITEM_FIELDS} }} }} }} {COMPLEXITY} }}"
    )
}

/// An import's first page, with how many items the board holds.
pub fn page_first() -> String {
    format!(
        "query PageFirst($board: [ID!], $limit: Int!, $cols: [String!]) {{ boards(ids: $board) {{ items_count items_page(limit: $limit) {{ cursor items {{ {ITEM_FIELDS} }} }} }} {COMPLEXITY} }}"
    )
}

/// Following pages.
pub fn poll_next() -> String {
    format!(
        "query PollNext($cursor: String!, $limit: Int!, $cols: [String!]) {{ next_items_page(cursor: $cursor, limit: $limit) {{ cursor items {{ {ITEM_FIELDS} }} }} {COMPLEXITY} }}"
    )
}

/// Items by id (at most 100 a call).
pub fn items_by_id() -> String {
    format!(
        "query ItemsById($ids: [ID!], $limit: Int, $cols: [String!]) {{ items(ids: $ids, limit: $limit, exclude_nonactive: false) {{ {ITEM_FIELDS} }} {COMPLEXITY} }}"
    )
}

/// Adds the text column that holds idempotency keys.
pub const CREATE_KEY_COLUMN: &str = "mutation AddKeyColumn($board: ID!, $title: String!, $id: String, $description: String) { create_column(board_id: $board, title: $title, column_type: text, id: $id, description: $description) { id } }";

/// Items whose idempotency-key column holds one of the given keys.
pub const FIND_BY_KEY: &str = "query FindByKey($board: ID!, $columns: [ItemsPageByColumnValuesQuery!], $limit: Int!, $cols: [String!]) { items_page_by_column_values(board_id: $board, columns: $columns, limit: $limit) { cursor items { id column_values(ids: $cols) { id text } } } complexity { before after reset_in_x_seconds } }";

/// Items whose column shows one of the given values, with every field a read returns.
pub fn find_items() -> String {
    format!(
        "query FindItems($board: ID!, $columns: [ItemsPageByColumnValuesQuery!], $limit: Int!, $cols: [String!]) {{ items_page_by_column_values(board_id: $board, columns: $columns, limit: $limit) {{ cursor items {{ {ITEM_FIELDS} }} }} {COMPLEXITY} }}"
    )
}

/// One write inside a batch, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
}

/// Aliased mutations `w0`, `w1`, … with variables `$n0`/`$v0`/`$i0` per write and the shared
/// `$board`, `$group`, `$labels`.
pub fn write_batch(kinds: &[WriteKind]) -> String {
    let mut vars = String::from("$board: ID!, $group: String, $labels: Boolean");
    let mut body = String::new();
    for (n, kind) in kinds.iter().enumerate() {
        match kind {
            WriteKind::Create => {
                let _ = write!(vars, ", $n{n}: String!, $v{n}: JSON");
                let _ = write!(
                    body,
                    " w{n}: create_item(board_id: $board, group_id: $group, item_name: $n{n}, column_values: $v{n}, create_labels_if_missing: $labels) {{ id updated_at }}"
                );
            }
            WriteKind::Update => {
                let _ = write!(vars, ", $i{n}: ID!, $v{n}: JSON!");
                let _ = write!(
                    body,
                    " w{n}: change_multiple_column_values(board_id: $board, item_id: $i{n}, column_values: $v{n}, create_labels_if_missing: $labels) {{ id updated_at state }}"
                );
            }
        }
    }
    format!("mutation WriteItems({vars}) {{{body} {COMPLEXITY} }}")
}

/// Complexity monday charges per root mutation (its long-published figure for `create_item`).
pub const MUTATION_COST: u64 = 10_000;
/// Our estimate of one aliased write with its `{ id updated_at }` selection.
pub const WRITE_COST: u64 = MUTATION_COST + 3;
/// monday's cap on one request's complexity.
pub const MAX_QUERY_COMPLEXITY: u64 = 5_000_000;

/// How many aliased writes fit in one request under the per-query cap and `remaining` budget.
pub fn writes_per_request(remaining: Option<u64>, cap: usize) -> usize {
    let by_query = ((MAX_QUERY_COMPLEXITY - 100) / WRITE_COST) as usize;
    let by_budget = remaining.map_or(usize::MAX, |r| {
        (r.saturating_sub(100) / WRITE_COST) as usize
    });
    by_query.min(by_budget).min(cap).max(1)
}

/// The ItemsQuery of a poll: oldest change first, from the watermark's second on (monday's
/// `updated_at` has second precision, so items of that second come again; callers dedupe).
pub fn poll_query(watermark: Option<OffsetDateTime>) -> Value {
    let order = json!([{"column_id": "__last_updated__", "direction": "asc"}]);
    match watermark.and_then(|w| w.replace_nanosecond(0).ok()?.format(&Rfc3339).ok()) {
        Some(at) => json!({
            "rules": [{
                "column_id": "__last_updated__",
                "compare_value": ["EXACT", at],
                "compare_attribute": "UPDATED_AT",
                "operator": "greater_than_or_equals"
            }],
            "order_by": order
        }),
        None => json!({"order_by": order}),
    }
}

/// Every document the connector can send, by name, for schema validation in tests.
pub fn documents() -> Vec<(&'static str, String)> {
    vec![
        ("Me", ME.to_owned()),
        ("Board", BOARD.to_owned()),
        ("Users", USERS.to_owned()),
        ("Boards", BOARDS.to_owned()),
        ("PollFirst", poll_first()),
        ("PollNext", poll_next()),
        ("PageFirst", page_first()),
        ("ItemsById", items_by_id()),
        ("FindByKey", FIND_BY_KEY.to_owned()),
        ("FindItems", find_items()),
        ("CreateWebhook", CREATE_WEBHOOK.to_owned()),
        ("DeleteWebhook", DELETE_WEBHOOK.to_owned()),
        ("Webhooks", WEBHOOKS.to_owned()),
        (
            "WriteItems",
            write_batch(&[WriteKind::Create, WriteKind::Update, WriteKind::Create]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_aliases_each_write_with_its_own_variables() {
        let q = write_batch(&[WriteKind::Update, WriteKind::Create]);
        assert!(q.contains("w0: change_multiple_column_values(board_id: $board, item_id: $i0"));
        assert!(q.contains("w1: create_item(board_id: $board, group_id: $group, item_name: $n1"));
        assert!(q.contains("$i0: ID!, $v0: JSON!, $n1: String!, $v1: JSON"));
    }

    #[test]
    fn writes_per_request_follow_the_query_cap_the_budget_and_the_cap() {
        let cases = [
            (None, 1000, 499),
            (None, 100, 100),
            (Some(1_000_000), 1000, 99),
            (Some(50), 1000, 1),
        ];
        for (remaining, cap, want) in cases {
            assert_eq!(
                writes_per_request(remaining, cap),
                want,
                "{remaining:?} {cap}"
            );
        }
    }

    #[test]
    fn poll_query_filters_from_the_watermark_second_oldest_first() {
        let at = OffsetDateTime::from_unix_timestamp(1_779_428_862).unwrap()
            + time::Duration::milliseconds(500);
        let q = poll_query(Some(at));
        assert_eq!(q["rules"][0]["compare_value"][1], "2026-05-22T05:47:42Z");
        assert_eq!(q["rules"][0]["operator"], "greater_than_or_equals");
        assert_eq!(q["order_by"][0]["direction"], "asc");
        assert!(poll_query(None).get("rules").is_none());
    }
}
