//! A field mapping (one Salesforce field ↔ one monday column), its options, and
//! [`validate_mapping`], which accepts or rejects it with a reason a person understands.

use serde::{Deserialize, Serialize};

use crate::matrix::{self, Direction, Rule};
use crate::{Conversion, CoreError, MondayColumn, Result, SalesforceField, SalesforceKind};

/// The two status labels a boolean maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoolLabels {
    pub true_label: String,
    pub false_label: String,
}

impl Default for BoolLabels {
    fn default() -> Self {
        Self {
            true_label: "Yes".into(),
            false_label: "No".into(),
        }
    }
}

/// Per-mapping choices. All default to the safe behaviour (no label creation, no
/// truncation). Stored by mapping-config as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MappingOptions {
    /// Write status/dropdown labels the board does not have yet (monday's
    /// `create_labels_if_missing`); otherwise such a value is a per-record error.
    pub create_labels: bool,
    /// Cut text to the Salesforce field length instead of failing the record.
    pub truncate_text: bool,
    /// Labels for boolean ↔ status (default `Yes` / `No`).
    pub bool_labels: Option<BoolLabels>,
    /// Datetime → date column: also write the time (in UTC), so nothing is lost.
    pub keep_time: bool,
    /// ISO country (e.g. `US`) of phone numbers written without a leading `+`, for a monday
    /// phone column; when unset, the conversion context's country (the org's), else `US`.
    pub default_phone_country: Option<String>,
}

impl MappingOptions {
    /// The configured boolean labels, or `Yes`/`No`.
    pub fn bool_labels(&self) -> BoolLabels {
        self.bool_labels.clone().unwrap_or_default()
    }
}

/// One mapped pair, as the orchestrator and the converters use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMapping {
    pub salesforce: SalesforceField,
    pub monday: MondayColumn,
    pub direction: Direction,
    #[serde(default)]
    pub options: MappingOptions,
}

impl FieldMapping {
    /// Builds a mapping without validating it (see [`FieldMapping::validated`]).
    pub fn new(salesforce: SalesforceField, monday: MondayColumn, direction: Direction) -> Self {
        Self {
            salesforce,
            monday,
            direction,
            options: MappingOptions::default(),
        }
    }

    /// Builds a mapping and validates it with [`validate_mapping`].
    pub fn validated(
        salesforce: SalesforceField,
        monday: MondayColumn,
        direction: Direction,
        options: MappingOptions,
    ) -> Result<Self> {
        validate_mapping(&salesforce, &monday, direction, &options)?;
        Ok(Self {
            salesforce,
            monday,
            direction,
            options,
        })
    }

    /// The matrix rule of this pair (`None` for an incompatible pair).
    pub fn rule(&self) -> Option<&'static Rule> {
        matrix::lookup(&self.salesforce.kind, &self.monday.kind)
    }

    /// The directions values may really flow: the mapping's direction, restricted to what
    /// the pair allows and never towards a read-only side. `None` when nothing may flow.
    pub fn effective_direction(&self) -> Option<Direction> {
        let rule = self.rule()?;
        let allowed = Direction::from_flags(
            rule.to_monday.allowed() && !self.monday.kind.is_read_only(),
            rule.to_salesforce.allowed() && !self.salesforce.is_read_only(),
        )?;
        self.direction.intersect(allowed)
    }

    /// The key of the Salesforce side in record maps (the field API name).
    pub fn salesforce_key(&self) -> &str {
        &self.salesforce.name
    }

    /// The key of the monday side in item maps (the column id).
    pub fn monday_key(&self) -> &str {
        &self.monday.id
    }
}

/// Checks that `sf_field` may be mapped to `monday_column` in `direction`.
///
/// Returns the matrix rule on success. Rejects, naming the field and the column:
/// an incompatible pair ([`CoreError::IncompatiblePair`]), a write towards a read-only side
/// ([`CoreError::ReadOnlySalesforceField`], [`CoreError::ReadOnlyMondayColumn`]) and a
/// direction the pair does not allow ([`CoreError::DirectionNotAllowed`]).
///
/// ```
/// use tandem_core::*;
/// let f = SalesforceField::new("Industry", SalesforceKind::Picklist);
/// let c = MondayColumn::new("status", MondayKind::Status);
/// assert!(validate_mapping(&f, &c, Direction::Both, &MappingOptions::default()).is_ok());
/// let formula = SalesforceField::new("Score__c", SalesforceKind::Formula);
/// let err = validate_mapping(&formula, &MondayColumn::new("text", MondayKind::Text),
///     Direction::Both, &MappingOptions::default()).unwrap_err();
/// assert!(err.to_string().contains("Score__c is read-only"));
/// ```
pub fn validate_mapping(
    sf_field: &SalesforceField,
    monday_column: &MondayColumn,
    direction: Direction,
    options: &MappingOptions,
) -> Result<&'static Rule> {
    let Some(rule) = matrix::lookup(&sf_field.kind, &monday_column.kind) else {
        return Err(CoreError::IncompatiblePair {
            field: sf_field.name.clone(),
            sf_kind: sf_field.kind.clone(),
            column: monday_column.id.clone(),
            monday_kind: monday_column.kind.clone(),
        });
    };
    if direction.to_salesforce() && sf_field.is_read_only() {
        return Err(CoreError::ReadOnlySalesforceField {
            field: sf_field.name.clone(),
            column: monday_column.id.clone(),
            reason: read_only_reason(sf_field).into(),
        });
    }
    if direction.to_monday() && monday_column.kind.is_read_only() {
        return Err(CoreError::ReadOnlyMondayColumn {
            field: sf_field.name.clone(),
            column: monday_column.id.clone(),
            kind: monday_column.kind.clone(),
        });
    }
    let allowed = rule.directions();
    if allowed.and_then(|a| a.intersect(direction)) != Some(direction) {
        return Err(CoreError::DirectionNotAllowed {
            field: sf_field.name.clone(),
            sf_kind: sf_field.kind.clone(),
            column: monday_column.id.clone(),
            monday_kind: monday_column.kind.clone(),
            requested: direction,
            allowed: allowed.unwrap_or(Direction::SalesforceToMonday),
        });
    }
    if let Some(labels) = &options.bool_labels
        && (labels.true_label.is_empty() || labels.true_label == labels.false_label)
    {
        return Err(CoreError::InvalidValue {
            target: format!("mapping {} ↔ {}", sf_field.name, monday_column.id),
            value: format!("{} / {}", labels.true_label, labels.false_label),
            reason: "the true and false labels must be two different, non-empty labels".into(),
        });
    }
    if rule.conversion == Conversion::BoolStatus
        && !options.create_labels
        && !monday_column.labels.is_empty()
    {
        let labels = options.bool_labels();
        for label in [labels.true_label, labels.false_label] {
            if !monday_column.has_label(&label) {
                return Err(CoreError::MissingColumnLabel {
                    field: sf_field.name.clone(),
                    column: monday_column.id.clone(),
                    label,
                });
            }
        }
    }
    Ok(rule)
}

