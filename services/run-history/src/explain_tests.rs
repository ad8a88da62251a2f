//! A case per row of the table (in its order, so each row is reached and none shadows
//! another), the fixes the issue found wrong, and every error code the simulators can produce
//! either has a fitting fix or, deliberately, none.

use super::{TABLE, explain, row_of};

/// (code, the field named, source kind, target kind, words the fix must hold).
#[rustfmt::skip]
const ROWS: &[(&str, &str, &str, &str, &str)] = &[
    ("REQUIRED_FIELD_MISSING", "CloseDate", "", "date", "Map a column to CloseDate"),
    ("REQUIRED_FIELD_MISSING", "CloseDate", "date", "date", "the monday column mapped to it is empty"),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "StageName", "status", "picklist", "rename the label on the board"),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Industry", "text", "picklist", "change it on monday"),
    ("CONVERSION", "StageName", "status", "picklist", "Add or activate the value in Salesforce"),
    ("CONVERSION", "status", "picklist", "status", "allow creating missing labels"),
    ("CONVERSION", "Amount", "text", "currency", "not a number Amount can hold"),
    ("CONVERSION", "CloseDate", "text", "date", "not a date CloseDate can hold"),
    ("CONVERSION", "phone", "phone", "phone", "country code"),
    ("CONVERSION", "Email", "text", "email", "not a valid email address for Email"),
    ("CONVERSION", "owner", "user", "people", "Invite the person there"),
    ("CONVERSION", "Description", "checkbox", "textarea", "compatible type"),
    ("STRING_TOO_LONG", "Name", "name", "string", "turn on truncation"),
    ("NUMBER_OUTSIDE_VALID_RANGE", "Amount", "numbers", "currency", "more digits than Amount can hold"),
    ("INVALID_FIELD_FOR_INSERT_UPDATE", "CreatedDate", "date", "datetime", "CreatedDate cannot be written"),
    ("INVALID_TYPE_ON_FIELD_IN_RECORD", "Amount", "text", "currency", "does not fit the type of Amount"),
    ("INVALID_EMAIL_ADDRESS", "Email", "email", "email", "Email must hold a valid email address"),
    ("DUPLICATE_EXTERNAL_ID", "Key__c", "text", "string", "Re-link the existing record"),
    ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "", "", "", "validation rule"),
    ("INVALID_CROSS_REFERENCE_KEY", "AccountId", "text", "reference", "AccountId points to a record that does not exist"),
    ("ENTITY_IS_DELETED", "", "", "", "Tandem unlinks it"),
    ("INVALID_FIELD", "Old__c", "text", "string", "no field Old__c"),
    ("INSUFFICIENT_ACCESS_OR_READONLY", "", "", "", "Share the record"),
    ("UNABLE_TO_LOCK_ROW", "", "", "", "Tandem retries it"),
    ("PROCESSING_HALTED", "", "", "", "another record in the same batch"),
    ("REQUEST_LIMIT_EXCEEDED", "", "", "", "daily API calls"),
    ("LIMIT_EXCEEDED", "", "", "", "Bulk API allocation"),
    ("MALFORMED_ID", "AccountId", "text", "reference", "needs a Salesforce record Id"),
    ("INVALID_TYPE", "", "", "", "object no longer exists"),
    ("ALL_OR_NONE_OPERATION_ROLLED_BACK", "", "", "", "rolled this record back"),
    ("SERVER_UNAVAILABLE", "", "", "", "Salesforce was unavailable"),
    ("INVALID_SESSION_ID", "", "", "", "Reconnect the Salesforce connection"),
    ("ColumnValueException", "status", "picklist", "status", "no such label in column status"),
    ("ColumnValueException", "phone", "phone", "phone", "refused the phone number for column phone"),
    ("ColumnValueException", "email", "email", "email", "refused the email address"),
    ("ColumnValueException", "numbers", "double", "numbers", "refused the number"),
    ("ColumnValueException", "date4", "date", "date", "refused the date"),
    ("ColumnValueException", "owner", "user", "people", "no monday user has that email"),
    ("ItemNameTooLongException", "name", "string", "name", "at most 255 characters"),
    ("InvalidGroupIdException", "", "", "", "Choose another group"),
    ("InvalidColumnIdException", "text4", "string", "text", "Column text4 no longer exists"),
    ("InvalidItemIdException", "", "", "", "linked monday item no longer exists"),
    ("InvalidBoardIdException", "", "", "", "board no longer exists"),
    ("COMPLEXITY_BUDGET_EXHAUSTED", "", "", "", "waits and retries"),
    ("UserUnauthorizedException", "", "", "", "edit rights"),
    ("ItemsLimitationException", "", "", "", "item limit"),
];

fn fields(field: &str) -> Vec<String> {
    if field.is_empty() {
        vec![]
    } else {
        vec![field.to_owned()]
    }
}

#[test]
fn each_row_of_the_table_is_reached_and_says_what_fits() {
    assert_eq!(ROWS.len(), TABLE.len(), "a case per row");
    for (i, (code, field, source, target, words)) in ROWS.iter().enumerate() {
        assert_eq!(
            row_of(code, source, target),
            Some(i),
            "{code} {source} → {target} reaches row {i}"
        );
        let text = explain(code, &fields(field), source, target).unwrap();
        assert!(text.contains(words), "{code}: `{words}` in `{text}`");
        assert!(!text.contains('{'), "{text}");
        if !field.is_empty() && TABLE[i].fix.contains("{field}") {
            assert!(text.contains(field), "{code} names {field}: {text}");
        }
    }
}

