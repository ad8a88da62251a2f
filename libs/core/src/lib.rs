//! The Tandem domain: field kinds, values, conversions, conditions, merge. Pure and IO-free.
//!
//! Main entry points:
//! - [`SalesforceKind::from_describe`], [`MondayKind::from_api`]: kinds from the remotes.
//! - [`matrix`]: the compatibility table ([`matrix::lookup`], [`matrix::render_markdown`]).
//! - [`validate_mapping`]: accept or reject a field mapping, with a readable reason.
//! - [`convert`]: Salesforce JSON ⇄ [`Value`] ⇄ monday column values.
//! - [`Condition`]: incoming/outgoing record filters.
//! - [`merge()`]: the three-way merge of one linked pair; [`PendingChange`]: coalescing.

pub mod coalesce;
pub mod condition;
pub mod convert;
mod describe;
mod error;
mod kinds;
mod mapping;
pub mod matrix;
pub mod merge;
mod value;

pub use coalesce::PendingChange;
pub use condition::{Condition, Operator};
pub use convert::{ConvertContext, UserDirectory, UserMap};
pub use error::{CoreError, Result};
pub use kinds::{
    ColumnLabel, MondayColumn, MondayKind, PicklistValue, SalesforceField, SalesforceKind,
};
pub use mapping::{BoolLabels, FieldMapping, MappingOptions, validate_mapping};
pub use matrix::{Conversion, Direction, Flow};
pub use merge::{ConflictPolicy, MergePlan, Shadow, SideState, merge};
pub use value::{DateTime, Value};

/// Re-exported so callers build timestamps, dates and time zones with the same types.
pub use jiff;
/// Re-exported so callers build exact decimals with the same type.
pub use rust_decimal::Decimal;
