//! An integration being set up, as the mapping editor's form carries it: read from the form's
//! fields (`m.0.column`, `in.1.2.operator`, …), changed by its add/remove buttons, and turned
//! into the `IntegrationSpec` mapping-config validates and creates. Pure: no calls.

use std::collections::BTreeMap;

use tandem_proto::v1 as pb;

pub use super::conditions::{Conditions, Group, Kinds, OPERATORS, Rule, Which};
use super::conditions::{conditions_json, conditions_of};
use crate::error::Error;

/// One mapping row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub column: String,
    pub field: String,
    /// `both`, `to_salesforce` or `to_monday` (two-way only).
    pub direction: String,
    /// Conversion options: cut long text, add missing status/dropdown labels, hide values in
    /// run history, and a boolean's status labels (kept as they are; the CLI sets them).
    pub truncate: bool,
    pub create_labels: bool,
    pub sensitive: bool,
    pub true_label: String,
    pub false_label: String,
}

/// The editor's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Set when editing an existing integration (with the version read), empty in setup.
    pub integration_id: String,
    pub version: String,
    pub name: String,
    pub monday_connection_id: String,
    pub salesforce_connection_id: String,
    pub board_id: String,
    pub salesforce_object: String,
    /// `two_way`, `monday_to_salesforce` or `salesforce_to_monday`.
    pub scope: String,
    /// `newest`, `salesforce` or `monday`.
    pub conflict: String,
    pub link_column: String,
    pub link_field: String,
    pub mappings: Vec<Row>,
    pub incoming: Conditions,
    pub outgoing: Conditions,
}

/// What a button of the editor asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Show the page again (e.g. field choices for a changed column).
    Refresh,
    AddMapping,
    RemoveMapping(usize),
    AddGroup(Which),
    AddRule(Which, usize),
    RemoveRule(Which, usize, usize),
    Validate,
    Create,
    /// Saves an existing integration's changes.
    Save,
}

impl Action {
    pub fn parse(text: &str) -> Result<Action, Error> {
        let bad = || Error::bad_input("action", format!("`{text}` is not a button of this form"));
        let which = |w: &str| match w {
            "in" => Ok(Which::Incoming),
            "out" => Ok(Which::Outgoing),
            _ => Err(bad()),
        };
        let index = |n: &str| n.parse::<usize>().map_err(|_| bad());
        let parts: Vec<&str> = text.split(':').collect();
        Ok(match parts.as_slice() {
            ["refresh"] | [""] => Action::Refresh,
            ["add_mapping"] => Action::AddMapping,
            ["remove_mapping", i] => Action::RemoveMapping(index(i)?),
            ["add_group", w] => Action::AddGroup(which(w)?),
            ["add_rule", w, g] => Action::AddRule(which(w)?, index(g)?),
            ["remove_rule", w, g, r] => Action::RemoveRule(which(w)?, index(g)?, index(r)?),
            ["validate"] => Action::Validate,
            ["create"] => Action::Create,
            ["save"] => Action::Save,
            _ => return Err(bad()),
        })
    }
}

/// A group's operator and its rules by index, as the form's fields arrive.
type GroupRows = (String, BTreeMap<usize, Rule>);

/// The most rows a form may carry (mapping-config accepts 500 mappings).
const MAX_ROWS: usize = 500;

fn index(text: &str, key: &str) -> Result<usize, Error> {
    text.parse::<usize>()
        .ok()
        .filter(|i| *i < MAX_ROWS)
        .ok_or_else(|| Error::bad_input("form", format!("`{key}` is not a field of this form")))
}

