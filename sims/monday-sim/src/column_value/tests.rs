//! Unit tests of the column value formats.

use super::*;

fn col(kind: &str, settings: Value) -> ColumnSpec {
    ColumnSpec {
        id: "c".into(),
        kind: kind.into(),
        settings,
    }
}

fn ctx(create: bool) -> WriteCtx<'static> {
    WriteCtx {
        create_labels_if_missing: create,
        user_exists: &|id| id == 7,
        changed_at: "2026-01-01T00:00:00.000Z".into(),
    }
}

fn status() -> ColumnSpec {
    col(
        "status",
        json!({"labels": {"0": "Working on it", "1": "Done", "2": "Stuck"}}),
    )
}

#[test]
fn writes_are_stored_and_rendered_in_monday_formats() {
    let table: Vec<(&str, Value, Value, &str)> = vec![
        ("text", json!("hello"), json!("hello"), "hello"),
        ("numbers", json!("42.5"), json!("42.5"), "42.5"),
        ("numbers", json!(3), json!("3"), "3"),
        (
            "long_text",
            json!({"text": "a\nb"}),
            json!({"text": "a\nb", "changed_at": "2026-01-01T00:00:00.000Z"}),
            "a\nb",
        ),
        (
            "date",
            json!({"date": "2019-06-03", "time": "13:25:00"}),
            json!({"date": "2019-06-03", "time": "13:25:00", "icon": null, "changed_at": "2026-01-01T00:00:00.000Z"}),
            "2019-06-03 13:25",
        ),
        (
            "email",
            json!({"email": "a@b.com", "text": "A"}),
            json!({"email": "a@b.com", "text": "A", "changed_at": "2026-01-01T00:00:00.000Z"}),
            "a@b.com",
        ),
        (
            "link",
            json!({"url": "https://x.io", "text": "X"}),
            json!({"url": "https://x.io", "text": "X", "changed_at": "2026-01-01T00:00:00.000Z"}),
            "X - https://x.io",
        ),
        (
            "phone",
            json!({"phone": "+12025550169", "countryShortName": "US"}),
            json!({"phone": "+12025550169", "countryShortName": "US", "changed_at": "2026-01-01T00:00:00.000Z"}),
            "+12025550169",
        ),
        (
            "checkbox",
            json!({"checked": "true"}),
            json!({"checked": true, "changed_at": "2026-01-01T00:00:00.000Z"}),
            "v",
        ),
        (
            "checkbox",
            json!({"checked": null}),
            json!({"checked": false}),
            "",
        ),
        (
            "people",
            json!({"personsAndTeams": [{"id": 7, "kind": "person"}]}),
            json!({"personsAndTeams": [{"id": 7, "kind": "person"}], "changed_at": "2026-01-01T00:00:00.000Z"}),
            "Ann",
        ),
    ];
    for (kind, input, stored, text) in table {
        let mut c = col(kind, json!({}));
        let got = write(&mut c, Input::Json(&input), &ctx(false))
            .unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(got.as_ref(), Some(&stored), "{kind}");
        let r = render(&c, got.as_ref(), &|_| Some("Ann".into()));
        assert_eq!(r.text.as_deref(), Some(text), "{kind}");
        assert_eq!(r.value, Some(stored.to_string()), "{kind}");
    }
}

#[test]
fn status_by_label_or_index_and_unknown_label_is_column_value_exception() {
    let mut c = status();
    let v = write(&mut c, Input::Json(&json!({"label": "Done"})), &ctx(false)).unwrap();
    assert_eq!(v.unwrap()["index"], 1);
    let v = write(&mut c, Input::Json(&json!({"index": 2})), &ctx(false)).unwrap();
    assert_eq!(
        render(&c, v.as_ref(), &|_| None).text.as_deref(),
        Some("Stuck")
    );
    let err = write(&mut c, Input::Json(&json!({"label": "Nope"})), &ctx(false)).unwrap_err();
    assert_eq!(err.code, "ColumnValueException");
    assert_eq!(err.error_data["column_type"], "color");
}