fn read_only_reason(field: &SalesforceField) -> &'static str {
    match field.kind {
        SalesforceKind::Formula => "a formula field",
        SalesforceKind::Reference => "a lookup; lookups only sync from Salesforce",
        SalesforceKind::Id => "the record Id",
        _ => "not updateable in Salesforce",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MondayKind as M, SalesforceKind as S};

    fn check(sf: S, m: M, d: Direction) -> Result<&'static Rule> {
        validate_mapping(
            &SalesforceField::new("Field__c", sf),
            &MondayColumn::new("col_1", m),
            d,
            &MappingOptions::default(),
        )
    }

    #[test]
    fn rejections_name_field_and_column_with_a_reason() {
        let cases = [
            (
                S::Boolean,
                M::Date,
                Direction::Both,
                "no conversion between a boolean field and a date column",
            ),
            (
                S::Formula,
                M::Text,
                Direction::Both,
                "Field__c is read-only (a formula field)",
            ),
            (
                S::Reference,
                M::Text,
                Direction::MondayToSalesforce,
                "lookups only sync from Salesforce",
            ),
            (
                S::String,
                M::Mirror,
                Direction::Both,
                "col_1 is a mirror column, which is read-only",
            ),
            (S::Id, M::Text, Direction::Both, "the record Id"),
        ];
        for (sf, m, d, want) in cases {
            let msg = check(sf.clone(), m.clone(), d).unwrap_err().to_string();
            assert!(msg.contains(want), "{sf} ↔ {m}: {msg}");
            assert!(msg.contains("Field__c") && msg.contains("col_1"), "{msg}");
        }
    }

    #[test]
    fn direction_the_pair_does_not_allow_is_rejected() {
        // text fields are writable, but a text column does not hold a lookup
        let mut field = SalesforceField::new("Parent", S::String);
        field.kind = S::String;
        let err = validate_mapping(
            &field,
            &MondayColumn::new("mirror_1", M::Mirror),
            Direction::SalesforceToMonday,
            &MappingOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, CoreError::ReadOnlyMondayColumn { .. }),
            "{err}"
        );
        let not_updateable = SalesforceField {
            writable: false,
            ..SalesforceField::new("CreatedById", S::User)
        };
        let err = validate_mapping(
            &not_updateable,
            &MondayColumn::new("people", M::People),
            Direction::Both,
            &MappingOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not updateable"), "{err}");
    }

    #[test]
    fn one_way_pairs_accept_their_direction() {
        assert!(check(S::Formula, M::Text, Direction::SalesforceToMonday).is_ok());
        assert!(check(S::String, M::Mirror, Direction::MondayToSalesforce).is_ok());
        assert!(check(S::Datetime, M::Date, Direction::Both).is_ok());
    }

    #[test]
    fn equal_bool_labels_are_rejected() {
        let opts = MappingOptions {
            bool_labels: Some(BoolLabels {
                true_label: "Done".into(),
                false_label: "Done".into(),
            }),
            ..Default::default()
        };
        let err = validate_mapping(
            &SalesforceField::new("IsActive__c", S::Boolean),
            &MondayColumn::new("status", M::Status),
            Direction::Both,
            &opts,
        )
        .unwrap_err();
        assert!(err.to_string().contains("two different"), "{err}");
    }

    #[test]
    fn bool_status_needs_both_labels_on_the_column_unless_creating() {
        let field = SalesforceField::new("IsActive__c", S::Boolean);
        let col = MondayColumn::new("status", M::Status).with_labels(["Yes", "Maybe"]);
        let err = validate_mapping(&field, &col, Direction::Both, &MappingOptions::default())
            .unwrap_err();
        assert_eq!(
            err,
            CoreError::MissingColumnLabel {
                field: "IsActive__c".into(),
                column: "status".into(),
                label: "No".into()
            }
        );
        let opts = MappingOptions {
            create_labels: true,
            ..Default::default()
        };
        assert!(validate_mapping(&field, &col, Direction::Both, &opts).is_ok());
    }

    #[test]
    fn effective_direction_never_points_at_read_only() {
        let m = FieldMapping::new(
            SalesforceField::new("Score__c", S::Formula),
            MondayColumn::new("text", M::Text),
            Direction::Both,
        );
        assert_eq!(m.effective_direction(), Some(Direction::SalesforceToMonday));
    }
}
