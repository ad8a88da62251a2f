//! Phone numbers through the full conversion: whatever form Salesforce holds, monday's phone
//! column gets E.164 digits and a country, and junk fails that one field with a reason.

use serde_json::json;
use tandem_core::convert::{monday_to_salesforce, salesforce_to_monday};
use tandem_core::{CoreError, MondayKind as M, SalesforceKind as S};

use crate::{ctx, mapping, users};

#[test]
fn salesforce_phone_forms_reach_monday_as_e164_with_a_country() {
    let users = users();
    let ctx = ctx(&users);
    let map = mapping(S::Phone, M::Phone);
    for (sf, phone, country) in [
        ("(415) 555-2000", "+14155552000", "US"),
        ("+44 20 7946 0958", "+442079460958", "GB"),
        ("415.555.2000", "+14155552000", "US"),
    ] {
        let got = salesforce_to_monday(&map, &json!(sf), &ctx).unwrap();
        assert_eq!(
            got,
            json!({"phone": phone, "countryShortName": country}),
            "{sf}"
        );
    }
}

#[test]
fn junk_phone_text_fails_the_field_with_a_clear_message() {
    let users = users();
    let ctx = ctx(&users);
    let mut map = mapping(S::Phone, M::Phone);
    map.salesforce.name = "MobilePhone".into();
    map.monday.id = "phone_1".into();
    let err = salesforce_to_monday(&map, &json!("ask reception"), &ctx).unwrap_err();
    assert!(err.is_record_error(), "{err:?}");
    let msg = err.to_string();
    for part in [
        "ask reception",
        "phone_1",
        "MobilePhone",
        "not a phone number",
    ] {
        assert!(msg.contains(part), "{part} missing in: {msg}");
    }
    assert!(matches!(err, CoreError::InvalidValue { .. }));
}

#[test]
fn national_numbers_take_the_context_country_unless_the_mapping_names_one() {
    let users = users();
    let gb = ctx(&users).with_phone_country("gb");
    let mut map = mapping(S::Phone, M::Phone);
    assert_eq!(
        salesforce_to_monday(&map, &json!("020 7946 0958"), &gb).unwrap(),
        json!({"phone": "+442079460958", "countryShortName": "GB"})
    );
    map.options.default_phone_country = Some("FR".into());
    assert_eq!(
        salesforce_to_monday(&map, &json!("06 12 34 56 78"), &gb).unwrap(),
        json!({"phone": "+33612345678", "countryShortName": "FR"})
    );
    let none = ctx(&users);
    let map = mapping(S::Phone, M::Phone);
    assert_eq!(
        salesforce_to_monday(&map, &json!("202-555-0169"), &none).unwrap(),
        json!({"phone": "+12025550169", "countryShortName": "US"}),
        "US when nothing names a country"
    );
}

#[test]
fn monday_phones_reach_salesforce_as_e164_and_come_back_unchanged() {
    let users = users();
    let ctx = ctx(&users);
    for kind in [S::Phone, S::String] {
        let map = mapping(kind.clone(), M::Phone);
        let stored = r#"{"phone":"+442079460958","countryShortName":"GB","changed_at":"2026-05-22T05:47:17.769Z"}"#;
        let sf = monday_to_salesforce(&map, Some(stored), None, &ctx).unwrap();
        assert_eq!(sf, json!("+442079460958"), "{kind}");
        assert_eq!(
            salesforce_to_monday(&map, &sf, &ctx).unwrap(),
            json!({"phone": "+442079460958", "countryShortName": "GB"})
        );
    }
}
