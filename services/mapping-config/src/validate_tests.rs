use tandem_core::{
    Direction, MondayColumn, MondayKind, PicklistValue, SalesforceField, SalesforceKind,
};

use super::*;

pub(crate) fn board() -> Board {
    let mut b = Board::default();
    for c in [
        MondayColumn::new("name", MondayKind::Name),
        MondayColumn::new("status", MondayKind::Status).with_labels(["Prospecting", "Closed Won"]),
        MondayColumn::new("numbers", MondayKind::Numbers),
        MondayColumn::new("date4", MondayKind::Date),
        MondayColumn::new("mirror", MondayKind::Mirror),
        MondayColumn::new("text_sfid", MondayKind::Text),
        MondayColumn::new("checkbox", MondayKind::Checkbox),
    ] {
        b.columns.insert(c.id.clone(), c);
    }
    b.groups.insert("topics".into());
    b
}

pub(crate) fn object() -> Object {
    let mut o = Object::default();
    let mut stage = SalesforceField::new("StageName", SalesforceKind::Picklist);
    stage.required = true;
    stage.picklist_values = vec![PicklistValue {
        value: "Prospecting".into(),
        label: "Prospecting".into(),
        active: true,
    }];
    let mut name = SalesforceField::new("Name", SalesforceKind::String);
    name.required = true;
    let mut close = SalesforceField::new("CloseDate", SalesforceKind::Date);
    close.required = true;
    for f in [
        SalesforceField::new("Id", SalesforceKind::Id),
        name,
        stage,
        close,
        SalesforceField::new("Amount", SalesforceKind::Currency),
        SalesforceField::new("Score__c", SalesforceKind::Formula),
        SalesforceField::new("Legacy_Id__c", SalesforceKind::String),
        SalesforceField::new("Description", SalesforceKind::Textarea),
    ] {
        o.fields.insert(f.name.clone(), f);
    }
    o.external_ids.insert("Legacy_Id__c".into());
    o
}

pub(crate) fn mapping(column: &str, field: &str, direction: pb::Direction) -> pb::FieldMapping {
    pb::FieldMapping {
        monday_column_id: column.into(),
        salesforce_field: field.into(),
        direction: direction as i32,
        options: None,
    }
}

pub(crate) fn good_spec() -> pb::IntegrationSpec {
    pb::IntegrationSpec {
        name: "Deals".into(),
        monday_connection_id: "m".into(),
        board_id: "1".into(),
        salesforce_connection_id: "s".into(),
        salesforce_object: "Opportunity".into(),
        scope: pb::Scope::TwoWay as i32,
        mappings: vec![
            mapping("name", "Name", pb::Direction::Both),
            mapping("status", "StageName", pb::Direction::Both),
            mapping("date4", "CloseDate", pb::Direction::Both),
            mapping("numbers", "Amount", pb::Direction::Both),
        ],
        ..Default::default()
    }
}

fn fields(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.field.as_str()).collect()
}

#[test]
fn a_good_spec_has_no_problems() {
    let spec = good_spec();
    assert_eq!(check_shape(&spec, 100), vec![]);
    assert_eq!(
        check_against(&spec, Some(&board()), Some(&object())),
        vec![]
    );
}

#[test]
fn every_problem_is_reported_at_once_naming_its_setting() {
    let mut spec = good_spec();
    spec.mappings = vec![
        mapping("name", "Name", pb::Direction::Both),
        mapping("status", "StageName", pb::Direction::Both),
        mapping("nope", "Amount", pb::Direction::Both),
        mapping("numbers", "Nope__c", pb::Direction::Both),
        mapping("checkbox", "CloseDate", pb::Direction::Both),
        mapping("text_sfid", "Score__c", pb::Direction::Both),
        mapping("date4", "Name", pb::Direction::MondayToSalesforce),
        mapping("mirror", "Description", pb::Direction::SalesforceToMonday),
    ];
    spec.incoming_conditions = Some(pb::Conditions {
        json: r#"{"type":"rule","field":"Amount","operator":"is_true"}"#.into(),
    });
    spec.outgoing_conditions = Some(pb::Conditions {
        json: r#"{"type":"rule","field":"ghost","operator":"is_empty"}"#.into(),
    });
    spec.group_id = "nowhere".into();
    let problems = check_against(&spec, Some(&board()), Some(&object()));
    let got = fields(&problems);
    for expected in [
        "mappings[2].monday_column_id",
        "mappings[3].salesforce_field",
        "mappings[4]",
        "mappings[5]",
        "mappings[6].salesforce_field",
        "mappings[7]",
        "incoming_conditions",
        "outgoing_conditions",
        "group_id",
    ] {
        assert!(
            got.contains(&expected),
            "{expected} missing from {problems:#?}"
        );
    }
    // CloseDate is "mapped" from a checkbox, which is rejected, but it still counts as
    // targeted; nothing reports it missing. The duplicate Name does not hide the first.
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("already written by mappings[0]"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("Score__c is read-only"))
    );
}

#[test]
fn required_fields_must_be_mapped_only_when_records_are_created_in_salesforce() {
    let mut spec = good_spec();
    spec.mappings.retain(|m| m.salesforce_field != "CloseDate");
    let problems = check_against(&spec, Some(&board()), Some(&object()));
    assert_eq!(fields(&problems), vec!["mappings"]);
    assert!(problems[0].message.contains("`CloseDate`"));

    spec.scope = pb::Scope::SalesforceToMonday as i32;
    assert_eq!(
        check_against(&spec, Some(&board()), Some(&object())),
        vec![]
    );

    // Mapped only towards monday does not count in two-way.
    spec.scope = pb::Scope::TwoWay as i32;
    spec.mappings.push(mapping(
        "date4",
        "CloseDate",
        pb::Direction::SalesforceToMonday,
    ));
    let problems = check_against(&spec, Some(&board()), Some(&object()));
    assert!(
        problems.iter().any(|p| p.message.contains("`CloseDate`")),
        "{problems:?}"
    );
}

