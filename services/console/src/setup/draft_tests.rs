use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn kinds() -> Kinds {
    Kinds {
        fields: [
            ("Amount".into(), "currency".into()),
            ("Name".into(), "string".into()),
        ]
        .into(),
        columns: [("status".into(), "status".into())].into(),
    }
}

#[test]
fn the_form_reads_rows_in_index_order_and_the_button_pressed() {
    let (draft, action) = Draft::from_form(&pairs(&[
        ("csrf", "x"),
        ("name", " Deals "),
        ("scope", "two_way"),
        ("m.10.column", "status"),
        ("m.10.field", "StageName"),
        ("m.2.column", "name"),
        ("m.2.field", "Name"),
        ("m.2.direction", "to_salesforce"),
        ("in.op", "and"),
        ("in.0.op", "or"),
        ("in.0.1.field", "Amount"),
        ("in.0.1.operator", "greater_than"),
        ("in.0.1.value", "1000"),
        ("action", "remove_rule:in:0:1"),
    ]))
    .unwrap();
    assert_eq!(draft.name, "Deals");
    assert_eq!(draft.mappings[0].column, "name");
    assert_eq!(draft.mappings[1].field, "StageName");
    assert_eq!(draft.incoming.op, "and");
    assert_eq!(draft.incoming.groups[0].op, "or");
    assert_eq!(draft.incoming.groups[0].rules[0].value, "1000");
    assert_eq!(action, Action::RemoveRule(Which::Incoming, 0, 1));
}

#[test]
fn an_unknown_button_or_a_huge_index_names_the_field() {
    let error = Draft::from_form(&pairs(&[("action", "drop_tables")])).unwrap_err();
    assert!(error.to_string().starts_with("action: "), "{error}");
    let error = Draft::from_form(&pairs(&[("m.99999.column", "x")])).unwrap_err();
    assert!(error.to_string().starts_with("form: "), "{error}");
}

#[test]
fn buttons_add_and_remove_rows_and_groups() {
    let mut draft = Draft::default();
    draft.apply(&Action::AddMapping);
    draft.apply(&Action::AddMapping);
    draft.apply(&Action::RemoveMapping(0));
    draft.apply(&Action::RemoveMapping(7));
    assert_eq!(draft.mappings.len(), 1);
    draft.apply(&Action::AddGroup(Which::Outgoing));
    draft.apply(&Action::AddRule(Which::Outgoing, 0));
    assert_eq!(draft.outgoing.groups[0].rules.len(), 2);
    draft.apply(&Action::RemoveRule(Which::Outgoing, 0, 0));
    draft.apply(&Action::RemoveRule(Which::Outgoing, 0, 0));
    assert!(draft.outgoing.groups.is_empty(), "an emptied group goes");
}

#[test]
fn the_spec_types_condition_values_by_the_fields_kind_and_skips_blank_rows() {
    let (draft, _) = Draft::from_form(&pairs(&[
        ("scope", "two_way"),
        ("m.0.column", "status"),
        ("m.0.field", "StageName"),
        ("m.0.direction", "to_monday"),
        ("m.1.column", ""),
        ("m.1.field", ""),
        ("in.op", "or"),
        ("in.0.op", "and"),
        ("in.0.0.field", "Amount"),
        ("in.0.0.operator", "greater_than"),
        ("in.0.0.value", "1000"),
        ("in.0.1.field", "Name"),
        ("in.0.1.operator", "is_one_of"),
        ("in.0.1.value", "Acme, Globex"),
        ("out.0.0.field", "status"),
        ("out.0.0.operator", "is_not_empty"),
    ]))
    .unwrap();
    let spec = draft.spec(&kinds()).unwrap();
    assert_eq!(spec.mappings.len(), 1);
    assert_eq!(
        spec.mappings[0].direction,
        pb::Direction::SalesforceToMonday as i32
    );
    let incoming: tandem_core::Condition =
        serde_json::from_str(&spec.incoming_conditions.unwrap().json).unwrap();
    let text = serde_json::to_string(&incoming).unwrap();
    assert!(
        text.contains(r#"{"type":"number","value":"1000"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{"type":"text","value":"Globex"}"#),
        "{text}"
    );
    let outgoing = spec.outgoing_conditions.unwrap().json;
    assert!(outgoing.contains(r#""values":[]"#), "{outgoing}");
}

#[test]
fn no_rule_means_every_record_and_bad_choices_name_their_field() {
    let draft = Draft {
        scope: "two_way".into(),
        incoming: Conditions {
            op: "or".into(),
            groups: vec![Group::default()],
        },
        ..Default::default()
    };
    assert!(draft.spec(&kinds()).unwrap().incoming_conditions.is_none());
    let bad = Draft {
        scope: "sideways".into(),
        ..Default::default()
    };
    assert!(
        bad.spec(&kinds())
            .unwrap_err()
            .to_string()
            .starts_with("scope: ")
    );
    let bad = Draft {
        scope: "two_way".into(),
        conflict: "loudest".into(),
        ..Default::default()
    };
    let error = bad.spec(&kinds()).unwrap_err().to_string();
    assert!(error.starts_with("conflict_policy: "), "{error}");
}

#[test]
fn a_stored_integration_reads_back_as_the_same_spec() {
    let (draft, _) = Draft::from_form(&pairs(&[
        ("name", "Deals"),
        ("scope", "two_way"),
        ("conflict_policy", "monday"),
        ("m.0.column", "status"),
        ("m.0.field", "StageName"),
        ("m.0.direction", "both"),
        ("m.0.create_labels", "on"),
        ("in.op", "or"),
        ("in.0.op", "and"),
        ("in.0.0.field", "Amount"),
        ("in.0.0.operator", "greater_than"),
        ("in.0.0.value", "1000"),
        ("in.1.op", "or"),
        ("in.1.0.field", "Name"),
        ("in.1.0.operator", "starts_with"),
        ("in.1.0.value", "Acme"),
    ]))
    .unwrap();
    let spec = draft.spec(&kinds()).unwrap();
    assert!(
        spec.mappings[0]
            .options
            .as_ref()
            .unwrap()
            .create_missing_labels
    );
    let integration = pb::Integration {
        id: "i".into(),
        version: 3,
        spec: Some(spec.clone()),
        ..Default::default()
    };
    let again = Draft::of_integration(&integration);
    assert_eq!(again.version, "3");
    assert_eq!(again.conflict, "monday");
    assert_eq!(again.spec(&kinds()).unwrap(), spec);
}
