//! The Tandem domain: field kinds, values, conversions, conditions, merge. Pure and IO-free.
//!
//! Main entry points:
//! - [`SalesforceField::from_describe`] / [`MondayColumn::from_api`]: fields and columns
//!   from what the remotes return ([`SalesforceKind::from_describe`] and
//!   [`MondayKind::from_api`] for the kinds alone).
//! - [`matrix`]: the compatibility table ([`matrix::lookup`], [`matrix::pair_counts`],
//!   [`matrix::render_markdown`] → `docs/compatibility.md`).
//! - [`validate_mapping`] (or [`FieldMapping::validated`]): accept or reject a field mapping
//!   with a reason that names the field and the column.
//! - [`convert`]: Salesforce JSON ⇄ [`Value`] ⇄ monday column values, whole records
//!   ([`convert::read_salesforce_record`], [`convert::read_monday_item`]), with per-record
//!   errors ([`CoreError::is_record_error`]).
//! - [`Condition`]: incoming/outgoing record filters (serde JSON, `validate`, `evaluate`).
//! - [`merge()`]: the three-way merge of one linked pair → [`MergePlan`];
//!   [`PendingChange`]: coalescing of buffered changes.
//!
//! The whole trip of one change, as the orchestrator runs it:
//! ```
//! use serde_json::json;
//! use tandem_core::*;
//!
//! // mapping-config: build and validate the mapping once
//! let field = SalesforceField::from_describe(&json!({
//!     "name": "Industry", "type": "picklist", "updateable": true, "createable": true,
//!     "picklistValues": [{"value": "Energy", "label": "Energy", "active": true}]}))?;
//! let column = MondayColumn::from_api("status", "Industry", "status",
//!     Some(&json!(r#"{"labels":{"0":"Energy","1":"Banking"}}"#)));
//! let mapping = FieldMapping::validated(field, column, Direction::Both, MappingOptions::default())?;
//!
//! // orchestrator: read both sides, merge against the shadow, write, store the shadow
//! let users = UserMap::new();
//! let ctx = ConvertContext::for_org("America/New_York", &users)?;
//! let sf_value = convert::salesforce::read(&mapping.salesforce, &json!("Energy"))?;
//! let mo_value = convert::monday::read(&mapping.monday, Some(r#"{"index":1}"#), Some("Banking"), &users)?;
//! let shadow = Shadow {
//!     salesforce: [("Industry".to_string(), Value::labels(["Banking"]))].into(),
//!     monday: [("status".to_string(), Value::labels(["Banking"]))].into(),
//! };
//! let sf = SideState::new([("Industry".to_string(), sf_value)].into(), None);
//! let mo = SideState::new([("status".to_string(), mo_value)].into(), None);
//! let plan = merge(&shadow, &sf, &mo, &[mapping], ConflictPolicy::NewestWins, &ctx);
//! assert_eq!(serde_json::Value::Object(plan.monday_column_values()),
//!            json!({"status": {"label": "Energy"}}));
//! // ... after change_multiple_column_values succeeded: store plan.next_shadow
//! # Ok::<(), CoreError>(())
//! ```

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