impl Draft {
    /// The draft a submitted form describes, and the button pressed. Unknown fields are
    /// ignored (the CSRF token among them); rows keep the order of their indices.
    pub fn from_form(pairs: &[(String, String)]) -> Result<(Draft, Action), Error> {
        let mut draft = Draft::default();
        let mut action = Action::Refresh;
        let mut rows: BTreeMap<usize, Row> = BTreeMap::new();
        let mut conditions: [BTreeMap<usize, GroupRows>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for (key, value) in pairs {
            let value = value.trim().to_owned();
            let parts: Vec<&str> = key.split('.').collect();
            match parts.as_slice() {
                ["name"] => draft.name = value,
                ["integration_id"] => draft.integration_id = value,
                ["version"] => draft.version = value,
                ["monday_connection_id"] => draft.monday_connection_id = value,
                ["salesforce_connection_id"] => draft.salesforce_connection_id = value,
                ["board_id"] => draft.board_id = value,
                ["salesforce_object"] => draft.salesforce_object = value,
                ["scope"] => draft.scope = value,
                ["conflict_policy"] => draft.conflict = value,
                ["link_monday_column_id"] => draft.link_column = value,
                ["link_salesforce_field"] => draft.link_field = value,
                ["action"] => action = Action::parse(&value)?,
                ["m", i, part] => {
                    let row = rows.entry(index(i, key)?).or_default();
                    match *part {
                        "column" => row.column = value,
                        "field" => row.field = value,
                        "direction" => row.direction = value,
                        "truncate" => row.truncate = value == "on",
                        "create_labels" => row.create_labels = value == "on",
                        "sensitive" => row.sensitive = value == "on",
                        "true_label" => row.true_label = value,
                        "false_label" => row.false_label = value,
                        _ => {}
                    }
                }
                [w @ ("in" | "out"), "op"] => {
                    let c = if *w == "in" {
                        &mut draft.incoming
                    } else {
                        &mut draft.outgoing
                    };
                    c.op = value;
                }
                [w @ ("in" | "out"), g, rest @ ..] => {
                    let slot = &mut conditions[usize::from(*w == "out")];
                    let group = slot.entry(index(g, key)?).or_default();
                    match rest {
                        ["op"] => group.0 = value,
                        [r, part] => {
                            let rule = group.1.entry(index(r, key)?).or_default();
                            match *part {
                                "field" => rule.field = value,
                                "operator" => rule.operator = value,
                                "value" => rule.value = value,
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        draft.mappings = rows.into_values().collect();
        let [incoming, outgoing] = conditions;
        for (groups, target) in [
            (incoming, &mut draft.incoming),
            (outgoing, &mut draft.outgoing),
        ] {
            target.groups = groups
                .into_values()
                .map(|(op, rules)| Group {
                    op: if op.is_empty() { "and".to_owned() } else { op },
                    rules: rules.into_values().collect(),
                })
                .collect();
        }
        Ok((draft, action))
    }

    /// The draft a suggestion starts from: its mappings, two-way, newest change wins.
    pub fn suggested(
        name: String,
        request: &pb::SuggestMappingRequest,
        suggestion: &pb::SuggestMappingResponse,
    ) -> Draft {
        Draft {
            name,
            monday_connection_id: request.monday_connection_id.clone(),
            salesforce_connection_id: request.salesforce_connection_id.clone(),
            board_id: request.board_id.clone(),
            salesforce_object: request.salesforce_object.clone(),
            scope: "two_way".to_owned(),
            conflict: "newest".to_owned(),
            mappings: suggestion
                .suggestions
                .iter()
                .filter_map(|s| s.mapping.as_ref())
                .map(row_of)
                .collect(),
            ..Default::default()
        }
    }

    /// The draft of an existing integration (its owner's view of it), to edit.
    pub fn of_integration(integration: &pb::Integration) -> Draft {
        let spec = integration.spec.clone().unwrap_or_default();
        let scope = match pb::Scope::try_from(spec.scope).unwrap_or_default() {
            pb::Scope::MondayToSalesforce => "monday_to_salesforce",
            pb::Scope::SalesforceToMonday => "salesforce_to_monday",
            _ => "two_way",
        };
        let conflict = match pb::ConflictPolicy::try_from(spec.conflict_policy).unwrap_or_default()
        {
            pb::ConflictPolicy::SalesforceWins => "salesforce",
            pb::ConflictPolicy::MondayWins => "monday",
            _ => "newest",
        };
        let json =
            |c: &Option<pb::Conditions>| c.as_ref().map(|c| c.json.clone()).unwrap_or_default();
        Draft {
            integration_id: integration.id.clone(),
            version: integration.version.to_string(),
            name: spec.name.clone(),
            monday_connection_id: spec.monday_connection_id.clone(),
            salesforce_connection_id: spec.salesforce_connection_id.clone(),
            board_id: spec.board_id.clone(),
            salesforce_object: spec.salesforce_object.clone(),
            scope: scope.to_owned(),
            conflict: conflict.to_owned(),
            link_column: spec.link_monday_column_id.clone(),
            link_field: spec.link_salesforce_field.clone(),
            mappings: spec.mappings.iter().map(row_of).collect(),
            incoming: conditions_of(&json(&spec.incoming_conditions)),
            outgoing: conditions_of(&json(&spec.outgoing_conditions)),
        }
    }

    /// Applies an add or remove button; other actions change nothing.
    pub fn apply(&mut self, action: &Action) {
        fn conditions(d: &mut Draft, w: Which) -> &mut Conditions {
            match w {
                Which::Incoming => &mut d.incoming,
                Which::Outgoing => &mut d.outgoing,
            }
        }
        match *action {
            Action::AddMapping => self.mappings.push(Row {
                direction: "both".to_owned(),
                ..Row::default()
            }),
            Action::RemoveMapping(i) if i < self.mappings.len() => {
                self.mappings.remove(i);
            }
            Action::AddGroup(w) => conditions(self, w).groups.push(Group::default()),
            Action::AddRule(w, g) => {
                if let Some(group) = conditions(self, w).groups.get_mut(g) {
                    group.rules.push(Rule::default());
                }
            }
            Action::RemoveRule(w, g, r) => {
                let c = conditions(self, w);
                if let Some(group) = c.groups.get_mut(g)
                    && r < group.rules.len()
                {
                    group.rules.remove(r);
                    if group.rules.is_empty() {
                        c.groups.remove(g);
                    }
                }
            }
            _ => {}
        }
    }

    /// The settings mapping-config checks. A blank mapping row or rule is left out; anything
    /// that is not a choice of the form is refused, naming its field.
    pub fn spec(&self, kinds: &Kinds) -> Result<pb::IntegrationSpec, Error> {
        let scope = match self.scope.as_str() {
            "two_way" => pb::Scope::TwoWay,
            "monday_to_salesforce" => pb::Scope::MondayToSalesforce,
            "salesforce_to_monday" => pb::Scope::SalesforceToMonday,
            other => {
                return Err(Error::bad_input(
                    "scope",
                    format!(
                        "`{other}` is not a scope: choose two-way, monday → Salesforce or Salesforce → monday"
                    ),
                ));
            }
        };
        let conflict_policy = match self.conflict.as_str() {
            "newest" | "" => pb::ConflictPolicy::NewestWins,
            "salesforce" => pb::ConflictPolicy::SalesforceWins,
            "monday" => pb::ConflictPolicy::MondayWins,
            other => {
                return Err(Error::bad_input(
                    "conflict_policy",
                    format!(
                        "`{other}` is not a conflict rule: choose newest, salesforce or monday"
                    ),
                ));
            }
        };
        let mut mappings = Vec::new();
        for (i, row) in self.mappings.iter().enumerate() {
            if row.column.is_empty() && row.field.is_empty() {
                continue;
            }
            let direction = match (scope, row.direction.as_str()) {
                (pb::Scope::MondayToSalesforce, _) => pb::Direction::MondayToSalesforce,
                (pb::Scope::SalesforceToMonday, _) => pb::Direction::SalesforceToMonday,
                (_, "both" | "") => pb::Direction::Both,
                (_, "to_salesforce") => pb::Direction::MondayToSalesforce,
                (_, "to_monday") => pb::Direction::SalesforceToMonday,
                (_, other) => {
                    return Err(Error::BadInput {
                        field: "direction",
                        message: format!("mapping {}: `{other}` is not a direction", i + 1),
                    });
                }
            };
            let options = pb::ConversionOptions {
                true_label: row.true_label.clone(),
                false_label: row.false_label.clone(),
                truncate: row.truncate,
                create_missing_labels: row.create_labels,
                sensitive: row.sensitive,
            };
            mappings.push(pb::FieldMapping {
                monday_column_id: row.column.clone(),
                salesforce_field: row.field.clone(),
                direction: direction as i32,
                options: (options != pb::ConversionOptions::default()).then_some(options),
            });
        }
        Ok(pb::IntegrationSpec {
            name: self.name.clone(),
            monday_connection_id: self.monday_connection_id.clone(),
            board_id: self.board_id.clone(),
            salesforce_connection_id: self.salesforce_connection_id.clone(),
            salesforce_object: self.salesforce_object.clone(),
            scope: scope as i32,
            mappings,
            incoming_conditions: conditions_json(&self.incoming, Which::Incoming, kinds)?,
            outgoing_conditions: conditions_json(&self.outgoing, Which::Outgoing, kinds)?,
            conflict_policy: conflict_policy as i32,
            link_monday_column_id: self.link_column.clone(),
            link_salesforce_field: self.link_field.clone(),
            ..Default::default()
        })
    }
}

/// A stored or suggested mapping as a row of the form.
fn row_of(m: &pb::FieldMapping) -> Row {
    let o = m.options.clone().unwrap_or_default();
    Row {
        column: m.monday_column_id.clone(),
        field: m.salesforce_field.clone(),
        direction: direction_name(m.direction).to_owned(),
        truncate: o.truncate,
        create_labels: o.create_missing_labels,
        sensitive: o.sensitive,
        true_label: o.true_label,
        false_label: o.false_label,
    }
}

/// The form's name of a mapping's direction.
pub fn direction_name(direction: i32) -> &'static str {
    match pb::Direction::try_from(direction).unwrap_or_default() {
        pb::Direction::MondayToSalesforce => "to_salesforce",
        pb::Direction::SalesforceToMonday => "to_monday",
        _ => "both",
    }
}

#[cfg(test)]
#[path = "draft_tests.rs"]
mod tests;
