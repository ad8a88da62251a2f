//! Incoming (Salesforce → monday) and outgoing (monday → Salesforce) record conditions.
//!
//! A condition is "any record" or a tree of AND/OR groups of field rules. It is stored as
//! JSON by mapping-config, checked with [`Condition::validate`] when saved (an operator must
//! fit the field's kind) and evaluated by the orchestrator on canonical values with
//! [`Condition::evaluate`].
//!
//! ```
//! use tandem_core::{Condition, Operator, Value, merge::Record};
//! let c: Condition = serde_json::from_str(r#"{"type":"group","op":"and","conditions":[
//!   {"type":"rule","field":"Industry","operator":"is_one_of",
//!    "values":[{"type":"text","value":"Energy"},{"type":"text","value":"Banking"}]},
//!   {"type":"rule","field":"AnnualRevenue","operator":"greater_than",
//!    "values":[{"type":"number","value":"1000000"}]}]}"#).unwrap();
//! let mut r = Record::new();
//! r.insert("Industry".into(), Value::labels(["Energy"]));
//! r.insert("AnnualRevenue".into(), Value::Number(2_000_000.into()));
//! assert!(c.evaluate(&r));
//! ```

use std::cmp::Ordering;
use std::fmt;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::merge::Record;
use crate::{CoreError, MondayKind, Result, SalesforceKind, Value};

/// A record filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// Every record passes.
    #[default]
    Any,
    /// All (`and`) or at least one (`or`) of the conditions. An empty group passes.
    Group {
        op: GroupOp,
        conditions: Vec<Condition>,
    },
    /// One field compared with zero or more operands.
    Rule {
        field: String,
        operator: Operator,
        #[serde(default)]
        values: Vec<Value>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupOp {
    And,
    Or,
}

/// Comparison operators. Text comparisons ignore case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    IsOneOf,
    Contains,
    StartsWith,
    IsEmpty,
    IsNotEmpty,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
    Before,
    After,
    IsTrue,
    IsFalse,
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self).ok();
        f.write_str(s.as_ref().and_then(|v| v.as_str()).unwrap_or("?"))
    }
}

/// What kind of value a field holds, as far as conditions care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueClass {
    Text,
    Number,
    Bool,
    Date,
    DateTime,
    Labels,
    People,
    Reference,
}

impl ValueClass {
    /// The class of a Salesforce kind.
    pub fn of_salesforce(kind: &SalesforceKind) -> ValueClass {
        use SalesforceKind as K;
        match kind {
            K::Picklist | K::Multipicklist => Self::Labels,
            k if k.is_number() => Self::Number,
            K::Boolean => Self::Bool,
            K::Date => Self::Date,
            K::Datetime => Self::DateTime,
            K::Reference | K::User => Self::Reference,
            _ => Self::Text,
        }
    }

    /// The class of a monday kind.
    pub fn of_monday(kind: &MondayKind) -> ValueClass {
        use MondayKind as K;
        match kind {
            K::Status | K::Dropdown => Self::Labels,
            K::Numbers => Self::Number,
            K::Checkbox => Self::Bool,
            K::Date => Self::DateTime,
            K::People => Self::People,
            _ => Self::Text,
        }
    }

    fn operators(self) -> &'static [Operator] {
        use Operator::*;
        match self {
            Self::Text => &[
                Equals, NotEquals, IsOneOf, Contains, StartsWith, IsEmpty, IsNotEmpty,
            ],
            Self::Number => &[
                Equals,
                NotEquals,
                IsOneOf,
                GreaterThan,
                GreaterOrEqual,
                LessThan,
                LessOrEqual,
                IsEmpty,
                IsNotEmpty,
            ],
            Self::Bool => &[IsTrue, IsFalse],
            Self::Date | Self::DateTime => &[Equals, NotEquals, Before, After, IsEmpty, IsNotEmpty],
            Self::Labels => &[Equals, NotEquals, IsOneOf, Contains, IsEmpty, IsNotEmpty],
            Self::People => &[Contains, IsEmpty, IsNotEmpty],
            Self::Reference => &[Equals, NotEquals, IsOneOf, IsEmpty, IsNotEmpty],
        }
    }

    fn accepts_operand(self, v: &Value) -> bool {
        match self {
            Self::Text | Self::Labels | Self::People | Self::Reference => {
                matches!(v, Value::Text(_))
            }
            Self::Number => matches!(v, Value::Number(_)),
            Self::Bool => false,
            Self::Date => matches!(v, Value::Date(_)),
            Self::DateTime => matches!(v, Value::Date(_) | Value::DateTime(_)),
        }
    }
}

impl Condition {
    /// A rule with one operand.
    pub fn rule(field: impl Into<String>, operator: Operator, value: Value) -> Self {
        Self::Rule {
            field: field.into(),
            operator,
            values: vec![value],
        }
    }