#[test]
fn create_labels_if_missing_adds_a_status_label() {
    let mut c = status();
    let v = write(&mut c, Input::Json(&json!({"label": "Lost"})), &ctx(true)).unwrap();
    let idx = v.unwrap()["index"].as_i64().unwrap();
    assert!(status_labels(&c.settings).contains(&(idx, "Lost".to_string())));
    assert_ne!(idx, 5);
}

#[test]
fn read_only_and_malformed_values_are_rejected() {
    let table: Vec<(&str, Value)> = vec![
        ("text", json!({"text": "x"})),
        ("numbers", json!("abc")),
        ("date", json!({"date": "2019-13-40"})),
        (
            "people",
            json!({"personsAndTeams": [{"id": 99, "kind": "person"}]}),
        ),
        (
            "phone",
            json!({"phone": "+1202", "countryShortName": "usa"}),
        ),
        (
            "phone",
            json!({"phone": "(415) 555-2000", "countryShortName": "US"}),
        ),
        ("phone", json!({"phone": "+14155552000"})),
        ("email", json!({"email": "nope"})),
    ];
    for (kind, input) in table {
        let mut c = col(kind, json!({}));
        let err = write(&mut c, Input::Json(&input), &ctx(false)).unwrap_err();
        assert_eq!(err.code, "ColumnValueException", "{kind}");
    }
}

#[test]
fn simple_strings_follow_the_documented_forms() {
    let mut c = status();
    let v = write(&mut c, Input::Simple(Some("Done")), &ctx(false)).unwrap();
    assert_eq!(v.unwrap()["index"], 1);
    let mut d = col("date", json!({}));
    let v = write(
        &mut d,
        Input::Simple(Some("2019-06-03 13:25:00")),
        &ctx(false),
    )
    .unwrap()
    .unwrap();
    assert_eq!(v["time"], "13:25:00");
    let mut p = col("phone", json!({}));
    let v = write(&mut p, Input::Simple(Some("+12025550169 US")), &ctx(false))
        .unwrap()
        .unwrap();
    assert_eq!(v["countryShortName"], "US");
    assert_eq!(
        write(&mut c, Input::Simple(None), &ctx(false)).unwrap(),
        None
    );
}

#[test]
fn dropdown_by_labels_and_ids() {
    let mut c = col(
        "dropdown",
        json!({"labels": [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}]}),
    );
    let v = write(
        &mut c,
        Input::Json(&json!({"labels": ["B", "A"]})),
        &ctx(false),
    )
    .unwrap();
    assert_eq!(
        render(&c, v.as_ref(), &|_| None).text.as_deref(),
        Some("B, A")
    );
    assert!(write(&mut c, Input::Json(&json!({"ids": [9]})), &ctx(false)).is_err());
    let v = write(&mut c, Input::Json(&json!({"labels": ["C"]})), &ctx(true)).unwrap();
    assert_eq!(v.unwrap()["ids"], json!([3]));
}

#[test]
fn read_only_columns_refuse_writes_with_invalid_column_type() {
    for (kind, class) in [
        ("mirror", "LookupColumn"),
        ("formula", "FormulaColumn"),
        ("item_id", "ItemIdColumn"),
    ] {
        let mut c = col(kind, json!({}));
        let err = write(&mut c, Input::Json(&json!("x")), &ctx(false)).unwrap_err();
        assert_eq!(err.code, "InvalidColumnTypeException", "{kind}");
        assert_eq!(
            err.message,
            "This column type is not supported yet in the API"
        );
        assert_eq!(err.error_data["actual_type"], class, "{kind}");
    }
}

#[test]
fn simple_values_on_json_only_columns_are_corrected_value_exceptions() {
    let mut c = col("checkbox", json!({}));
    let err = write(&mut c, Input::Simple(Some("true")), &ctx(false)).unwrap_err();
    assert_eq!(err.code, "CorrectedValueException");
    assert!(
        err.message
            .starts_with("column type BooleanColumn is not supporting"),
        "{}",
        err.message
    );
}
