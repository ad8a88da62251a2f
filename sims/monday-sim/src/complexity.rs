//! Complexity: the per-request cost model and the per-account, per-minute budget.
//!
//! Model (monday does not publish its formula; this one keeps its shape):
//! - every selected field costs 1 (`__typename` 0);
//! - a field returning objects costs 1 + the cost of its selection, multiplied for lists by
//!   the number of elements it may return: `limit` when given (`items_page`, `next_items_page`,
//!   `boards`, `items`, `users`), else the length of `ids`, else a default
//!   (`boards`/`items` 25 as in the schema, `users` 200, `column_values`/`columns` 20,
//!   `groups` 10, anything else 10). A page's `items` (`ItemsResponse.items`) are the page's
//!   `limit` elements, already counted by `items_page`/`next_items_page`: not multiplied again
//!   (a 500-item page of 4 columns costs about 12,000, not 25 times that);
//! - each root mutation field adds 10,000 (monday's long-published figure for `create_item`);
//!   aliased mutations are each charged.
//!
//! Budget: `Config::complexity_budget_per_minute` (default 10,000,000 — monday's personal
//! token budget), a window that starts at an account's first call and resets 60 s later.
//! A single query above `Config::max_query_complexity` (default 5,000,000) is refused.
//!
//! Estimate, then actual (monday, API 2025-10 on: "We charge what we think the query will
//! cost, and once the results are returned, you are reimbursed or charged according to the
//! actual cost. If needed, adjustments are made from the following minute's allowance.
//! Failed queries/errors now cost significantly less."): when an account has it on
//! (`Config::complexity_actual_cost`, or per account through the handle / control plane),
//! the estimate above is charged first, then settled against the actual cost — the same
//! model over what the response holds: each field answered costs 1, a list's selection is
//! counted once per element returned (not per `limit`), a type's fragment only on elements
//! of that type, a mutation adds 10,000 only when it succeeded (a failed field costs its 1).
//! What the estimate over-charged returns to the window; what it under-charged is taken from
//! the window, and what the window cannot cover from the next one.

use serde_json::{Map, Value};
use time::OffsetDateTime;

pub const MUTATION_COST: u64 = 10_000;

/// How many times a list field's selection is charged; `parent` is the type it belongs to.
pub fn multiplier(parent: &str, field: &str, args: &Map<String, Value>, list: bool) -> u64 {
    if parent == "ItemsResponse" && field == "items" {
        return 1;
    }
    let limit = args.get("limit").and_then(Value::as_u64);
    let ids = args
        .get("ids")
        .and_then(Value::as_array)
        .map(|a| a.len() as u64);
    match field {
        "items_page" | "next_items_page" => limit.unwrap_or(25).max(1),
        _ if !list => 1,
        "items" | "boards" => match (ids, limit) {
            (Some(n), Some(l)) => n.min(l).max(1),
            (Some(n), None) => n.max(1),
            (None, l) => l.unwrap_or(25).max(1),
        },
        "users" => limit.or(ids).unwrap_or(200).max(1),
        "column_values" | "columns" => ids.unwrap_or(20).max(1),
        _ => limit.or(ids).unwrap_or(10).max(1),
    }
}

pub fn mutation_cost(field: &str) -> u64 {
    match field {
        "complexity" | "__typename" => 0,
        _ => MUTATION_COST,
    }
}

/// One account's minute window.
#[derive(Debug, Clone)]
pub struct Budget {
    pub window_start: OffsetDateTime,
    pub used: u64,
    /// Overrides the configured per-minute budget (tests set/exhaust it through the handle).
    pub limit: Option<u64>,
    /// Points owed to the next window (an actual cost above the estimate that this window
    /// could not cover).
    pub carry: u64,
    /// Overrides `Config::complexity_actual_cost` for this account.
    pub actual_cost: Option<bool>,
}

/// Result of charging a request against a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub query: u64,
    pub before: u64,
    pub after: u64,
    pub reset_in_x_seconds: u64,
    pub limit: u64,
}

impl Budget {
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            window_start: now,
            used: 0,
            limit: None,
            carry: 0,
            actual_cost: None,
        }
    }

    fn roll(&mut self, now: OffsetDateTime) {
        if (now - self.window_start).whole_seconds() >= 60 {
            self.window_start = now;
            self.used = std::mem::take(&mut self.carry);
        }
    }

    /// Settle a request charged at `estimate` against its `actual` cost.
    pub fn settle(&mut self, estimate: u64, actual: u64, default_limit: u64) {
        if actual <= estimate {
            self.used = self.used.saturating_sub(estimate - actual);
            return;
        }
        let extra = actual - estimate;
        let room = self
            .limit
            .unwrap_or(default_limit)
            .saturating_sub(self.used);
        self.used = self.used.saturating_add(extra.min(room));
        self.carry = self.carry.saturating_add(extra.saturating_sub(room));
    }

    pub fn reset_in(&self, now: OffsetDateTime) -> u64 {
        let elapsed = (now - self.window_start).whole_seconds().clamp(0, 60) as u64;
        (60 - elapsed).max(1)
    }

    /// Charge `cost`; Err carries the state when the budget cannot cover it.
    pub fn charge(
        &mut self,
        cost: u64,
        default_limit: u64,
        now: OffsetDateTime,
    ) -> Result<Charge, Charge> {
        self.roll(now);
        let limit = self.limit.unwrap_or(default_limit);
        let before = limit.saturating_sub(self.used);
        let reset = self.reset_in(now);
        if cost > before {
            return Err(Charge {
                query: cost,
                before,
                after: before,
                reset_in_x_seconds: reset,
                limit,
            });
        }
        self.used += cost;
        Ok(Charge {
            query: cost,
            before,
            after: before - cost,
            reset_in_x_seconds: reset,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multipliers_follow_limits_ids_and_defaults() {
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            multiplier("Board", "items_page", &args(json!({"limit": 500})), false),
            500
        );
        assert_eq!(
            multiplier(
                "Query",
                "items",
                &args(json!({"ids": ["1", "2"], "limit": 25})),
                true
            ),
            2
        );
        assert_eq!(
            multiplier("Query", "boards", &args(json!({"limit": 25})), true),
            25
        );
        assert_eq!(
            multiplier("ItemsResponse", "items", &args(json!({})), true),
            1
        );
        assert_eq!(
            multiplier("Item", "column_values", &args(json!({})), true),
            20
        );
        assert_eq!(multiplier("Item", "board", &args(json!({})), false), 1);
    }

    #[test]
    fn budget_refuses_what_it_cannot_cover_and_resets_after_a_minute() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut b = Budget::new(t0);
        let c = b.charge(600, 1000, t0).unwrap();
        assert_eq!((c.before, c.after), (1000, 400));
        let e = b
            .charge(500, 1000, t0 + time::Duration::seconds(20))
            .unwrap_err();
        assert_eq!((e.before, e.reset_in_x_seconds), (400, 40));
        assert!(
            b.charge(500, 1000, t0 + time::Duration::seconds(61))
                .is_ok()
        );
    }

    #[test]
    fn settling_refunds_an_overestimate_and_carries_what_the_window_cannot_cover() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut b = Budget::new(t0);
        b.charge(600, 1000, t0).unwrap();
        b.settle(600, 100, 1000);
        assert_eq!((b.used, b.carry), (100, 0));
        b.charge(800, 1000, t0).unwrap();
        b.settle(800, 1200, 1000);
        assert_eq!((b.used, b.carry), (1000, 300));
        let next = b.charge(0, 1000, t0 + time::Duration::seconds(60)).unwrap();
        assert_eq!((next.before, b.carry), (700, 0));
    }
}
