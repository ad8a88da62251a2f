//! Which items `items_page(query_params:)` and `items_page_by_column_values` select, and in
//! which order, found through the board's indexes (store/items.rs) rather than a scan of every
//! item: an unfiltered read in board order is paged straight off the live index; `ids` look
//! up at most 100 items; a `__last_updated__` range rule (a poll) reads only that range of
//! the by-update index; a text lookup reads the column's text index. Other rules still test
//! each of the board's active items (what they select is the page's content either way).

pub mod rules;

use std::collections::{BTreeSet, HashSet};
use std::ops::Bound;

use serde_json::Value;

use crate::errors::ApiError;
use crate::store::{Board, Store, parse_time, text_indexable, time_key};

/// What a query selects.
#[derive(Debug, PartialEq)]
pub enum Selection {
    /// The board (or group) in board order, unfiltered: paged off the live index.
    BoardOrder,
    /// These ids, in this order.
    Ids(Vec<i64>),
}

fn non_empty<'a>(q: &'a Value, key: &str) -> &'a [Value] {
    q.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The range of `time_key`s a top-level `__last_updated__` rule keeps, when every item the
/// query selects must satisfy it (the query's operator is `and`).
fn updated_range(q: &Value) -> Option<(Bound<u64>, Bound<u64>)> {
    if q.get("operator").and_then(Value::as_str) == Some("or") {
        return None;
    }
    non_empty(q, "rules").iter().find_map(|rule| {
        if rule.get("column_id").and_then(Value::as_str) != Some("__last_updated__") {
            return None;
        }
        let times: Vec<u64> = rules::compare_values(rule)
            .iter()
            .filter_map(|v| v.as_str().and_then(parse_time))
            .map(time_key)
            .collect();
        let first = *times.first()?;
        // The key rounds times monotonically, so an inclusive bound on it keeps a superset
        // of what the rule keeps; the rule itself is checked on each item afterwards.
        match rule.get("operator").and_then(Value::as_str) {
            Some("greater_than" | "greater_than_or_equals") => {
                Some((Bound::Included(first), Bound::Unbounded))
            }
            Some("lower_than" | "lower_than_or_equal") => {
                Some((Bound::Unbounded, Bound::Included(first)))
            }
            Some("between") => Some((
                Bound::Included(first),
                times
                    .get(1)
                    .map_or(Bound::Unbounded, |b| Bound::Included(*b)),
            )),
            _ => None,
        }
    })
}

fn parse_ids(ids: &[Value]) -> BTreeSet<i64> {
    ids.iter()
        .filter_map(|v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v.as_i64())
        })
        .collect()
}

/// Filter and order a board's (or group's) active items by an `ItemsQuery` JSON object.
pub fn run(
    store: &Store,
    board: &Board,
    group: Option<&str>,
    query: &Value,
) -> Result<Selection, ApiError> {
    let ids_param = query.get("ids").and_then(Value::as_array);
    if ids_param.is_some_and(|ids| ids.len() > 100) {
        return Err(ApiError::invalid_argument(
            "query_params.ids accepts at most 100 ids",
        ));
    }
    let order = non_empty(query, "order_by");
    let filtered = !non_empty(query, "rules").is_empty() || !non_empty(query, "groups").is_empty();
    if ids_param.is_none() && !filtered && order.is_empty() {
        return Ok(Selection::BoardOrder);
    }
    let empty = BTreeSet::new();
    let index = store.items.board(board.id);
    let active = index.and_then(|b| b.active_in(group)).unwrap_or(&empty);
    let user_name = |uid: i64| store.users.get(&uid).map(|u| u.name.clone());
    let check = |id: i64| -> Result<bool, ApiError> {
        match store.items.get(&id) {
            Some(item) if filtered => rules::matches_group(board, item, query, &user_name),
            Some(_) => Ok(true),
            None => Ok(false),
        }
    };
    let candidates: Vec<i64> = match (ids_param, updated_range(query), index) {
        (Some(ids), ..) => parse_ids(ids)
            .into_iter()
            .filter(|id| active.contains(id))
            .collect(),
        (None, Some(range), Some(index)) => {
            // A rule fails the same way on every item: test the rules on the first item, as
            // a scan would, before narrowing to the range.
            if let Some(first) = active.first() {
                check(*first)?;
            }
            let mut ids: Vec<i64> = index
                .by_updated
                .range((
                    range.0.map(|k| (k, i64::MIN)),
                    range.1.map(|k| (k, i64::MAX)),
                ))
                .map(|(_, id)| *id)
                .filter(|id| active.contains(id))
                .collect();
            ids.sort_unstable();
            ids
        }
        (None, ..) => active.iter().copied().collect(),
    };
    let mut kept = Vec::with_capacity(candidates.len());
    for id in candidates {
        if check(id)? {
            kept.push(id);
        }
    }
    for o in order {
        let col = o
            .get("column_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !rules::is_pseudo(col) && col != "name" && board.column(col).is_none() {
            return Err(ApiError::invalid_column(col));
        }
    }
    sort(store, board, order, &mut kept);
    Ok(Selection::Ids(kept))
}

