//! Page cursors. A cursor holds where the next page starts, not the rest of the result: a
//! position in ids fixed when the first page was served (shared by every cursor of that
//! query), or, for a board read in board order without filters, a position in the board's
//! live index. Serving a page costs O(page + items since archived) whatever the board size.

use std::ops::Bound;
use std::sync::Arc;

use time::OffsetDateTime;

use super::{Store, now};

/// What is left of a query after a page.
#[derive(Debug, Clone)]
pub enum Remaining {
    /// The query's item ids, computed when its first page was served, from `next` on.
    Snapshot { ids: Arc<[i64]>, next: usize },
    /// A board (or one group) in board order: active items with an id above `after`, up to
    /// `high_water` (the newest id when the first page was served: later items are not in it).
    BoardOrder {
        board_id: i64,
        group: Option<String>,
        after: i64,
        high_water: i64,
    },
}

/// A page cursor: what remains of a query, and when its first page was served.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub account_id: i64,
    pub remaining: Remaining,
    pub issued_at: OffsetDateTime,
}

impl Store {
    fn is_active(&self, id: i64) -> bool {
        self.items.get(&id).is_some_and(|i| i.state == "active")
    }

    /// Up to `limit` ids still active from `remaining`, and what remains after them when at
    /// least one more active item does.
    pub fn take_page(&self, remaining: &Remaining, limit: usize) -> (Vec<i64>, Option<Remaining>) {
        match remaining {
            Remaining::Snapshot { ids, next } => {
                let mut page = Vec::with_capacity(limit.min(ids.len()));
                let mut at = *next;
                while at < ids.len() && page.len() < limit {
                    if self.is_active(ids[at]) {
                        page.push(ids[at]);
                    }
                    at += 1;
                }
                while at < ids.len() && !self.is_active(ids[at]) {
                    at += 1;
                }
                let rest = (at < ids.len()).then(|| Remaining::Snapshot {
                    ids: ids.clone(),
                    next: at,
                });
                (page, rest)
            }
            Remaining::BoardOrder {
                board_id,
                group,
                after,
                high_water,
            } => {
                let Some(set) = self
                    .items
                    .board(*board_id)
                    .and_then(|b| b.active_in(group.as_deref()))
                else {
                    return (Vec::new(), None);
                };
                let mut range = set.range((Bound::Excluded(*after), Bound::Included(*high_water)));
                let page: Vec<i64> = range.by_ref().take(limit).copied().collect();
                let rest = match (range.next(), page.last()) {
                    (Some(_), Some(last)) => Some(Remaining::BoardOrder {
                        board_id: *board_id,
                        group: group.clone(),
                        after: *last,
                        high_water: *high_water,
                    }),
                    _ => None,
                };
                (page, rest)
            }
        }
    }

    pub fn issue_cursor(
        &mut self,
        account_id: i64,
        remaining: Remaining,
        issued_at: OffsetDateTime,
    ) -> String {
        let token = format!("MSw{}", uuid::Uuid::new_v4().simple());
        self.cursors.insert(
            token.clone(),
            Cursor {
                account_id,
                remaining,
                issued_at,
            },
        );
        token
    }

    /// A cursor of the account that has not expired (`Err(true)`: it expired).
    pub fn cursor(
        &self,
        token: &str,
        account_id: i64,
        ttl: time::Duration,
    ) -> Result<&Cursor, bool> {
        let c = self
            .cursors
            .get(token)
            .filter(|c| c.account_id == account_id)
            .ok_or(false)?;
        if now() - c.issued_at > ttl {
            return Err(true);
        }
        Ok(c)
    }
}
