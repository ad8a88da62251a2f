//! The integration file: an `IntegrationSpec` in YAML or JSON (`.json` files), with the
//! proto's own field names so the field a validation problem names (`mappings[2].
//! salesforce_field`) is the key to fix in the file. `examples/integration.yaml` documents it.
//! Unknown keys are refused, so a typo is reported rather than silently ignored.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use tandem_proto::v1 as pb;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    monday_connection_id: String,
    #[serde(default, deserialize_with = "id_text")]
    board_id: String,
    #[serde(default, deserialize_with = "id_text")]
    group_id: String,
    #[serde(default)]
    salesforce_connection_id: String,
    #[serde(default)]
    salesforce_object: String,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    mappings: Vec<Mapping>,
    /// A condition tree (docs in libs/core's `Condition`): any YAML/JSON value, sent as JSON.
    #[serde(default)]
    incoming_conditions: Option<serde_json::Value>,
    #[serde(default)]
    outgoing_conditions: Option<serde_json::Value>,
    #[serde(default)]
    conflict_policy: Option<ConflictPolicy>,
    #[serde(default)]
    poll_interval_seconds: u32,
    #[serde(default)]
    coalescing_mode: Option<CoalescingMode>,
    #[serde(default)]
    coalescing_window_seconds: u32,
    #[serde(default)]
    debounce_seconds: u32,
    #[serde(default)]
    link_monday_column_id: String,
    #[serde(default)]
    link_salesforce_field: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mapping {
    #[serde(default)]
    monday_column_id: String,
    #[serde(default)]
    salesforce_field: String,
    #[serde(default)]
    direction: Option<Direction>,
    #[serde(default)]
    options: Option<Options>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    true_label: String,
    #[serde(default)]
    false_label: String,
    #[serde(default)]
    truncate: bool,
    #[serde(default)]
    create_missing_labels: bool,
    #[serde(default)]
    sensitive: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scope {
    TwoWay,
    MondayToSalesforce,
    SalesforceToMonday,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Direction {
    Both,
    MondayToSalesforce,
    SalesforceToMonday,
}

/// The file's names are the proto's (`newest_wins`), hence the shared suffix.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ConflictPolicy {
    NewestWins,
    SalesforceWins,
    MondayWins,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CoalescingMode {
    FixedWindow,
    LowLatency,
}

/// monday ids are numbers in monday's UI and strings in its API: accept both.
fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
        Null(()),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(t) => t,
        Id::Number(n) => n.to_string(),
        Id::Null(()) => String::new(),
    })
}

/// Reads and parses an integration file; the error names the file, and the key and line
/// at fault.
pub fn read(path: &Path) -> anyhow::Result<SpecFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, is_json(path)).with_context(|| path.display().to_string())
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn parse(text: &str, json: bool) -> anyhow::Result<SpecFile> {
    if text.trim().is_empty() {
        bail!("the file is empty");
    }
    let file = if json {
        serde_json::from_str(text)?
    } else {
        serde_norway::from_str(text)?
    };
    Ok(file)
}

impl SpecFile {
    /// Fills the connection ids the file leaves out (or replaces them) from flags.
    pub fn with_connections(mut self, monday: Option<String>, salesforce: Option<String>) -> Self {
        if let Some(id) = monday {
            self.monday_connection_id = id;
        }
        if let Some(id) = salesforce {
            self.salesforce_connection_id = id;
        }
        self
    }

    pub fn into_spec(self) -> pb::IntegrationSpec {
        // A string is taken as the condition JSON itself; anything else is encoded as JSON.
        let conditions = |value: Option<serde_json::Value>| {
            value.filter(|v| !v.is_null()).map(|v| pb::Conditions {
                json: match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            })
        };
        pb::IntegrationSpec {
            name: self.name,
            monday_connection_id: self.monday_connection_id,
            board_id: self.board_id,
            salesforce_connection_id: self.salesforce_connection_id,
            salesforce_object: self.salesforce_object,
            scope: self.scope.map_or(0, |s| match s {
                Scope::TwoWay => pb::Scope::TwoWay as i32,
                Scope::MondayToSalesforce => pb::Scope::MondayToSalesforce as i32,
                Scope::SalesforceToMonday => pb::Scope::SalesforceToMonday as i32,
            }),
            mappings: self.mappings.into_iter().map(Mapping::into_proto).collect(),
            incoming_conditions: conditions(self.incoming_conditions),
            outgoing_conditions: conditions(self.outgoing_conditions),
            conflict_policy: self.conflict_policy.map_or(0, |p| match p {
                ConflictPolicy::NewestWins => pb::ConflictPolicy::NewestWins as i32,
                ConflictPolicy::SalesforceWins => pb::ConflictPolicy::SalesforceWins as i32,
                ConflictPolicy::MondayWins => pb::ConflictPolicy::MondayWins as i32,
            }),
            poll_interval_seconds: self.poll_interval_seconds,
            coalescing_mode: self.coalescing_mode.map_or(0, |m| match m {
                CoalescingMode::FixedWindow => pb::CoalescingMode::FixedWindow as i32,
                CoalescingMode::LowLatency => pb::CoalescingMode::LowLatency as i32,
            }),
            coalescing_window_seconds: self.coalescing_window_seconds,
            debounce_seconds: self.debounce_seconds,
            group_id: self.group_id,
            link_monday_column_id: self.link_monday_column_id,
            link_salesforce_field: self.link_salesforce_field,
        }
    }
}

impl Mapping {
    fn into_proto(self) -> pb::FieldMapping {
        pb::FieldMapping {
            monday_column_id: self.monday_column_id,
            salesforce_field: self.salesforce_field,
            direction: self.direction.map_or(0, |d| match d {
                Direction::Both => pb::Direction::Both as i32,
                Direction::MondayToSalesforce => pb::Direction::MondayToSalesforce as i32,
                Direction::SalesforceToMonday => pb::Direction::SalesforceToMonday as i32,
            }),
            options: self.options.map(|o| pb::ConversionOptions {
                true_label: o.true_label,
                false_label: o.false_label,
                truncate: o.truncate,
                create_missing_labels: o.create_missing_labels,
                sensitive: o.sensitive,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_into_a_full_spec() {
        let text = include_str!("../../../examples/integration.yaml");
        let spec = parse(text, false).unwrap().into_spec();
        assert_eq!(spec.salesforce_object, "Opportunity");
        assert_eq!(spec.scope, pb::Scope::TwoWay as i32);
        assert!(spec.mappings.len() >= 3);
        assert!(
            spec.outgoing_conditions
                .as_ref()
                .is_some_and(|c| c.json.contains("\"rule\""))
        );
    }

    #[test]
    fn numeric_board_ids_and_json_files_are_accepted() {
        let spec = parse(
            r#"{"name": "n", "board_id": 42, "scope": "monday_to_salesforce"}"#,
            true,
        )
        .unwrap()
        .into_spec();
        assert_eq!(spec.board_id, "42");
        assert_eq!(spec.scope, pb::Scope::MondayToSalesforce as i32);
    }

    #[test]
    fn a_misspelt_key_is_named_with_its_place() {
        let error = parse(
            "name: n\nmappings:\n  - monday_column_id: name\n    salesforce_feld: Name\n",
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("mappings[0]"), "{error}");
        assert!(error.contains("salesforce_feld"), "{error}");
    }

    #[test]
    fn an_unknown_scope_lists_the_known_ones() {
        let error = parse("scope: sideways\n", false).unwrap_err().to_string();
        assert!(error.contains("two_way"), "{error}");
    }
}