    /// Checks operators and operands against the fields' classes; `class_of` returns `None`
    /// for an unknown field. Use [`ValueClass::of_salesforce`] / [`ValueClass::of_monday`].
    pub fn validate(&self, class_of: &dyn Fn(&str) -> Option<ValueClass>) -> Result<()> {
        match self {
            Self::Any => Ok(()),
            Self::Group { conditions, .. } => {
                conditions.iter().try_for_each(|c| c.validate(class_of))
            }
            Self::Rule {
                field,
                operator,
                values,
            } => {
                let class = class_of(field).ok_or_else(|| CoreError::UnknownConditionField {
                    field: field.clone(),
                })?;
                let bad = |reason: String| CoreError::InvalidCondition {
                    field: field.clone(),
                    reason,
                };
                if !class.operators().contains(operator) {
                    return Err(bad(format!(
                        "operator {operator} does not fit a {class:?} field; use one of {}",
                        class
                            .operators()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                    .to_lowercase()));
                }
                let want = match operator {
                    Operator::IsEmpty
                    | Operator::IsNotEmpty
                    | Operator::IsTrue
                    | Operator::IsFalse => 0..=0,
                    Operator::IsOneOf => 1..=usize::MAX,
                    _ => 1..=1,
                };
                if !want.contains(&values.len()) {
                    return Err(bad(format!(
                        "operator {operator} takes {} value(s), got {}",
                        if *want.end() == 0 {
                            "no"
                        } else if *want.end() == 1 {
                            "one"
                        } else {
                            "one or more"
                        },
                        values.len()
                    )));
                }
                if let Some(v) = values.iter().find(|v| !class.accepts_operand(v)) {
                    return Err(bad(format!(
                        "{:?} is not a valid operand for a {class:?} field",
                        v.to_string()
                    )
                    .to_lowercase()));
                }
                Ok(())
            }
        }
    }

    /// True when the record passes. A field missing from the record counts as empty.
    pub fn evaluate(&self, record: &Record) -> bool {
        match self {
            Self::Any => true,
            Self::Group {
                op: GroupOp::And,
                conditions,
            } => conditions.iter().all(|c| c.evaluate(record)),
            Self::Group {
                op: GroupOp::Or,
                conditions,
            } => conditions.is_empty() || conditions.iter().any(|c| c.evaluate(record)),
            Self::Rule {
                field,
                operator,
                values,
            } => {
                let v = record.get(field).unwrap_or(&Value::Null);
                eval_rule(v, *operator, values)
            }
        }
    }
}

fn eval_rule(v: &Value, op: Operator, operands: &[Value]) -> bool {
    use Operator::*;
    let first = operands.first().unwrap_or(&Value::Null);
    match op {
        IsEmpty => v.is_null(),
        IsNotEmpty => !v.is_null(),
        IsTrue => *v == Value::Bool(true),
        IsFalse => *v != Value::Bool(true),
        Equals => equals(v, first),
        NotEquals => !equals(v, first),
        IsOneOf => match v {
            Value::Labels(ls) => ls.iter().any(|l| operands.iter().any(|o| text_eq(l, o))),
            _ => operands.iter().any(|o| equals(v, o)),
        },
        Contains => match (v, first) {
            (Value::Labels(ls) | Value::People(ls), o) => ls.iter().any(|l| text_eq(l, o)),
            (_, Value::Text(o)) => v
                .display_text()
                .is_some_and(|t| t.to_lowercase().contains(&o.to_lowercase())),
            _ => false,
        },
        StartsWith => match first {
            Value::Text(o) => v
                .display_text()
                .is_some_and(|t| t.to_lowercase().starts_with(&o.to_lowercase())),
            _ => false,
        },
        GreaterThan | After => compare(v, first) == Some(Ordering::Greater),
        GreaterOrEqual => matches!(compare(v, first), Some(Ordering::Greater | Ordering::Equal)),
        LessThan | Before => compare(v, first) == Some(Ordering::Less),
        LessOrEqual => matches!(compare(v, first), Some(Ordering::Less | Ordering::Equal)),
    }
}

fn text_eq(s: &str, o: &Value) -> bool {
    matches!(o, Value::Text(t) if t.to_lowercase() == s.to_lowercase())
}

fn equals(v: &Value, o: &Value) -> bool {
    match (v, o) {
        (Value::Labels(ls), o) => ls.len() == 1 && text_eq(&ls[0], o),
        (Value::Reference { id, .. }, Value::Text(t)) => id == t,
        (Value::Text(s), o) => text_eq(s, o),
        _ => compare(v, o) == Some(Ordering::Equal) || v == o,
    }
}

fn compare(v: &Value, o: &Value) -> Option<Ordering> {
    match (v, o) {
        (Value::Number(a), Value::Number(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        (Value::DateTime(a), Value::DateTime(b)) => Some(a.instant.cmp(&b.instant)),
        // A datetime against a date compares its UTC date.
        (Value::DateTime(a), Value::Date(b)) => {
            Some(a.instant.to_zoned(TimeZone::UTC).date().cmp(b))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn rec(pairs: &[(&str, Value)]) -> Record {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn t(s: &str) -> Value {
        Value::text(s)
    }

    #[test]
    fn rules_evaluate_per_operator() {
        use Operator::*;
        let d = |s: &str| Value::Date(s.parse().unwrap());
        let n = |s: &str| Value::Number(s.parse::<Decimal>().unwrap());
        let dt = Value::DateTime(crate::DateTime::utc(
            "2024-03-01T10:00:00Z".parse().unwrap(),
        ));
        let cases: Vec<(Value, Operator, Vec<Value>, bool)> = vec![
            (t("Acme Zürich"), Equals, vec![t("acme zürich")], true),
            (t("Acme"), NotEquals, vec![t("Acme")], false),
            (t("Acme"), StartsWith, vec![t("ac")], true),
            (t("Acme"), Contains, vec![t("CM")], true),
            (Value::Null, IsEmpty, vec![], true),
            (Value::Null, NotEquals, vec![t("x")], true),
            (t(""), IsNotEmpty, vec![], false),
            (n("10.50"), GreaterThan, vec![n("10.5")], false),
            (n("10.50"), GreaterOrEqual, vec![n("10.5")], true),
            (n("-1"), LessThan, vec![n("0")], true),
            (n("3"), IsOneOf, vec![n("1"), n("3.0")], true),
            (Value::Null, LessThan, vec![n("0")], false),
            (d("2024-02-29"), Before, vec![d("2024-03-01")], true),
            (dt.clone(), After, vec![d("2024-02-29")], true),
            (dt, Equals, vec![d("2024-03-01")], true),
            (Value::Bool(true), IsTrue, vec![], true),
            (Value::Null, IsFalse, vec![], true),
            (
                Value::labels(["Hot, very", "New"]),
                Contains,
                vec![t("hot, very")],
                true,
            ),
            (
                Value::labels(["Hot, very", "New"]),
                Equals,
                vec![t("New")],
                false,
            ),
            (
                Value::labels(["Energy"]),
                IsOneOf,
                vec![t("Banking"), t("energy")],
                true,
            ),
            (Value::people(["a@x.io"]), Contains, vec![t("A@x.io")], true),
            (
                Value::Reference {
                    id: "005A".into(),
                    name: None,
                },
                Equals,
                vec![t("005A")],
                true,
            ),
        ];
        for (v, op, operands, want) in cases {
            let c = Condition::Rule {
                field: "f".into(),
                operator: op,
                values: operands.clone(),
            };
            assert_eq!(
                c.evaluate(&rec(&[("f", v.clone())])),
                want,
                "{v:?} {op} {operands:?}"
            );
        }
    }

    #[test]
    fn groups_combine_with_and_or() {
        let c = Condition::Group {
            op: GroupOp::Or,
            conditions: vec![
                Condition::rule("A", Operator::Equals, t("x")),
                Condition::Group {
                    op: GroupOp::And,
                    conditions: vec![
                        Condition::rule("B", Operator::Equals, t("y")),
                        Condition::Rule {
                            field: "C".into(),
                            operator: Operator::IsNotEmpty,
                            values: vec![],
                        },
                    ],
                },
            ],
        };
        assert!(c.evaluate(&rec(&[("A", t("x"))])));
        assert!(c.evaluate(&rec(&[("B", t("y")), ("C", t("z"))])));
        assert!(!c.evaluate(&rec(&[("B", t("y"))])));
        assert!(Condition::Any.evaluate(&Record::new()));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Condition>(&json).unwrap(), c);
    }

    #[test]
    fn validate_rejects_operators_that_do_not_fit_the_kind() {
        let classes = |f: &str| match f {
            "Amount" => Some(ValueClass::of_salesforce(&SalesforceKind::Currency)),
            "IsActive__c" => Some(ValueClass::of_salesforce(&SalesforceKind::Boolean)),
            "status" => Some(ValueClass::of_monday(&MondayKind::Status)),
            _ => None,
        };
        let ok = Condition::rule("Amount", Operator::GreaterThan, Value::Number(5.into()));
        assert!(ok.validate(&classes).is_ok());
        let cases = [
            (
                Condition::rule("Amount", Operator::StartsWith, t("1")),
                "does not fit",
            ),
            (
                Condition::rule("Amount", Operator::GreaterThan, t("many")),
                "not a valid operand",
            ),
            (
                Condition::rule("IsActive__c", Operator::Equals, t("yes")),
                "does not fit",
            ),
            (
                Condition::rule("status", Operator::Before, t("x")),
                "does not fit",
            ),
            (
                Condition::rule("Nope", Operator::Equals, t("x")),
                "unknown field Nope",
            ),
            (
                Condition::Rule {
                    field: "status".into(),
                    operator: Operator::IsOneOf,
                    values: vec![],
                },
                "one or more",
            ),
        ];
        for (c, want) in cases {
            let msg = c.validate(&classes).unwrap_err().to_string();
            assert!(msg.contains(want), "{msg}");
        }
    }
}
