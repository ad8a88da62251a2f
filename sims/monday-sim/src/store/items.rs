//! The item table and its per-board indexes. Every change to an item goes through `insert`,
//! `update` or `remove`, which keep the indexes in step, so a read finds a board's items —
//! active ones in board order, per group, by last update, or by a cell's text — in
//! O(log n) of the board instead of scanning every item of every board.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use time::OffsetDateTime;

use super::Item;
use crate::column_value::{self, ColumnSpec};

/// The sort key `items_page` orders `__last_updated__` by: the time in nanoseconds as an
/// `f64` (as the query's comparison always did, so times closer than its precision tie and
/// fall back to the item id), mapped to an integer with the same order.
pub fn time_key(t: OffsetDateTime) -> u64 {
    let bits = (t.unix_timestamp_nanos() as f64).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Column types whose cell text depends on the stored value alone (not on the column's
/// labels or on user names), so it can be indexed and kept in step on writes.
pub fn text_indexable(kind: &str) -> bool {
    matches!(
        kind,
        "name"
            | "text"
            | "numbers"
            | "long_text"
            | "date"
            | "email"
            | "link"
            | "phone"
            | "checkbox"
            | "item_id"
    )
}

/// One column's cell texts on a board's active items.
#[derive(Debug, Default)]
struct TextIndex {
    kind: String,
    ids: HashMap<String, BTreeSet<i64>>,
}

impl TextIndex {
    fn forget(&mut self, text: &str, id: i64) {
        if let Some(ids) = self.ids.get_mut(text) {
            ids.remove(&id);
            if ids.is_empty() {
                self.ids.remove(text);
            }
        }
    }

    fn text(&self, col: &str, item: &Item) -> String {
        if self.kind == "name" {
            return item.name.clone();
        }
        let spec = ColumnSpec {
            id: col.to_string(),
            kind: self.kind.clone(),
            settings: Value::Null,
        };
        column_value::render(&spec, item.values.get(col), &|_| None)
            .text
            .unwrap_or_default()
    }
}

/// Where an item sits in its board's indexes.
#[derive(Debug, PartialEq)]
struct Placement {
    board_id: i64,
    state: String,
    group_id: String,
    updated: u64,
}

impl Placement {
    fn of(item: &Item) -> Self {
        Self {
            board_id: item.board_id,
            state: item.state.clone(),
            group_id: item.group_id.clone(),
            updated: time_key(item.updated_at),
        }
    }
}

/// A board's items, indexed.
#[derive(Debug, Default)]
pub struct BoardIndex {
    /// Every item of the board, whatever its state.
    pub all: BTreeSet<i64>,
    /// How many of them are deleted.
    pub deleted: usize,
    /// Active items in board order (by id).
    pub active: BTreeSet<i64>,
    /// Active items of each group, by id.
    pub by_group: HashMap<String, BTreeSet<i64>>,
    /// Active items by (`time_key(updated_at)`, id).
    pub by_updated: BTreeSet<(u64, i64)>,
    /// Cell texts of active items per column, built when first asked for.
    texts: HashMap<String, TextIndex>,
}

impl BoardIndex {
    fn add(&mut self, item: &Item) {
        self.all.insert(item.id);
        if item.state == "deleted" {
            self.deleted += 1;
        }
        if item.state != "active" {
            return;
        }
        self.active.insert(item.id);
        self.by_group
            .entry(item.group_id.clone())
            .or_default()
            .insert(item.id);
        self.by_updated.insert((time_key(item.updated_at), item.id));
        for (col, index) in &mut self.texts {
            let text = index.text(col, item);
            index.ids.entry(text).or_default().insert(item.id);
        }
    }

    /// The texts an item has in each text index, in the indexes' order.
    fn texts_of(&self, item: &Item) -> Vec<String> {
        if item.state != "active" {
            return Vec::new();
        }
        self.texts
            .iter()
            .map(|(col, ix)| ix.text(col, item))
            .collect()
    }

    fn remove(&mut self, item: &Item) {
        let texts = self.texts_of(item);
        self.remove_placed(item.id, &Placement::of(item), texts);
    }

    /// Remove an item known by where it was placed and the texts it had.
    fn remove_placed(&mut self, id: i64, p: &Placement, texts: Vec<String>) {
        self.all.remove(&id);
        if p.state == "deleted" {
            self.deleted -= 1;
        }
        if p.state != "active" {
            return;
        }
        self.active.remove(&id);
        if let Some(g) = self.by_group.get_mut(&p.group_id) {
            g.remove(&id);
        }
        self.by_updated.remove(&(p.updated, id));
        for ((_, index), text) in self.texts.iter_mut().zip(texts) {
            index.forget(&text, id);
        }
    }

    /// Items the board holds that are not deleted (what its item limit counts).
    pub fn not_deleted(&self) -> usize {
        self.all.len() - self.deleted
    }

    /// Active items of one group (or of the board), by id.
    pub fn active_in(&self, group: Option<&str>) -> Option<&BTreeSet<i64>> {
        match group {
            None => Some(&self.active),
            Some(g) => self.by_group.get(g),
        }
    }
}

#[derive(Debug, Default)]
pub struct ItemTable {
    items: HashMap<i64, Item>,
    boards: HashMap<i64, BoardIndex>,
}

impl ItemTable {
    pub fn get(&self, id: &i64) -> Option<&Item> {
        self.items.get(id)
    }

    pub fn contains_key(&self, id: &i64) -> bool {
        self.items.contains_key(id)
    }

    pub fn insert(&mut self, item: Item) {
        if let Some(old) = self.items.remove(&item.id) {
            self.unindex(&old);
        }
        self.boards.entry(item.board_id).or_default().add(&item);
        self.items.insert(item.id, item);
    }

    pub fn remove(&mut self, id: &i64) -> Option<Item> {
        let item = self.items.remove(id)?;
        self.unindex(&item);
        Some(item)
    }

    /// Change an item in place (not its id), keeping the indexes in step: only the entries
    /// whose keys changed move (an edit moves its by-update entry and the texts it changed).
    pub fn update<R>(&mut self, id: &i64, f: impl FnOnce(&mut Item) -> R) -> Option<R> {
        let item = self.items.get_mut(id)?;
        let before = Placement::of(item);
        let board = self.boards.entry(item.board_id).or_default();
        let texts = board.texts_of(item);
        let out = f(item);
        item.id = *id;
        let after = Placement::of(item);
        let same_place = before.board_id == after.board_id
            && before.state == after.state
            && before.group_id == after.group_id;
        if !same_place {
            board.remove_placed(*id, &before, texts);
            self.boards.entry(after.board_id).or_default().add(item);
            return Some(out);
        }
        if after.state != "active" {
            return Some(out);
        }
        if before.updated != after.updated {
            board.by_updated.remove(&(before.updated, *id));
            board.by_updated.insert((after.updated, *id));
        }
        for ((col, index), old) in board.texts.iter_mut().zip(texts) {
            let new = index.text(col, item);
            if new != old {
                index.forget(&old, *id);
                index.ids.entry(new).or_default().insert(*id);
            }
        }
        Some(out)
    }

    fn unindex(&mut self, item: &Item) {
        if let Some(b) = self.boards.get_mut(&item.board_id) {
            b.remove(item);
        }
    }

    pub fn board(&self, board_id: i64) -> Option<&BoardIndex> {
        self.boards.get(&board_id)
    }

    /// Every item of a board, whatever its state, by id.
    pub fn of_board(&self, board_id: i64) -> impl Iterator<Item = &Item> {
        self.boards
            .get(&board_id)
            .into_iter()
            .flat_map(|b| b.all.iter())
            .filter_map(|id| self.items.get(id))
    }

    /// Active items of a board whose cell in `col` (of a `text_indexable` type `kind`) reads
    /// one of `texts`, by id. The column's index is built on first use, then kept on writes.
    pub fn with_text(
        &mut self,
        board_id: i64,
        col: &str,
        kind: &str,
        texts: &std::collections::HashSet<String>,
    ) -> BTreeSet<i64> {
        let Some(board) = self.boards.get_mut(&board_id) else {
            return BTreeSet::new();
        };
        if !board.texts.contains_key(col) {
            let mut index = TextIndex {
                kind: kind.to_string(),
                ids: HashMap::new(),
            };
            for id in &board.active {
                if let Some(item) = self.items.get(id) {
                    let text = index.text(col, item);
                    index.ids.entry(text).or_default().insert(*id);
                }
            }
            board.texts.insert(col.to_string(), index);
        }
        let index = &board.texts[col];
        texts
            .iter()
            .filter_map(|t| index.ids.get(t))
            .flatten()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: i64, board_id: i64, state: &str, text: &str) -> Item {
        Item {
            id,
            board_id,
            group_id: "topics".into(),
            name: format!("n{id}"),
            state: state.into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(id),
            creator_id: 1,
            values: [("text".to_string(), json!(text))].into_iter().collect(),
        }
    }

    #[test]
    fn time_keys_order_like_the_times_they_stand_for() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let times = [
            t - time::Duration::days(400),
            t - time::Duration::seconds(1),
            t,
            t + time::Duration::seconds(1),
            t + time::Duration::days(20_000),
        ];
        for w in times.windows(2) {
            assert!(time_key(w[0]) < time_key(w[1]), "{w:?}");
        }
    }

    #[test]
    fn indexes_follow_state_group_time_and_text_changes() {
        let mut t = ItemTable::default();
        for id in 1..=4 {
            t.insert(item(id, 7, "active", "a"));
        }
        t.insert(item(5, 8, "active", "a"));
        let wanted = ["b".to_string()].into_iter().collect();
        assert!(t.with_text(7, "text", "text", &wanted).is_empty());
        t.update(&2, |i| {
            i.values.insert("text".into(), json!("b"));
            i.group_id = "other".into();
            i.updated_at += time::Duration::days(1);
        });
        t.update(&3, |i| i.state = "deleted".into());
        let b = t.board(7).unwrap();
        assert_eq!(b.active.iter().copied().collect::<Vec<_>>(), vec![1, 2, 4]);
        assert_eq!((b.all.len(), b.not_deleted()), (4, 3));
        assert_eq!(b.active_in(Some("other")).unwrap().len(), 1);
        assert_eq!(b.by_updated.last().map(|k| k.1), Some(2));
        assert_eq!(t.with_text(7, "text", "text", &wanted), [2].into());
        t.update(&4, |i| {
            i.values.insert("text".into(), json!("b"));
            i.updated_at += time::Duration::days(2);
        });
        let b = t.board(7).unwrap();
        assert_eq!(b.by_updated.len(), 3);
        assert_eq!(b.by_updated.last().map(|k| k.1), Some(4));
        assert_eq!(t.with_text(7, "text", "text", &wanted), [2, 4].into());
        t.update(&2, |i| i.state = "archived".into());
        assert_eq!(t.with_text(7, "text", "text", &wanted), [4].into());
        t.update(&4, |i| i.board_id = 8);
        assert!(t.with_text(7, "text", "text", &wanted).is_empty());
        assert_eq!(t.with_text(8, "text", "text", &wanted), [4].into());
        assert_eq!(t.of_board(8).count(), 2);
    }
}
