//! One item against an `ItemsQuery`: rules (incl. `__last_updated__` / `__creation_log__`
//! with `greater_than` etc.), nested groups, `and`/`or`; and the keys `order_by` sorts by.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;

use crate::column_value::{self, ColumnSpec};
use crate::errors::ApiError;
use crate::store::{Board, Item, parse_time};

pub fn is_pseudo(col: &str) -> bool {
    matches!(col, "__last_updated__" | "__creation_log__")
}

#[derive(PartialEq, PartialOrd)]
pub enum Key {
    Num(f64),
    Text(String),
}

pub fn sort_key(
    board: &Board,
    item: &Item,
    col: &str,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> Key {
    match col {
        "__last_updated__" => Key::Num(item.updated_at.unix_timestamp_nanos() as f64),
        "__creation_log__" => Key::Num(item.created_at.unix_timestamp_nanos() as f64),
        "name" => Key::Text(item.name.to_lowercase()),
        _ => {
            let text = cell_text(board, item, col, user_name);
            match text.parse::<f64>() {
                Ok(n) => Key::Num(n),
                Err(_) => Key::Text(text.to_lowercase()),
            }
        }
    }
}

pub fn cell_text(
    board: &Board,
    item: &Item,
    col: &str,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> String {
    match board.column(col) {
        Some(c) => column_value::render(&c.spec, item.values.get(col), user_name)
            .text
            .unwrap_or_default(),
        None => String::new(),
    }
}

pub fn matches_group(
    board: &Board,
    item: &Item,
    q: &Value,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> Result<bool, ApiError> {
    let or = q.get("operator").and_then(Value::as_str) == Some("or");
    let mut results = Vec::new();
    for rule in q
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        results.push(matches_rule(board, item, rule, user_name)?);
    }
    for g in q
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        results.push(matches_group(board, item, g, user_name)?);
    }
    if results.is_empty() {
        return Ok(true);
    }
    Ok(if or {
        results.iter().any(|r| *r)
    } else {
        results.iter().all(|r| *r)
    })
}

/// Compare values: a list, a scalar, or `["EXACT", "2024-…"]` for date-like columns.
pub fn compare_values(rule: &Value) -> Vec<Value> {
    let v = match rule.get("compare_value") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => vec![],
        Some(other) => vec![other.clone()],
    };
    v.into_iter()
        .filter(|x| x.as_str() != Some("EXACT"))
        .collect()
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn matches_rule(
    board: &Board,
    item: &Item,
    rule: &Value,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> Result<bool, ApiError> {
    let col = rule
        .get("column_id")
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
        .unwrap_or_default();
    let op = rule
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or("any_of");
    let values = compare_values(rule);
    if is_pseudo(&col) {
        let t = if col == "__last_updated__" {
            item.updated_at
        } else {
            item.created_at
        };
        let times: Vec<OffsetDateTime> = values
            .iter()
            .filter_map(|v| v.as_str().and_then(parse_time))
            .collect();
        if times.is_empty() {
            return Err(ApiError::invalid_argument(format!(
                "compare_value for {col} must hold an ISO-8601 date-time"
            )));
        }
        return Ok(compare_time(t, op, &times));
    }
    let (kind, spec): (&str, Option<&ColumnSpec>) = match (col.as_str(), board.column(&col)) {
        ("name", _) => ("name", None),
        (_, Some(c)) => (c.spec.kind.as_str(), Some(&c.spec)),
        (_, None) => return Err(ApiError::invalid_column(&col)),
    };
    let stored = item.values.get(&col);
    let text = if kind == "name" {
        item.name.clone()
    } else {
        cell_text(board, item, &col, user_name)
    };
    let empty = match kind {
        "checkbox" => !stored
            .and_then(|v| v.get("checked"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        "name" => item.name.is_empty(),
        _ => stored.is_none(),
    };
    // The cell's comparable tokens: status index, dropdown ids, person ids, else the text.
    let tokens: Vec<String> = match (kind, stored) {
        ("status", Some(v)) => v
            .get("index")
            .map(|i| vec![i.to_string()])
            .unwrap_or_default(),
        ("status", None) => vec!["5".into()],
        ("dropdown", Some(v)) => v
            .get("ids")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default(),
        ("people", Some(v)) => v
            .get("personsAndTeams")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some(format!("{}-{}", p.get("kind")?.as_str()?, p.get("id")?)))
                    .collect()
            })
            .unwrap_or_default(),
        ("people", None) => vec!["person-0".into()],
        ("date", Some(v)) => vec![
            v.get("date")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ],
        _ => vec![text.clone()],
    };
    let wanted: Vec<String> = values.iter().map(as_text).collect();
    let num = |s: &str| s.trim().parse::<f64>().ok();
    let _ = spec;
    Ok(match op {
        "any_of" => {
            tokens.iter().any(|t| wanted.contains(t))
                || (wanted.iter().any(|w| w.is_empty()) && empty)
        }
        "not_any_of" => !tokens.iter().any(|t| wanted.contains(t)),
        "is_empty" => empty,
        "is_not_empty" => !empty,
        "contains_text" => wanted
            .iter()
            .any(|w| text.to_lowercase().contains(&w.to_lowercase())),
        "not_contains_text" => !wanted
            .iter()
            .any(|w| text.to_lowercase().contains(&w.to_lowercase())),
        "contains_terms" => wanted.iter().all(|w| {
            w.split_whitespace()
                .all(|t| text.to_lowercase().contains(&t.to_lowercase()))
        }),
        "starts_with" => wanted.iter().any(|w| text.starts_with(w.as_str())),
        "ends_with" => wanted.iter().any(|w| text.ends_with(w.as_str())),
        "greater_than"
        | "greater_than_or_equals"
        | "lower_than"
        | "lower_than_or_equal"
        | "between" => {
            let cell = tokens.first().cloned().unwrap_or_default();
            if empty {
                false
            } else if let (Some(a), Some(_)) = (num(&cell), wanted.first().and_then(|w| num(w))) {
                let ws: Vec<f64> = wanted.iter().filter_map(|w| num(w)).collect();
                compare_ord(
                    a.partial_cmp(&ws[0]),
                    op,
                    ws.get(1).and_then(|b| a.partial_cmp(b)),
                )
            } else {
                let first = wanted.first().cloned().unwrap_or_default();
                compare_ord(
                    Some(cell.as_str().cmp(first.as_str())),
                    op,
                    wanted.get(1).map(|b| cell.as_str().cmp(b.as_str())),
                )
            }
        }
        _ => {
            return Err(ApiError::invalid_argument(format!(
                "operator {op} is not supported for column {col}"
            )));
        }
    })
}

fn compare_ord(first: Option<Ordering>, op: &str, second: Option<Ordering>) -> bool {
    let Some(c) = first else { return false };
    match op {
        "greater_than" => c == Ordering::Greater,
        "greater_than_or_equals" => c != Ordering::Less,
        "lower_than" => c == Ordering::Less,
        "lower_than_or_equal" => c != Ordering::Greater,
        "between" => c != Ordering::Less && second.is_some_and(|s| s != Ordering::Greater),
        _ => false,
    }
}

fn compare_time(t: OffsetDateTime, op: &str, times: &[OffsetDateTime]) -> bool {
    let first = Some(t.cmp(&times[0]));
    let second = times.get(1).map(|b| t.cmp(b));
    match op {
        "any_of" => times.iter().any(|x| x.date() == t.date()),
        _ => compare_ord(first, op, second),
    }
}
