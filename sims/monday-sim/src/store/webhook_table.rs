//! Webhook subscriptions, by id and by board, so an event looks at its own board's
//! subscriptions rather than every subscription of every account.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Webhook;

#[derive(Debug, Default)]
pub struct WebhookTable {
    hooks: BTreeMap<i64, Webhook>,
    by_board: HashMap<i64, BTreeSet<i64>>,
}

impl WebhookTable {
    pub fn get(&self, id: &i64) -> Option<&Webhook> {
        self.hooks.get(id)
    }

    pub fn insert(&mut self, id: i64, hook: Webhook) {
        self.remove(&id);
        self.by_board.entry(hook.board_id).or_default().insert(id);
        self.hooks.insert(id, hook);
    }

    pub fn remove(&mut self, id: &i64) -> Option<Webhook> {
        let hook = self.hooks.remove(id)?;
        if let Some(ids) = self.by_board.get_mut(&hook.board_id) {
            ids.remove(id);
        }
        Some(hook)
    }

    /// Every subscription, by id.
    pub fn values(&self) -> impl Iterator<Item = &Webhook> {
        self.hooks.values()
    }

    /// A board's subscriptions, by id.
    pub fn on_board(&self, board_id: i64) -> impl Iterator<Item = &Webhook> {
        self.by_board
            .get(&board_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.hooks.get(id))
    }
}
