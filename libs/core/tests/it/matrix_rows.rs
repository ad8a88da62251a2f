//! Every row of the compatibility matrix, in every direction it allows, with real-looking
//! values: unicode, decimals, time zones, empty strings vs null, labels with commas.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};
use tandem_core::convert::{monday_to_salesforce, salesforce_to_monday};
use tandem_core::{MappingOptions, MondayKind as M, SalesforceKind as S, matrix};

use crate::{BOB_MONDAY, ctx, mapping, users};

#[path = "matrix_to_monday.rs"]
mod to_monday;
#[path = "matrix_to_salesforce.rs"]
mod to_salesforce;

use to_monday::to_monday_cases;
use to_salesforce::to_salesforce_cases;

/// Expected outcome: the JSON written, or a piece of the error message.
pub enum Want {
    Json(Json),
    Err(&'static str),
}

fn check(label: String, got: tandem_core::Result<Json>, want: &Want) {
    match (got, want) {
        (Ok(g), Want::Json(w)) => assert_eq!(&g, w, "{label}"),
        (Err(e), Want::Err(w)) => {
            assert!(
                e.to_string().contains(w),
                "{label}: error {e:?} lacks {w:?}"
            );
            assert!(
                e.is_record_error(),
                "{label}: {e} should be a per-record error"
            );
        }
        (Ok(g), Want::Err(w)) => panic!("{label}: wanted error {w:?}, got {g}"),
        (Err(e), Want::Json(w)) => panic!("{label}: wanted {w}, got error {e}"),
    }
}

#[test]
fn every_matrix_row_converts_salesforce_to_monday() {
    let users = users();
    let ctx = ctx(&users);
    for (s, m, input, want) in to_monday_cases() {
        let map = mapping(s.clone(), m.clone());
        let got = salesforce_to_monday(&map, &input, &ctx);
        check(format!("{s} → {m} {input}"), got, &want);
    }
}

#[test]
fn every_matrix_row_converts_monday_to_salesforce() {
    let users = users();
    let ctx = ctx(&users);
    for (s, m, value, text, want) in to_salesforce_cases() {
        let map = mapping(s.clone(), m.clone());
        let got = monday_to_salesforce(&map, value, text, &ctx);
        check(format!("{m} → {s} {value:?} {text:?}"), got, &want);
    }
}

#[test]
fn the_tables_cover_every_pair_and_direction_of_the_matrix() {
    let mut want = BTreeSet::new();
    for (s, m, r) in matrix::pairs() {
        if r.to_monday.allowed() {
            want.insert((s.clone(), m.clone(), "to monday"));
        }
        if r.to_salesforce.allowed() {
            want.insert((s.clone(), m.clone(), "to salesforce"));
        }
    }
    let mut got = BTreeSet::new();
    for (s, m, _, _) in to_monday_cases() {
        got.insert((s, m, "to monday"));
    }
    for (s, m, _, _, _) in to_salesforce_cases() {
        got.insert((s, m, "to salesforce"));
    }
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(missing.is_empty(), "no test case for {missing:?}");
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        extra.is_empty(),
        "cases for pairs the matrix does not allow: {extra:?}"
    );
}

#[test]
fn datetime_to_date_keeps_the_utc_time_when_asked() {
    let users = users();
    let ctx = ctx(&users);
    let mut map = mapping(S::Datetime, M::Date);
    map.options = MappingOptions {
        keep_time: true,
        ..Default::default()
    };
    let got = salesforce_to_monday(&map, &json!("2024-03-01T06:30:05.000+0000"), &ctx).unwrap();
    assert_eq!(got, json!({"date": "2024-03-01", "time": "06:30:05"}));
}

#[test]
fn phone_gets_the_default_country_and_bool_status_custom_labels() {
    let users = users();
    let ctx = ctx(&users);
    let mut map = mapping(S::Phone, M::Phone);
    map.options.default_phone_country = Some("us".into());
    let got = salesforce_to_monday(&map, &json!("+12025550169"), &ctx).unwrap();
    assert_eq!(
        got,
        json!({"phone": "+12025550169", "countryShortName": "US"})
    );

    let mut map = mapping(S::Boolean, M::Status);
    map.options.bool_labels = Some(tandem_core::BoolLabels {
        true_label: "Done".into(),
        false_label: "Working on it".into(),
    });
    assert_eq!(
        salesforce_to_monday(&map, &json!(true), &ctx).unwrap(),
        json!({"label": "Done"})
    );
    let back = monday_to_salesforce(&map, Some(r#"{"index":0}"#), None, &ctx).unwrap();
    assert_eq!(back, json!(false));
}

#[test]
fn people_write_uses_the_monday_id_of_the_email() {
    let users = users();
    let ctx = ctx(&users);
    let map = mapping(S::User, M::People);
    let got = salesforce_to_monday(&map, &json!(crate::BOB_SF), &ctx).unwrap();
    assert_eq!(
        got,
        json!({"personsAndTeams": [{"id": BOB_MONDAY, "kind": "person"}]})
    );
}

#[test]
fn pair_counts_per_direction() {
    let c = matrix::pair_counts();
    println!(
        "pairs: {} total, {} Salesforce→monday, {} monday→Salesforce, {} both ways",
        c.total, c.to_monday, c.to_salesforce, c.both
    );
    assert!(c.to_monday >= 40 && c.to_salesforce >= 40, "{c:?}");
}