#[test]
fn the_fixes_the_issue_found_wrong_now_fit() {
    // A phone number monday refused is not about labels.
    let phone = explain("ColumnValueException", &[], "phone", "phone").unwrap();
    assert!(
        !phone.contains("label") && phone.contains("phone number"),
        "{phone}"
    );
    assert!(!phone.contains("the field"), "{phone}");
    // A mapped required field whose value was emptied: fill it in, not "map a column".
    let emptied = explain(
        "REQUIRED_FIELD_MISSING",
        &["Summary__c".into()],
        "text",
        "string",
    )
    .unwrap();
    assert!(!emptied.contains("Map a"), "{emptied}");
    assert!(emptied.contains("Fill it in on monday"), "{emptied}");
    // A number that did not convert gets no picklist advice.
    let number = explain("CONVERSION", &["Amount".into()], "text", "currency").unwrap();
    assert!(!number.contains("picklist"), "{number}");
    // No field named: the sentence still reads.
    let unnamed = explain("INVALID_FIELD_FOR_INSERT_UPDATE", &[], "", "").unwrap();
    assert!(
        unnamed.starts_with("This field cannot be written"),
        "{unnamed}"
    );
}

/// Errors the simulators produce that Tandem causes itself or handles without the user: no fix
/// is suggested for them.
const NO_FIX: &[&str] = &[
    "JSON_PARSER_ERROR",
    "METHOD_NOT_ALLOWED",
    "MISSING_ARGUMENT",
    "MALFORMED_QUERY",
    "INVALID_QUERY_FILTER_OPERATOR",
    "INVALID_REPLICATION_DATE",
    "FIELD_INTEGRITY_EXCEPTION",
    "InvalidArgumentException",
    "JsonParseException",
    "CursorException",
    "InvalidVersionException",
    "GRAPHQL_VALIDATION_FAILED",
    "InvalidColumnTypeException",
    "ColumnCreationException",
    "CorrectedValueException",
    // Tandem never undeletes a record (deletions are not propagated).
    "UNDELETE_FAILED",
    // connector-salesforce splits Bulk uploads below Salesforce's size limit itself.
    "EXCEEDED_MAX_SIZE_REQUEST",
];

#[test]
fn unknown_codes_and_tandems_own_mistakes_get_no_fix() {
    assert_eq!(explain("SOMETHING_NEW", &[], "", ""), None);
    for code in NO_FIX {
        assert_eq!(explain(code, &[], "text", "string"), None, "{code}");
    }
    // A monday value error on a kind no row knows: no guess.
    assert_eq!(explain("ColumnValueException", &[], "string", "link"), None);
}

/// Every error code the simulators' sources can answer with.
fn simulator_codes() -> std::collections::BTreeSet<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sims");
    let mut codes = std::collections::BTreeSet::new();
    let mut dirs = vec![std::path::PathBuf::from(root)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            codes.extend(codes_in(&text));
        }
    }
    codes
}

/// Codes in a source: the literals right after `SfError::new(`/`with_fields(`, an
/// `"errorCode":` key or monday's `ApiError::new(`, and every `…Exception` literal.
fn codes_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in [
        "SfError::new(",
        "SfError::with_fields(",
        "\"errorCode\": ",
        "ApiError::new(",
        "\"code\": ",
    ] {
        for (at, _) in text.match_indices(marker) {
            let after: String = text[at + marker.len()..].chars().take(120).collect();
            out.extend(literals(&after).into_iter().filter(|l| is_code(l)).take(2));
        }
    }
    out.extend(
        literals(text)
            .into_iter()
            .filter(|l| l.ends_with("Exception") && is_code(l)),
    );
    out
}

/// The closed string literals of `text`.
fn literals(text: &str) -> Vec<String> {
    let parts: Vec<&str> = text.split('"').collect();
    (1..parts.len().saturating_sub(1))
        .step_by(2)
        .map(|i| parts[i].to_owned())
        .collect()
}

fn is_code(s: &str) -> bool {
    let upper =
        s.len() > 4 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_') && s.contains('_');
    let exception = s.ends_with("Exception") && s.chars().all(|c| c.is_ascii_alphabetic());
    upper || exception
}

#[test]
fn every_error_the_simulators_can_produce_has_a_fitting_fix_or_deliberately_none() {
    let codes = simulator_codes();
    for known in [
        "REQUIRED_FIELD_MISSING",
        "ColumnValueException",
        "STRING_TOO_LONG",
    ] {
        assert!(codes.contains(known), "the scan finds {known}: {codes:?}");
    }
    let mut undecided = Vec::new();
    for code in &codes {
        let fixed = ROWS.iter().any(|(c, ..)| c == code)
            || TABLE.iter().any(|r| r.codes.contains(&code.as_str()));
        if !fixed && !NO_FIX.contains(&code.as_str()) {
            undecided.push(code.clone());
        }
    }
    assert!(
        undecided.is_empty(),
        "simulator errors with neither a fix nor a place in NO_FIX: {undecided:?}"
    );
}
