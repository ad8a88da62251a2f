//! A board's columns and an object's fields as the connectors describe them, turned into the
//! tandem-core types validation and suggestions work on.

mod rules;

use std::collections::{BTreeMap, BTreeSet};

pub use rules::{RuleError, Rules, Scope, mapping_direction, mapping_options, parse_conditions};

use tandem_core::{
    ColumnLabel, MondayColumn, MondayKind, PicklistValue, SalesforceField, SalesforceKind,
};
use tandem_proto::v1 as pb;

/// A monday board: its columns by id, and its groups.
#[derive(Debug, Clone, Default)]
pub struct Board {
    pub columns: BTreeMap<String, MondayColumn>,
    /// Columns the connector reports read-only although their kind is writable.
    pub read_only: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    /// The monday plan tier of the board's account (empty when unknown).
    pub account_tier: String,
}

/// A Salesforce object: its fields by API name, and which are external ids.
#[derive(Debug, Clone, Default)]
pub struct Object {
    pub fields: BTreeMap<String, SalesforceField>,
    pub external_ids: BTreeSet<String>,
}

/// The kind a connector names (`kind`), or the one its raw type implies.
pub fn salesforce_kind(kind: &str, raw_type: &str) -> SalesforceKind {
    SalesforceKind::ALL
        .iter()
        .find(|k| k.name() == kind)
        .cloned()
        .unwrap_or_else(|| SalesforceKind::from_describe(raw_type, false, &[]))
}

pub fn monday_kind(kind: &str, raw_type: &str) -> MondayKind {
    MondayKind::ALL
        .iter()
        .find(|k| k.name() == kind)
        .cloned()
        .unwrap_or_else(|| MondayKind::from_api(raw_type))
}

impl Board {
    pub fn from_proto(board: &pb::GetBoardResponse) -> Self {
        let mut out = Board {
            account_tier: board.account_tier.clone(),
            ..Board::default()
        };
        for c in &board.columns {
            let column = MondayColumn {
                id: c.id.clone(),
                title: c.title.clone(),
                kind: monday_kind(&c.kind, &c.monday_type),
                labels: c
                    .labels
                    .iter()
                    .enumerate()
                    .map(|(i, name)| ColumnLabel {
                        // The label's own id when the connector sent it (status indices
                        // have gaps), its position otherwise.
                        id: c.label_ids.get(i).copied().unwrap_or(i as i64),
                        name: name.clone(),
                    })
                    .collect(),
            };
            if c.read_only && !column.kind.is_read_only() {
                out.read_only.insert(c.id.clone());
            }
            out.columns.insert(c.id.clone(), column);
        }
        out.groups = board.groups.iter().map(|g| g.id.clone()).collect();
        out
    }
}

impl Object {
    pub fn from_proto(object: &pb::DescribeObjectResponse) -> Self {
        let mut out = Object::default();
        for f in &object.fields {
            let field = SalesforceField {
                name: f.name.clone(),
                label: f.label.clone(),
                kind: salesforce_kind(&f.kind, &f.salesforce_type),
                length: f.length,
                scale: None,
                writable: f.createable || f.updateable,
                restricted_picklist: f.restricted_picklist,
                picklist_values: f
                    .picklist_values
                    .iter()
                    .map(|p| PicklistValue {
                        value: p.value.clone(),
                        label: p.label.clone(),
                        active: p.active,
                    })
                    .collect(),
                required: f.required,
            };
            if f.external_id {
                out.external_ids.insert(f.name.clone());
            }
            out.fields.insert(f.name.clone(), field);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_keep_their_monday_indices() {
        let board = pb::GetBoardResponse {
            columns: vec![pb::MondayColumn {
                id: "status".into(),
                title: "Stage".into(),
                monday_type: "status".into(),
                kind: "status".into(),
                labels: vec!["Working on it".into(), "Done".into(), "Stuck".into()],
                label_ids: vec![0, 1, 5],
                ..Default::default()
            }],
            ..Default::default()
        };
        let column = &Board::from_proto(&board).columns["status"];
        assert_eq!(column.label_name(5), Some("Stuck"));
        assert_eq!(column.label_name(2), None);
    }

    #[test]
    fn kinds_come_from_the_tandem_kind_or_else_the_raw_type() {
        assert_eq!(salesforce_kind("user", "reference"), SalesforceKind::User);
        assert_eq!(salesforce_kind("", "currency"), SalesforceKind::Currency);
        assert_eq!(
            salesforce_kind("", "address"),
            SalesforceKind::Other("address".into())
        );
        assert_eq!(monday_kind("status", "status"), MondayKind::Status);
        assert_eq!(monday_kind("", "long_text"), MondayKind::LongText);
    }
}