/// Sort ids by `order_by` keys, then by id (board order).
fn sort(store: &Store, board: &Board, order: &[Value], ids: &mut [i64]) {
    if order.is_empty() {
        return;
    }
    let desc = |o: &Value| o.get("direction").and_then(Value::as_str) == Some("desc");
    let col = |o: &Value| {
        o.get("column_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let updated = |id: &i64| store.items.get(id).map_or(0, |i| time_key(i.updated_at));
    if let [o] = order
        && col(o) == "__last_updated__"
    {
        // The common poll order: integer keys, computed once per item.
        if desc(o) {
            ids.sort_by_cached_key(|id| (std::cmp::Reverse(updated(id)), *id));
        } else {
            ids.sort_by_cached_key(|id| (updated(id), *id));
        }
        return;
    }
    let user_name = |uid: i64| store.users.get(&uid).map(|u| u.name.clone());
    ids.sort_by(|a, b| {
        let (Some(a), Some(b)) = (store.items.get(a), store.items.get(b)) else {
            return a.cmp(b);
        };
        for o in order {
            let col = col(o);
            let ord = rules::sort_key(board, a, &col, &user_name)
                .partial_cmp(&rules::sort_key(board, b, &col, &user_name))
                .unwrap_or(std::cmp::Ordering::Equal);
            let ord = if desc(o) { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        a.id.cmp(&b.id)
    });
}

/// `items_page_by_column_values`: active items whose cell text equals one of the given
/// values, for every listed column (AND across columns, OR within one column's values), in
/// board order. The first column whose text can be indexed narrows the candidates.
pub fn by_column_values(
    store: &mut Store,
    board: &Board,
    columns: &Value,
) -> Result<Vec<i64>, ApiError> {
    let mut wanted = Vec::new();
    for c in columns.as_array().into_iter().flatten() {
        let col = c
            .get("column_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = match board.column(&col) {
            _ if col == "name" => "name".to_string(),
            Some(c) => c.spec.kind.clone(),
            None => return Err(ApiError::invalid_column(&col)),
        };
        let values: HashSet<String> = c
            .get("column_values")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        wanted.push((col, kind, values));
    }
    let candidates: Vec<i64> = match wanted.iter().find(|(_, kind, _)| text_indexable(kind)) {
        Some((col, kind, values)) => store
            .items
            .with_text(board.id, col, kind, values)
            .into_iter()
            .collect(),
        None => store
            .items
            .board(board.id)
            .map(|b| b.active.iter().copied().collect())
            .unwrap_or_default(),
    };
    let store = &*store;
    let user_name = |uid: i64| store.users.get(&uid).map(|u| u.name.clone());
    Ok(candidates
        .into_iter()
        .filter(|id| {
            let Some(item) = store.items.get(id) else {
                return false;
            };
            wanted.iter().all(|(col, _, values)| {
                if col == "name" {
                    values.contains(&item.name)
                } else {
                    values.contains(&rules::cell_text(board, item, col, &user_name))
                }
            })
        })
        .collect())
}
