//! An integration's settings as the rules a sync applies: one translation of the spec (scope,
//! per-field directions, conversion options, conflict policy, conditions), used by
//! mapping-config to validate and by sync-orchestrator to sync, so the two never drift.

use std::collections::BTreeSet;

use tandem_core::{
    BoolLabels, Condition, ConflictPolicy, Direction, FieldMapping, MappingOptions,
    merge::Side as CoreSide,
};
use tandem_proto::v1 as pb;

use crate::{Board, Object};

/// Which way records may be created and changed, for the whole integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    TwoWay,
    MondayToSalesforce,
    SalesforceToMonday,
}

impl Scope {
    pub fn from_proto(scope: i32) -> Self {
        match pb::Scope::try_from(scope).unwrap_or_default() {
            pb::Scope::MondayToSalesforce => Scope::MondayToSalesforce,
            pb::Scope::SalesforceToMonday => Scope::SalesforceToMonday,
            pb::Scope::TwoWay | pb::Scope::Unspecified => Scope::TwoWay,
        }
    }

    /// Whether changes and creates may flow from `source`.
    pub fn allows_from(self, source: CoreSide) -> bool {
        matches!(
            (self, source),
            (Scope::TwoWay, _)
                | (Scope::SalesforceToMonday, CoreSide::Salesforce)
                | (Scope::MondayToSalesforce, CoreSide::Monday)
        )
    }
}

/// An integration's rules. In a one-way scope every mapping's direction is the scope's
/// (per-field directions only matter in two-way).
#[derive(Debug, Clone)]
pub struct Rules {
    pub mappings: Vec<FieldMapping>,
    pub scope: Scope,
    pub policy: ConflictPolicy,
    /// Which Salesforce records go to monday.
    pub incoming: Condition,
    /// Which monday items go to Salesforce.
    pub outgoing: Condition,
    /// Salesforce fields and monday columns whose values are redacted in run history.
    pub sensitive: BTreeSet<String>,
}

/// A setting of the spec that cannot become a rule, named by its path (`mappings[2].…`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

impl Rules {
    /// The rules of `spec` against the live `object` and `board`.
    pub fn from_spec(
        spec: &pb::IntegrationSpec,
        object: &Object,
        board: &Board,
    ) -> Result<Rules, RuleError> {
        let error = |field: String, message: String| RuleError { field, message };
        let mut mappings = Vec::with_capacity(spec.mappings.len());
        let mut sensitive = BTreeSet::new();
        for (i, m) in spec.mappings.iter().enumerate() {
            let field = object.fields.get(&m.salesforce_field).ok_or_else(|| {
                error(
                    format!("mappings[{i}].salesforce_field"),
                    format!("`{}` no longer exists", m.salesforce_field),
                )
            })?;
            let column = board.columns.get(&m.monday_column_id).ok_or_else(|| {
                error(
                    format!("mappings[{i}].monday_column_id"),
                    format!("`{}` no longer exists", m.monday_column_id),
                )
            })?;
            let direction = mapping_direction(spec.scope, m.direction);
            let options = mapping_options(m.options.as_ref());
            let mapping =
                FieldMapping::validated(field.clone(), column.clone(), direction, options)
                    .map_err(|e| error(format!("mappings[{i}]"), e.to_string()))?;
            if m.options.as_ref().is_some_and(|o| o.sensitive) {
                sensitive.insert(m.salesforce_field.clone());
                sensitive.insert(m.monday_column_id.clone());
            }
            mappings.push(mapping);
        }
        let condition = |c: &Option<pb::Conditions>, name: &str| {
            parse_conditions(c.as_ref()).map_err(|m| error(name.to_owned(), m))
        };
        Ok(Rules {
            mappings,
            scope: Scope::from_proto(spec.scope),
            policy: match spec.conflict_policy() {
                pb::ConflictPolicy::SalesforceWins => ConflictPolicy::SalesforceWins,
                pb::ConflictPolicy::MondayWins => ConflictPolicy::MondayWins,
                _ => ConflictPolicy::NewestWins,
            },
            incoming: condition(&spec.incoming_conditions, "incoming_conditions")?,
            outgoing: condition(&spec.outgoing_conditions, "outgoing_conditions")?,
            sensitive,
        })
    }
}

/// The condition tree of `conditions` (empty means any record).
pub fn parse_conditions(conditions: Option<&pb::Conditions>) -> Result<Condition, String> {
    let text = conditions.map(|c| c.json.trim()).unwrap_or_default();
    if text.is_empty() {
        return Ok(Condition::Any);
    }
    serde_json::from_str(text).map_err(|e| format!("is not a valid condition JSON: {e}"))
}

