//! Coalescing: many partial changes to one record inside the window become one change.
//!
//! Field-wise, the newest change wins; on equal timestamps the one coalesced later wins.
//! [`PendingChange::coalesce`] is associative, so changes can be folded in any grouping
//! (e.g. a Redis buffer merged incrementally, or replayed after a crash).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Value;
use crate::merge::SideState;

/// One field's latest value and when it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub value: Value,
    pub changed_at: Timestamp,
}

/// A buffered, partial change of one record on one side (fields keyed by Salesforce field
/// name or monday column id). Serialisable for the coalescing buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PendingChange {
    pub fields: BTreeMap<String, FieldChange>,
}

impl PendingChange {
    pub fn new() -> Self {
        Self::default()
    }

    /// A change of one field.
    pub fn single(field: impl Into<String>, value: Value, changed_at: Timestamp) -> Self {
        let mut c = Self::new();
        c.fields
            .insert(field.into(), FieldChange { value, changed_at });
        c
    }

    /// Several fields changed at one time (e.g. one polled record).
    pub fn at<K: Into<String>>(
        changed_at: Timestamp,
        values: impl IntoIterator<Item = (K, Value)>,
    ) -> Self {
        Self {
            fields: values
                .into_iter()
                .map(|(k, value)| (k.into(), FieldChange { value, changed_at }))
                .collect(),
        }
    }

    /// Merges a later change into this one: per field, the newer timestamp wins, and on a
    /// tie `later` wins. Associative: `a.coalesce(b).coalesce(c) == a.coalesce(b.coalesce(c))`.
    pub fn coalesce(mut self, later: PendingChange) -> Self {
        for (k, change) in later.fields {
            match self.fields.get(&k) {
                Some(cur) if cur.changed_at > change.changed_at => {}
                _ => {
                    self.fields.insert(k, change);
                }
            }
        }
        self
    }

    /// The newest timestamp of any field.
    pub fn newest(&self) -> Option<Timestamp> {
        self.fields.values().map(|c| c.changed_at).max()
    }

    /// The change as one side's state for [`crate::merge()`]: the changed fields with their
    /// own timestamps; fields absent here count as unchanged.
    pub fn into_side_state(self) -> SideState {
        let mut s = SideState {
            record_changed_at: self.newest(),
            ..SideState::default()
        };
        for (k, c) in self.fields {
            s.changed_at.insert(k.clone(), c.changed_at);
            s.values.insert(k, c.value);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn fifty_edits_coalesce_into_one_change_with_newest_values() {
        let mut acc = PendingChange::new();
        for i in 0..50 {
            let field = if i % 2 == 0 { "Name" } else { "Phone" };
            acc = acc.coalesce(PendingChange::single(
                field,
                Value::text(format!("v{i}")),
                ts(i),
            ));
        }
        assert_eq!(acc.fields.len(), 2);
        assert_eq!(acc.fields["Name"].value, Value::text("v48"));
        assert_eq!(acc.fields["Phone"].value, Value::text("v49"));
        assert_eq!(acc.newest(), Some(ts(49)));
    }

    #[test]
    fn an_older_change_arriving_late_does_not_win() {
        let newer = PendingChange::single("Name", Value::text("new"), ts(10));
        let older = PendingChange::single("Name", Value::text("old"), ts(5));
        assert_eq!(
            newer.coalesce(older).fields["Name"].value,
            Value::text("new")
        );
    }

    #[test]
    fn side_state_carries_per_field_timestamps() {
        let c = PendingChange::at(ts(3), [("A", Value::Bool(true))])
            .coalesce(PendingChange::single("B", Value::Null, ts(7)));
        let s = c.into_side_state();
        assert_eq!(s.record_changed_at, Some(ts(7)));
        assert_eq!(s.changed_at["A"], ts(3));
        assert_eq!(s.values["B"], Value::Null);
    }
}