#[test]
fn shape_problems_name_their_settings() {
    let mut spec = pb::IntegrationSpec {
        poll_interval_seconds: 5,
        coalescing_window_seconds: 10,
        debounce_seconds: 11,
        link_salesforce_field: "Id".into(),
        ..Default::default()
    };
    spec.incoming_conditions = Some(pb::Conditions {
        json: "{not json".into(),
    });
    spec.mappings = vec![pb::FieldMapping::default(); MAX_MAPPINGS + 1];
    let problems = check_shape(&spec, MAX_SPEC_BYTES + 1);
    let got = fields(&problems);
    for expected in [
        "spec",
        "mappings",
        "name",
        "monday_connection_id",
        "board_id",
        "salesforce_connection_id",
        "salesforce_object",
        "scope",
        "poll_interval_seconds",
        "debounce_seconds",
        "incoming_conditions",
        "link_monday_column_id",
    ] {
        assert!(
            got.contains(&expected),
            "{expected} missing from {problems:#?}"
        );
    }
}

#[test]
fn link_keys_must_identify_a_record() {
    let cases = [
        ("text_sfid", "Id", vec![]),
        ("text_sfid", "Legacy_Id__c", vec![]),
        ("text_sfid", "Description", vec!["link_salesforce_field"]),
        ("numbers", "Id", vec!["link_monday_column_id"]),
        (
            "ghost",
            "Ghost__c",
            vec!["link_monday_column_id", "link_salesforce_field"],
        ),
    ];
    for (column, field, expected) in cases {
        let mut spec = good_spec();
        spec.link_monday_column_id = column.into();
        spec.link_salesforce_field = field.into();
        let problems = check_against(&spec, Some(&board()), Some(&object()));
        assert_eq!(
            fields(&problems),
            expected,
            "{column} / {field}: {problems:?}"
        );
    }
}

#[test]
fn one_way_scopes_force_the_direction_of_every_mapping() {
    let cases = [
        (
            pb::Scope::TwoWay,
            pb::Direction::Unspecified,
            Direction::Both,
        ),
        (
            pb::Scope::TwoWay,
            pb::Direction::SalesforceToMonday,
            Direction::SalesforceToMonday,
        ),
        (
            pb::Scope::MondayToSalesforce,
            pb::Direction::Both,
            Direction::MondayToSalesforce,
        ),
        (
            pb::Scope::SalesforceToMonday,
            pb::Direction::MondayToSalesforce,
            Direction::SalesforceToMonday,
        ),
    ];
    for (scope, direction, expected) in cases {
        assert_eq!(mapping_direction(scope as i32, direction as i32), expected);
    }
}

#[test]
fn polling_that_would_spend_most_of_a_plans_daily_calls_is_warned_about() {
    let spec = |poll: u32| pb::IntegrationSpec {
        poll_interval_seconds: poll,
        ..Default::default()
    };
    // 3-minute polling: 480 calls a day. Fine on Pro, too much for a Free plan's 200.
    assert_eq!(polls_per_day(0), 480);
    assert!(budget_warnings(&spec(0), "pro", 0).is_empty());
    let warned = budget_warnings(&spec(0), "free", 0);
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0].field, "poll_interval_seconds");
    assert!(
        warned[0].message.contains("480 monday API calls a day"),
        "{warned:?}"
    );
    assert!(warned[0].message.contains("200 a day"), "{warned:?}");
    assert!(warned[0].message.contains("poll every 900 s"), "{warned:?}");
    // Basic allows 1,000: one integration at 3 minutes is fine, a second one is not.
    assert!(budget_warnings(&spec(0), "basic", 0).is_empty());
    let shared = budget_warnings(&spec(0), "Basic", 480);
    assert!(
        shared[0].message.contains("960 with the other"),
        "{shared:?}"
    );
    // Unknown tiers make no projection.
    assert!(budget_warnings(&spec(30), "", 0).is_empty());
}

#[test]
fn an_integration_that_creates_items_is_told_the_key_column_will_be_added_and_why() {
    let mut spec = pb::IntegrationSpec {
        board_id: "42".into(),
        scope: pb::Scope::TwoWay as i32,
        ..Default::default()
    };
    let notice = key_column_notice(&spec, &board()).expect("a board without the key column");
    assert_eq!(notice.field, "board_id");
    assert!(
        notice
            .message
            .contains("add a text column `tandem_key` to board 42")
            && notice.message.contains("instead of making a second one"),
        "{}",
        notice.message
    );
    // monday → Salesforce only never creates items on the board.
    spec.scope = pb::Scope::MondayToSalesforce as i32;
    assert_eq!(key_column_notice(&spec, &board()), None);
    // A board that has the column (by title) gets no notice.
    spec.scope = pb::Scope::SalesforceToMonday as i32;
    let mut with_key = board();
    let mut key = MondayColumn::new("text9", MondayKind::Text);
    key.title = "tandem_key".into();
    with_key.columns.insert(key.id.clone(), key);
    assert_eq!(key_column_notice(&spec, &with_key), None);
}
