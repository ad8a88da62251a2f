//! The one error type of `tandem-core`.
//!
//! Messages are written for the person who set up the integration: they name the Salesforce
//! field and/or the monday column, and the offending value, and never carry secrets.
//! Variants split into *mapping* errors (reject a configuration when it is saved) and
//! *record* errors (one record's value cannot be converted; report it, sync the rest).

use crate::{Direction, MondayKind, SalesforceKind};

/// Everything that can go wrong in the domain rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    // ---- mapping errors -------------------------------------------------------------
    /// The pair is not in the compatibility matrix.
    #[error(
        "Salesforce field {field} ({sf_kind}) cannot be mapped to monday column {column} ({monday_kind}): Tandem has no conversion between a {sf_kind} field and a {monday_kind} column"
    )]
    IncompatiblePair {
        field: String,
        sf_kind: SalesforceKind,
        column: String,
        monday_kind: MondayKind,
    },
    /// The pair converts, but not in the requested direction.
    #[error(
        "Salesforce field {field} ({sf_kind}) and monday column {column} ({monday_kind}) can only sync {allowed}, not {requested}"
    )]
    DirectionNotAllowed {
        field: String,
        sf_kind: SalesforceKind,
        column: String,
        monday_kind: MondayKind,
        requested: Direction,
        allowed: Direction,
    },
    /// The mapping would write a Salesforce field Tandem may not write.
    #[error(
        "Salesforce field {field} is read-only ({reason}), so monday column {column} cannot write to it; sync it from Salesforce to monday only"
    )]
    ReadOnlySalesforceField {
        field: String,
        column: String,
        reason: String,
    },
    /// The mapping would write a monday column Tandem may not write.
    #[error(
        "monday column {column} is a {kind} column, which is read-only, so Salesforce field {field} cannot write to it; sync it from monday to Salesforce only"
    )]
    ReadOnlyMondayColumn {
        field: String,
        column: String,
        kind: MondayKind,
    },

    /// A label the mapping needs (boolean ↔ status) is not on the column.
    #[error(
        "monday column {column} has no label {label:?}, which Salesforce field {field} needs; add it on the board, choose another label, or allow the mapping to create labels"
    )]
    MissingColumnLabel {
        field: String,
        column: String,
        label: String,
    },
    /// A converter was asked to write a read-only field or column (the merge never does).
    #[error("cannot write {target}: it is read-only ({reason})")]
    WriteToReadOnly { target: String, reason: String },

    // ---- record errors --------------------------------------------------------------
    /// A status/dropdown label that the column does not have.
    #[error(
        "label {label:?} does not exist on monday column {column}; add it on the board or allow the mapping to create labels"
    )]
    UnknownLabel { column: String, label: String },
    /// A picklist value that is not active in a restricted picklist.
    #[error(
        "value {value:?} is not an active value of the restricted picklist {field}; add or activate it in Salesforce"
    )]
    InactivePicklistValue { field: String, value: String },
    /// Text longer than the Salesforce field allows (and truncation is off).
    #[error(
        "text for Salesforce field {field} is {len} characters long but the field holds at most {max}; shorten it or allow truncation on this mapping"
    )]
    TextTooLong { field: String, len: usize, max: u32 },
    /// Text that should hold a number but does not.
    #[error("{value:?} for {target} is not a number")]
    InvalidNumber { target: String, value: String },
    /// A value that does not fit its target for another reason.
    #[error("{value:?} for {target} is not valid: {reason}")]
    InvalidValue {
        target: String,
        value: String,
        reason: String,
    },
    /// A person that has no counterpart on the other side.
    #[error(
        "{target}: no {side} user with {who}; the user must exist on both sides with the same email"
    )]
    UnknownUser {
        target: String,
        side: &'static str,
        who: String,
    },

    // ---- condition errors -----------------------------------------------------------
    /// A condition refers to a field that is not known.
    #[error("condition refers to unknown field {field}")]
    UnknownConditionField { field: String },
    /// An operator that does not fit the field's kind, or a bad operand.
    #[error("condition on {field}: {reason}")]
    InvalidCondition { field: String, reason: String },
}

impl CoreError {
    /// True for errors about one record's value (report it and go on with the others);
    /// false for configuration errors (reject the mapping or condition).
    pub fn is_record_error(&self) -> bool {
        matches!(
            self,
            Self::UnknownLabel { .. }
                | Self::InactivePicklistValue { .. }
                | Self::TextTooLong { .. }
                | Self::InvalidNumber { .. }
                | Self::InvalidValue { .. }
                | Self::UnknownUser { .. }
        )
    }
}

/// Short for `Result<T, CoreError>`.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// `"Salesforce field X"`, for error targets.
pub(crate) fn sf_target(field: &str) -> String {
    format!("Salesforce field {field}")
}

/// `"monday column X"`, for error targets.
pub(crate) fn monday_target(column: &str) -> String {
    format!("monday column {column}")
}
