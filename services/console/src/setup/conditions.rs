//! The conditions builder's state: AND/OR groups of field-operator-value rules as the form
//! carries them, typed by the kinds of the fields they name and turned into libs/core's
//! condition JSON (and back, for editing a stored integration).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tandem_core::condition::ValueClass;
use tandem_core::{MondayKind, SalesforceKind};
use tandem_proto::v1 as pb;

use crate::error::Error;

/// One condition rule: field, operator, value (a comma-separated list for `is_one_of`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub field: String,
    pub operator: String,
    pub value: String,
}

/// Rules joined by `and` or `or`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub op: String,
    pub rules: Vec<Rule>,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            op: "and".to_owned(),
            rules: vec![Rule::default()],
        }
    }
}

/// Groups joined by `and` or `or`; no rule at all means every record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditions {
    pub op: String,
    pub groups: Vec<Group>,
}

impl Default for Conditions {
    fn default() -> Self {
        Conditions {
            op: "or".to_owned(),
            groups: Vec::new(),
        }
    }
}

/// Which conditions: incoming (Salesforce records, by field) or outgoing (monday items, by
/// column). The prefix of their form fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Incoming,
    Outgoing,
}

impl Which {
    pub fn prefix(self) -> &'static str {
        match self {
            Which::Incoming => "in",
            Which::Outgoing => "out",
        }
    }

    pub fn setting(self) -> &'static str {
        match self {
            Which::Incoming => "incoming_conditions",
            Which::Outgoing => "outgoing_conditions",
        }
    }
}

/// The condition tree's JSON back as the form's groups: a rule alone, a group of rules, or a
/// group of groups of rules (deeper trees are shown as their leaves' groups).
pub fn conditions_of(json: &str) -> Conditions {
    let Ok(tree) = serde_json::from_str::<Value>(json) else {
        return Conditions::default();
    };
    let rule = |r: &Value| Rule {
        field: r["field"].as_str().unwrap_or_default().to_owned(),
        operator: r["operator"].as_str().unwrap_or_default().to_owned(),
        value: r["values"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| v["value"].as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    };
    let children = |v: &Value| v["conditions"].as_array().cloned().unwrap_or_default();
    let op = |v: &Value| v["op"].as_str().unwrap_or("and").to_owned();
    let single = |r: &Value| Group {
        op: "and".to_owned(),
        rules: vec![rule(r)],
    };
    match tree["type"].as_str() {
        Some("rule") => Conditions {
            op: "and".to_owned(),
            groups: vec![single(&tree)],
        },
        Some("group") => {
            let kids = children(&tree);
            if kids.iter().all(|k| k["type"] == "rule") && !kids.is_empty() {
                // One group of rules.
                return Conditions {
                    op: "and".to_owned(),
                    groups: vec![Group {
                        op: op(&tree),
                        rules: kids.iter().map(rule).collect(),
                    }],
                };
            }
            Conditions {
                op: op(&tree),
                groups: kids
                    .iter()
                    .map(|g| match g["type"].as_str() {
                        Some("group") => Group {
                            op: op(g),
                            rules: children(g)
                                .iter()
                                .filter(|r| r["type"] == "rule")
                                .map(rule)
                                .collect(),
                        },
                        _ => single(g),
                    })
                    .collect(),
            }
        }
        _ => Conditions::default(),
    }
}

/// The kinds of the object's fields and the board's columns (tandem-core names), by name:
/// they decide how a condition's value is typed.
#[derive(Debug, Default)]
pub struct Kinds {
    pub fields: BTreeMap<String, String>,
    pub columns: BTreeMap<String, String>,
}

impl Kinds {
    pub fn of(suggestion: &pb::SuggestMappingResponse) -> Kinds {
        Kinds {
            fields: suggestion
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.kind.clone()))
                .collect(),
            columns: suggestion
                .columns
                .iter()
                .map(|c| (c.id.clone(), c.kind.clone()))
                .collect(),
        }
    }

    fn class(&self, which: Which, name: &str) -> ValueClass {
        match which {
            Which::Incoming => self
                .fields
                .get(name)
                .and_then(|k| SalesforceKind::ALL.iter().find(|x| x.name() == k))
                .map_or(ValueClass::Text, ValueClass::of_salesforce),
            Which::Outgoing => self
                .columns
                .get(name)
                .and_then(|k| MondayKind::ALL.iter().find(|x| x.name() == k))
                .map_or(ValueClass::Text, ValueClass::of_monday),
        }
    }
}

/// The operators a rule may use, with what the page calls them.
pub const OPERATORS: &[(&str, &str)] = &[
    ("equals", "equals"),
    ("not_equals", "does not equal"),
    ("is_one_of", "is one of (comma-separated)"),
    ("contains", "contains"),
    ("starts_with", "starts with"),
    ("is_empty", "is empty"),
    ("is_not_empty", "is not empty"),
    ("greater_than", "greater than"),
    ("greater_or_equal", "at least"),
    ("less_than", "less than"),
    ("less_or_equal", "at most"),
    ("before", "before"),
    ("after", "after"),
    ("is_true", "is checked"),
    ("is_false", "is not checked"),
];

/// The condition tree's JSON (libs/core `Condition`), or none for every record.
pub(super) fn conditions_json(
    conditions: &Conditions,
    which: Which,
    kinds: &Kinds,
) -> Result<Option<pb::Conditions>, Error> {
    let setting = which.setting();
    let op = |text: &str| match text {
        "and" | "or" => Ok(text.to_owned()),
        other => Err(Error::bad_input(
            setting,
            format!("`{other}` is neither all (and) nor any (or)"),
        )),
    };
    let mut groups = Vec::new();
    for group in &conditions.groups {
        let mut rules = Vec::new();
        for rule in &group.rules {
            if rule.field.is_empty() && rule.value.is_empty() {
                continue;
            }
            if !OPERATORS.iter().any(|(o, _)| *o == rule.operator) {
                return Err(Error::bad_input(
                    setting,
                    format!("`{}` is not an operator", rule.operator),
                ));
            }
            let kind = match kinds.class(which, &rule.field) {
                ValueClass::Number => "number",
                ValueClass::Date | ValueClass::DateTime => "date",
                _ => "text",
            };
            let values: Vec<Value> = match rule.operator.as_str() {
                "is_empty" | "is_not_empty" | "is_true" | "is_false" => Vec::new(),
                "is_one_of" => rule
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| json!({"type": kind, "value": v}))
                    .collect(),
                _ => vec![json!({"type": kind, "value": rule.value})],
            };
            rules.push(json!({
                "type": "rule",
                "field": rule.field,
                "operator": rule.operator,
                "values": values,
            }));
        }
        if !rules.is_empty() {
            groups.push(json!({"type": "group", "op": op(&group.op)?, "conditions": rules}));
        }
    }
    if groups.is_empty() {
        return Ok(None);
    }
    let tree = json!({"type": "group", "op": op(&conditions.op)?, "conditions": groups});
    Ok(Some(pb::Conditions {
        json: tree.to_string(),
    }))
}
