//! Tests of the history step: notes, names and redaction.

use super::*;

#[test]
fn a_run_error_is_a_sentence_with_the_remotes_message_not_a_status_dump() {
    let status = tonic::Status::resource_exhausted(
        "salesforce API limit reached (REQUEST_LIMIT_EXCEEDED): TotalRequests Limit exceeded.",
    );
    let text = run_error(&CycleError::Remote(status));
    assert_eq!(
        text,
        "a remote's API budget is spent; the next run picks up where this one stopped: \
         salesforce API limit reached (REQUEST_LIMIT_EXCEEDED): TotalRequests Limit exceeded."
    );
    let bare = run_error(&CycleError::Remote(tonic::Status::unavailable("")));
    assert_eq!(
        bare,
        "a service or remote could not be reached; the next run retries."
    );
}

#[test]
fn errors_get_the_kinds_of_the_mapping_they_concern() {
    use tandem_core::SalesforceKind;
    use tandem_core::{Direction, FieldMapping, MondayColumn, MondayKind, SalesforceField};
    let rules = Rules {
        mappings: vec![FieldMapping::new(
            SalesforceField::new("Phone", SalesforceKind::Phone),
            MondayColumn::new("phone", MondayKind::Phone),
            Direction::Both,
        )],
        scope: tandem_catalog::Scope::TwoWay,
        policy: Default::default(),
        incoming: tandem_core::Condition::Any,
        outgoing: tandem_core::Condition::Any,
        sensitive: Default::default(),
    };
    let error = |code: &str, fields: &[&str]| pb::RemoteError {
        code: code.into(),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        ..Default::default()
    };
    let mut outcome = Outcome::default();
    let mut to_monday = Note::new(
        CoreSide::Salesforce,
        "003A",
        "17",
        pb::EventAction::Failed,
        "",
    )
    .with_changes(vec![pb::FieldChange {
        field: "phone".into(),
        ..Default::default()
    }]);
    to_monday.errors = vec![error("ColumnValueException", &[])];
    outcome.note(to_monday);
    let mut to_salesforce = Note::new(CoreSide::Monday, "17", "003A", pb::EventAction::Failed, "");
    to_salesforce.errors = vec![
        error("STRING_TOO_LONG", &["Phone"]),
        error("REQUIRED_FIELD_MISSING", &["LastName"]),
    ];
    outcome.note(to_salesforce);
    outcome.kind_errors(&rules);
    let kinds = |e: &pb::RemoteError| {
        (
            e.fields.clone(),
            e.source_kind.clone(),
            e.target_kind.clone(),
        )
    };
    assert_eq!(
        kinds(&outcome.events[0].errors[0]),
        (vec!["phone".to_owned()], "phone".into(), "phone".into()),
        "the one field written"
    );
    assert_eq!(
        kinds(&outcome.events[1].errors[0]),
        (vec!["Phone".to_owned()], "phone".into(), "phone".into())
    );
    assert_eq!(
        kinds(&outcome.events[1].errors[1]),
        (vec!["LastName".to_owned()], String::new(), String::new()),
        "no mapping supplies it"
    );
}

#[test]
fn events_are_named_from_the_records_and_a_create_from_what_it_wrote() {
    let record = |id: &str, field: &str, name: &str| pb::Record {
        id: id.into(),
        fields: [(field.to_owned(), format!("\"{name}\""))].into(),
        ..Default::default()
    };
    let pairs = [
        crate::pairs::Pair::unlinked(CoreSide::Salesforce, record("006A", "Name", "Acme")),
        crate::pairs::Pair::unlinked(CoreSide::Monday, record("17", "name", "Acme deal")),
    ];
    let mut outcome = Outcome::default();
    outcome.note(Note::new(
        CoreSide::Monday,
        "17",
        "006A",
        pb::EventAction::Updated,
        "",
    ));
    outcome.note(
        Note::new(
            CoreSide::Salesforce,
            "006A",
            "99",
            pb::EventAction::Created,
            "",
        )
        .with_changes(vec![pb::FieldChange {
            field: "name".into(),
            after: "\"Acme\"".into(),
            ..Default::default()
        }]),
    );
    outcome.name_records(&Names::of(&pairs, Some("Name")));
    let named: Vec<(&str, &str, i32)> = outcome
        .events
        .iter()
        .map(|e| {
            (
                e.source_name.as_str(),
                e.target_name.as_str(),
                e.target_side,
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("Acme deal", "Acme", pb::Side::Salesforce as i32),
            ("Acme", "Acme", pb::Side::Monday as i32)
        ]
    );
}