/// The direction one mapping flows in under `scope`.
pub fn mapping_direction(scope: i32, direction: i32) -> Direction {
    match Scope::from_proto(scope) {
        Scope::MondayToSalesforce => Direction::MondayToSalesforce,
        Scope::SalesforceToMonday => Direction::SalesforceToMonday,
        Scope::TwoWay => match pb::Direction::try_from(direction).unwrap_or_default() {
            pb::Direction::MondayToSalesforce => Direction::MondayToSalesforce,
            pb::Direction::SalesforceToMonday => Direction::SalesforceToMonday,
            pb::Direction::Both | pb::Direction::Unspecified => Direction::Both,
        },
    }
}

/// A mapping's conversion options as tandem-core's.
pub fn mapping_options(o: Option<&pb::ConversionOptions>) -> MappingOptions {
    let Some(o) = o else {
        return MappingOptions::default();
    };
    MappingOptions {
        create_labels: o.create_missing_labels,
        truncate_text: o.truncate,
        bool_labels: (!o.true_label.is_empty() || !o.false_label.is_empty()).then(|| BoolLabels {
            true_label: o.true_label.clone(),
            false_label: o.false_label.clone(),
        }),
        ..MappingOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(options: pb::ConversionOptions) -> pb::IntegrationSpec {
        pb::IntegrationSpec {
            scope: pb::Scope::TwoWay as i32,
            mappings: vec![pb::FieldMapping {
                salesforce_field: "Active__c".into(),
                monday_column_id: "status".into(),
                direction: pb::Direction::Both as i32,
                options: Some(options),
            }],
            ..Default::default()
        }
    }

    fn catalog() -> (Object, Board) {
        let object = Object::from_proto(&pb::DescribeObjectResponse {
            fields: vec![pb::SalesforceField {
                name: "Active__c".into(),
                salesforce_type: "boolean".into(),
                updateable: true,
                createable: true,
                ..Default::default()
            }],
            ..Default::default()
        });
        let board = Board::from_proto(&pb::GetBoardResponse {
            columns: vec![pb::MondayColumn {
                id: "status".into(),
                monday_type: "status".into(),
                labels: vec!["Live".into(), "Off".into()],
                ..Default::default()
            }],
            ..Default::default()
        });
        (object, board)
    }

    #[test]
    fn custom_checkbox_labels_and_sensitivity_reach_the_rules() {
        let (object, board) = catalog();
        let rules = Rules::from_spec(
            &spec(pb::ConversionOptions {
                true_label: "Live".into(),
                false_label: "Off".into(),
                sensitive: true,
                ..Default::default()
            }),
            &object,
            &board,
        )
        .unwrap();
        let labels = rules.mappings[0].options.bool_labels();
        assert_eq!(
            (labels.true_label.as_str(), labels.false_label.as_str()),
            ("Live", "Off")
        );
        assert!(rules.sensitive.contains("Active__c") && rules.sensitive.contains("status"));
    }

    #[test]
    fn without_custom_labels_a_board_lacking_yes_and_no_is_refused() {
        let (object, board) = catalog();
        let err =
            Rules::from_spec(&spec(pb::ConversionOptions::default()), &object, &board).unwrap_err();
        assert_eq!(err.field, "mappings[0]");
    }

    #[test]
    fn a_mapping_whose_field_is_gone_names_it() {
        let (object, board) = catalog();
        let mut spec = spec(pb::ConversionOptions::default());
        spec.mappings[0].salesforce_field = "Gone__c".into();
        let err = Rules::from_spec(&spec, &object, &board).unwrap_err();
        assert_eq!(err.field, "mappings[0].salesforce_field");
        assert!(err.message.contains("Gone__c"), "{err}");
    }

    #[test]
    fn a_one_way_scope_overrides_per_field_directions() {
        let mut s = spec(pb::ConversionOptions {
            true_label: "Live".into(),
            false_label: "Off".into(),
            ..Default::default()
        });
        s.scope = pb::Scope::SalesforceToMonday as i32;
        let (object, board) = catalog();
        let rules = Rules::from_spec(&s, &object, &board).unwrap();
        assert_eq!(rules.mappings[0].direction, Direction::SalesforceToMonday);
        assert!(!rules.scope.allows_from(CoreSide::Monday));
    }
}
