//! Property tests of conditions: JSON round trip, and validated conditions evaluate sanely.

use proptest::prelude::*;
use proptest::sample::select;
use tandem_core::condition::{GroupOp, ValueClass};
use tandem_core::merge::Record;
use tandem_core::{Condition, Operator, Value};

const FIELDS: [(&str, ValueClass); 4] = [
    ("Name", ValueClass::Text),
    ("Amount", ValueClass::Number),
    ("IsActive__c", ValueClass::Bool),
    ("Stage", ValueClass::Labels),
];

fn class_of(field: &str) -> Option<ValueClass> {
    FIELDS.iter().find(|(f, _)| *f == field).map(|(_, c)| *c)
}

fn operand() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-cA-C, ]{0,4}".prop_map(Value::text),
        (-3i64..3).prop_map(|n| Value::Number(n.into())),
        any::<bool>().prop_map(Value::Bool),
    ]
}

fn rule() -> impl Strategy<Value = Condition> {
    use Operator::*;
    let ops = vec![
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
    ];
    (
        select(FIELDS.iter().map(|(f, _)| *f).collect::<Vec<_>>()),
        select(ops),
        proptest::collection::vec(operand(), 0..3),
    )
        .prop_map(|(f, operator, values)| Condition::Rule {
            field: f.into(),
            operator,
            values,
        })
}

fn condition() -> impl Strategy<Value = Condition> {
    let leaf = prop_oneof![1 => Just(Condition::Any), 6 => rule()];
    leaf.prop_recursive(3, 16, 4, |inner| {
        (
            select(vec![GroupOp::And, GroupOp::Or]),
            proptest::collection::vec(inner, 0..4),
        )
            .prop_map(|(op, conditions)| Condition::Group { op, conditions })
    })
}

fn record() -> impl Strategy<Value = Record> {
    (
        proptest::option::of("[a-cA-C, ]{0,4}"),
        proptest::option::of(-3i64..3),
        any::<bool>(),
        proptest::collection::vec(select(vec!["a", "b, c"]), 0..3),
    )
        .prop_map(|(name, amount, active, stage)| {
            let mut r = Record::new();
            r.insert("Name".into(), name.map(Value::text).unwrap_or_default());
            r.insert(
                "Amount".into(),
                amount.map(|n| Value::Number(n.into())).unwrap_or_default(),
            );
            r.insert("IsActive__c".into(), Value::Bool(active));
            r.insert("Stage".into(), Value::labels(stage));
            r
        })
}

proptest! {
    #[test]
    fn conditions_survive_a_json_round_trip(c in condition()) {
        let json = serde_json::to_string(&c).unwrap();
        let back: Condition = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, c);
    }

    #[test]
    fn not_equals_is_the_negation_of_equals(c in equals_rule(), r in record()) {
        prop_assert!(c.validate(&class_of).is_ok(), "{:?}", c);
        let Condition::Rule { field, values, .. } = &c else { unreachable!() };
        let negated = Condition::Rule { field: field.clone(), operator: Operator::NotEquals, values: values.clone() };
        prop_assert_ne!(c.evaluate(&r), negated.evaluate(&r));
        let or = Condition::Group { op: GroupOp::Or, conditions: vec![c.clone(), Condition::Any] };
        prop_assert!(or.evaluate(&r));
    }

    #[test]
    fn validation_accepts_exactly_the_operators_of_the_class(c in rule(), r in record()) {
        // whatever validate says, evaluating never panics; a rule on a boolean field is only
        // valid as is_true / is_false
        let ok = c.validate(&class_of).is_ok();
        let _ = c.evaluate(&r);
        if let Condition::Rule { field, operator, .. } = &c
            && field == "IsActive__c"
        {
            prop_assert_eq!(ok, matches!(operator, Operator::IsTrue | Operator::IsFalse) && matches!(&c, Condition::Rule { values, .. } if values.is_empty()));
        }
    }
}

/// A valid `equals` rule: a field with an operand of its class.
fn equals_rule() -> impl Strategy<Value = Condition> {
    prop_oneof![
        (select(vec!["Name", "Stage"]), "[a-cA-C, ]{0,4}").prop_map(|(f, t)| (f, Value::text(t))),
        (-3i64..3).prop_map(|n| ("Amount", Value::Number(n.into()))),
    ]
    .prop_filter("an operand, not empty", |(_, v)| !v.is_null())
    .prop_map(|(f, v)| Condition::rule(f, Operator::Equals, v))
}
