//! Every row of the compatibility matrix, in every direction it allows, with real-looking
//! values: unicode, decimals, time zones, empty strings vs null, labels with commas.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};
use tandem_core::convert::{monday_to_salesforce, salesforce_to_monday};
use tandem_core::{MappingOptions, MondayKind as M, SalesforceKind as S, matrix};

use crate::{ANN_SF, BOB_MONDAY, ctx, mapping, users};

/// Expected outcome: the JSON written, or a piece of the error message.
enum Want {
    Json(Json),
    Err(&'static str),
}
use Want::{Err as E, Json as J};

fn to_monday_cases() -> Vec<(S, M, Json, Want)> {
    let long = "ü".repeat(100);
    vec![
        (
            S::String,
            M::Text,
            json!("Zürich – Ünïcode ✓ 日本"),
            J(json!("Zürich – Ünïcode ✓ 日本")),
        ),
        (S::String, M::Text, json!(""), J(json!(""))),
        (S::String, M::Text, Json::Null, J(json!(""))),
        (
            S::String,
            M::LongText,
            json!("line 1\nline 2"),
            J(json!({"text": "line 1\nline 2"})),
        ),
        (S::String, M::LongText, Json::Null, J(json!({}))),
        (
            S::String,
            M::Name,
            json!("Acme, Inc."),
            J(json!("Acme, Inc.")),
        ),
        (
            S::String,
            M::Name,
            Json::Null,
            E("item name cannot be empty"),
        ),
        (S::Textarea, M::Text, json!(long), J(json!(long))),
        (
            S::Textarea,
            M::LongText,
            json!("Ställ\r\nfrågor"),
            J(json!({"text": "Ställ\r\nfrågor"})),
        ),
        (
            S::Textarea,
            M::Name,
            json!("Burlington Textiles"),
            J(json!("Burlington Textiles")),
        ),
        (
            S::Double,
            M::Numbers,
            json!(1234.5678),
            J(json!("1234.5678")),
        ),
        (S::Currency, M::Numbers, json!(1000.0), J(json!("1000"))),
        (S::Currency, M::Numbers, Json::Null, J(json!(""))),
        (S::Percent, M::Numbers, json!(12.5), J(json!("12.5"))),
        (S::Int, M::Numbers, json!(42), J(json!("42"))),
        (
            S::Long,
            M::Numbers,
            json!(-9007199254740991i64),
            J(json!("-9007199254740991")),
        ),
        (
            S::Boolean,
            M::Checkbox,
            json!(true),
            J(json!({"checked": "true"})),
        ),
        (S::Boolean, M::Checkbox, json!(false), J(Json::Null)),
        (
            S::Date,
            M::Date,
            json!("2024-02-29"),
            J(json!({"date": "2024-02-29"})),
        ),
        (S::Date, M::Date, Json::Null, J(json!({}))),
        (
            S::Picklist,
            M::Status,
            json!("Customer - Direct"),
            J(json!({"label": "Customer - Direct"})),
        ),
        (
            S::Picklist,
            M::Status,
            json!("Other, misc"),
            J(json!({"label": "Other, misc"})),
        ),
        (
            S::Picklist,
            M::Status,
            json!("Legacy"),
            E("label \"Legacy\" does not exist on monday column col_1"),
        ),
        (
            S::Picklist,
            M::Dropdown,
            json!("Other, misc"),
            J(json!({"labels": ["Other, misc"]})),
        ),
        (
            S::Url,
            M::Link,
            json!("https://acme.example.com/a?b=1"),
            J(
                json!({"url": "https://acme.example.com/a?b=1", "text": "https://acme.example.com/a?b=1"}),
            ),
        ),
        (
            S::Phone,
            M::Phone,
            json!("+1 (202) 555-0169"),
            J(json!({"phone": "+1 (202) 555-0169"})),
        ),
        (
            S::Email,
            M::Email,
            json!("ann.lee@example.com"),
            J(json!({"email": "ann.lee@example.com", "text": "ann.lee@example.com"})),
        ),
        (
            S::User,
            M::People,
            json!(ANN_SF),
            J(json!({"personsAndTeams": [{"id": 4616627, "kind": "person"}]})),
        ),
        (
            S::User,
            M::People,
            json!("005xx0000000000AAA"),
            E("no known Salesforce user with Id 005xx0000000000AAA"),
        ),
        (
            S::User,
            M::Text,
            json!(ANN_SF),
            J(json!("ann.lee@example.com")),
        ),
        (
            S::User,
            M::Email,
            json!(ANN_SF),
            J(json!({"email": "ann.lee@example.com", "text": "ann.lee@example.com"})),
        ),
        (
            S::Reference,
            M::Text,
            json!("001dM00003jU9GyQAK"),
            J(json!("001dM00003jU9GyQAK")),
        ),
        (S::Reference, M::LongText, Json::Null, J(json!({}))),
        (
            S::Id,
            M::Text,
            json!("001dM00003jU9GyQAK"),
            J(json!("001dM00003jU9GyQAK")),
        ),
        (S::Formula, M::Text, json!(12.50), J(json!("12.5"))),
        (
            S::Formula,
            M::LongText,
            json!("Hot 🔥"),
            J(json!({"text": "Hot 🔥"})),
        ),
        (
            S::Phone,
            M::Text,
            json!("+44 20 7946 0958"),
            J(json!("+44 20 7946 0958")),
        ),
        (
            S::Phone,
            M::LongText,
            json!("(02) 9374 4000"),
            J(json!({"text": "(02) 9374 4000"})),
        ),
        (
            S::String,
            M::Phone,
            json!("+1 202 555 0169"),
            J(json!({"phone": "+1 202 555 0169"})),
        ),
        (
            S::Textarea,
            M::Phone,
            json!("+33 1 09 75 83 51"),
            J(json!({"phone": "+33 1 09 75 83 51"})),
        ),
        (
            S::Email,
            M::Text,
            json!("bob.ng@example.com"),
            J(json!("bob.ng@example.com")),
        ),
        (
            S::Email,
            M::LongText,
            json!("bob.ng@example.com"),
            J(json!({"text": "bob.ng@example.com"})),
        ),
        (
            S::String,
            M::Email,
            json!("zoë@exämple.org"),
            J(json!({"email": "zoë@exämple.org", "text": "zoë@exämple.org"})),
        ),
        (
            S::String,
            M::Email,
            json!("not an email"),
            E("not an email address"),
        ),
        (
            S::Textarea,
            M::Email,
            json!("ops@example.io"),
            J(json!({"email": "ops@example.io", "text": "ops@example.io"})),
        ),
        (
            S::Url,
            M::Text,
            json!("https://例え.jp/パス"),
            J(json!("https://例え.jp/パス")),
        ),
        (
            S::Url,
            M::LongText,
            json!("http://x.io"),
            J(json!({"text": "http://x.io"})),
        ),
        (S::Double, M::Text, json!(0.1), J(json!("0.1"))),
        (
            S::Double,
            M::LongText,
            json!(-0.000125),
            J(json!({"text": "-0.000125"})),
        ),
        (S::Currency, M::Text, json!(1000.0), J(json!("1000"))),
        (
            S::Currency,
            M::LongText,
            json!(99.99),
            J(json!({"text": "99.99"})),
        ),
        (S::Percent, M::Text, json!(7.25), J(json!("7.25"))),
        (S::Percent, M::LongText, Json::Null, J(json!({}))),
        (S::Int, M::Text, json!(-17), J(json!("-17"))),
        (S::Int, M::LongText, json!(0), J(json!({"text": "0"}))),
        (
            S::Long,
            M::Text,
            json!(1234567890123i64),
            J(json!("1234567890123")),
        ),
        (S::Long, M::LongText, json!(5), J(json!({"text": "5"}))),
        (S::String, M::Numbers, json!(" 42.50 "), J(json!("42.5"))),
        (
            S::String,
            M::Numbers,
            json!("12 apples"),
            E("\"12 apples\" for Salesforce field Field__c is not a number"),
        ),
        (S::Textarea, M::Numbers, json!("-3"), J(json!("-3"))),
        (
            S::Picklist,
            M::Text,
            json!("Prospect"),
            J(json!("Prospect")),
        ),
        (
            S::Picklist,
            M::LongText,
            json!("Other, misc"),
            J(json!({"text": "Other, misc"})),
        ),
        (
            S::String,
            M::Status,
            json!("Done"),
            J(json!({"label": "Done"})),
        ),
        (
            S::String,
            M::Status,
            json!("Blocked"),
            E("label \"Blocked\" does not exist"),
        ),
        // 06:30 UTC on 1 March is still 29 February in Los Angeles (UTC-8).
        (
            S::Datetime,
            M::Date,
            json!("2024-03-01T06:30:00.000+0000"),
            J(json!({"date": "2024-02-29"})),
        ),
        (
            S::Datetime,
            M::Date,
            json!("2024-07-04T12:00:00.000+0000"),
            J(json!({"date": "2024-07-04"})),
        ),
        (
            S::Multipicklist,
            M::Dropdown,
            json!("Prospect;Other, misc"),
            J(json!({"labels": ["Prospect", "Other, misc"]})),
        ),
        (S::Multipicklist, M::Dropdown, json!(""), J(json!({}))),
        (
            S::Boolean,
            M::Status,
            json!(true),
            J(json!({"label": "Yes"})),
        ),
        (
            S::Boolean,
            M::Status,
            json!(false),
            J(json!({"label": "No"})),
        ),
        (
            S::Time,
            M::Text,
            json!("13:30:00.000Z"),
            J(json!("13:30:00.000Z")),
        ),
        (
            S::Time,
            M::LongText,
            json!("08:05:00.000Z"),
            J(json!({"text": "08:05:00.000Z"})),
        ),
    ]
}

/// (Salesforce kind, monday kind, column `value` string, column `text`, expected).
type SfCase = (S, M, Option<&'static str>, Option<&'static str>, Want);

fn to_salesforce_cases() -> Vec<SfCase> {
    vec![
        (
            S::String,
            M::Text,
            Some(r#""Zürich, Schweiz""#),
            Some("Zürich, Schweiz"),
            J(json!("Zürich, Schweiz")),
        ),
        (S::String, M::Text, Some(r#""""#), Some(""), J(Json::Null)),
        (S::String, M::Text, None, Some(""), J(Json::Null)),
        (
            S::String,
            M::Text,
            Some(
                r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#,
            ),
            None,
            E("82 characters long but the field holds at most 80"),
        ),
        (
            S::String,
            M::LongText,
            Some(r#"{"text":"a\nb"}"#),
            Some("a\nb"),
            J(json!("a\nb")),
        ),
        (
            S::String,
            M::Name,
            None,
            Some("Acme, Inc."),
            J(json!("Acme, Inc.")),
        ),
        (
            S::Textarea,
            M::Text,
            Some(r#""日本語テキスト""#),
            None,
            J(json!("日本語テキスト")),
        ),
        (
            S::Textarea,
            M::LongText,
            Some("{}"),
            Some(""),
            J(Json::Null),
        ),
        (
            S::Textarea,
            M::Name,
            None,
            Some("Item 1"),
            J(json!("Item 1")),
        ),
        (
            S::Double,
            M::Numbers,
            Some(r#""1234.5678""#),
            Some("1234.5678"),
            J(json!(1234.5678)),
        ),
        (
            S::Currency,
            M::Numbers,
            Some(r#""3""#),
            Some("3"),
            J(json!(3)),
        ),
        (
            S::Percent,
            M::Numbers,
            Some(r#""0.5""#),
            None,
            J(json!(0.5)),
        ),
        (
            S::Int,
            M::Numbers,
            Some(r#""1.5""#),
            None,
            E("holds whole numbers only"),
        ),
        (S::Long, M::Numbers, None, Some(""), J(Json::Null)),
        (
            S::Boolean,
            M::Checkbox,
            Some(r#"{"checked":"true","changed_at":"2026-05-22T05:47:17.769Z"}"#),
            Some("v"),
            J(json!(true)),
        ),
        (
            S::Boolean,
            M::Checkbox,
            Some(r#"{"checked":false}"#),
            Some(""),
            J(json!(false)),
        ),
        (S::Boolean, M::Checkbox, None, Some(""), J(json!(false))),
        (
            S::Date,
            M::Date,
            Some(r#"{"date":"2022-07-19","icon":null,"changed_at":"2022-07-21T12:00:00.000Z"}"#),
            Some("2022-07-19"),
            J(json!("2022-07-19")),
        ),
        (
            S::Date,
            M::Date,
            Some(r#"{"date":"2022-07-19","time":"23:30:00"}"#),
            None,
            J(json!("2022-07-19")),
        ),
        (
            S::Picklist,
            M::Status,
            Some(r#"{"index":3,"changed_at":"2026-05-22T05:47:17.769Z"}"#),
            Some("Prospect"),
            J(json!("Prospect")),
        ),
        (
            S::Picklist,
            M::Status,
            Some(r#"{"index":1}"#),
            Some("Done"),
            E("\"Done\" is not an active value of the restricted picklist Field__c"),
        ),
        (
            S::Picklist,
            M::Dropdown,
            Some(r#"{"ids":[2]}"#),
            Some("Other, misc"),
            J(json!("Other, misc")),
        ),
        (
            S::Picklist,
            M::Dropdown,
            Some(r#"{"ids":[0,1]}"#),
            None,
            E("several labels"),
        ),
        (
            S::Url,
            M::Link,
            Some(r#"{"url":"https://x.io/ä","text":"X"}"#),
            Some("X - https://x.io/ä"),
            J(json!("https://x.io/ä")),
        ),
        (
            S::Phone,
            M::Phone,
            Some(r#"{"phone":"+12025550169","countryShortName":"US"}"#),
            None,
            J(json!("+12025550169")),
        ),
        (
            S::Email,
            M::Email,
            Some(r#"{"email":"ann@example.com","text":"Ann"}"#),
            Some("Ann"),
            J(json!("ann@example.com")),
        ),
        (
            S::User,
            M::People,
            Some(r#"{"personsAndTeams":[{"id":4616627,"kind":"person"}]}"#),
            None,
            J(json!(ANN_SF)),
        ),
        (
            S::User,
            M::People,
            Some(
                r#"{"personsAndTeams":[{"id":4616627,"kind":"person"},{"id":51166,"kind":"person"}]}"#,
            ),
            None,
            E("several people"),
        ),
        (
            S::User,
            M::People,
            Some(r#"{"personsAndTeams":[{"id":51166,"kind":"team"}]}"#),
            None,
            E("teams cannot be synced"),
        ),
        (
            S::User,
            M::Text,
            Some(r#""ANN.LEE@example.com""#),
            None,
            J(json!(ANN_SF)),
        ),
        (
            S::User,
            M::Text,
            Some(r#""nobody@example.com""#),
            None,
            E("no Salesforce user with email nobody@example.com"),
        ),
        (
            S::User,
            M::Email,
            Some(r#"{"email":"ann.lee@example.com","text":"Ann"}"#),
            None,
            J(json!(ANN_SF)),
        ),
        (
            S::Phone,
            M::Text,
            Some(r#""+44 20 7946 0958""#),
            None,
            J(json!("+44 20 7946 0958")),
        ),
        (
            S::Phone,
            M::LongText,
            Some(r#"{"text":"555-0100"}"#),
            None,
            J(json!("555-0100")),
        ),
        (
            S::String,
            M::Phone,
            Some(r#"{"phone":"+442079460958","countryShortName":"GB"}"#),
            None,
            J(json!("+442079460958")),
        ),
        (S::Textarea, M::Phone, Some("{}"), Some(""), J(Json::Null)),
        (
            S::Email,
            M::Text,
            Some(r#""bob@@x""#),
            None,
            E("not an email address"),
        ),
        (
            S::Email,
            M::Text,
            Some(r#""bob.ng@example.com""#),
            None,
            J(json!("bob.ng@example.com")),
        ),
        (
            S::Email,
            M::LongText,
            Some(r#"{"text":"ops@example.io"}"#),
            None,
            J(json!("ops@example.io")),
        ),
        (
            S::String,
            M::Email,
            Some(r#"{"email":"a@b.io","text":"A"}"#),
            Some("A"),
            J(json!("a@b.io")),
        ),
        (
            S::Textarea,
            M::Email,
            Some(r#"{"email":"c@d.io","text":"c@d.io"}"#),
            None,
            J(json!("c@d.io")),
        ),
        (
            S::Url,
            M::Text,
            Some(r#""https://acme.example.com""#),
            None,
            J(json!("https://acme.example.com")),
        ),
        (
            S::Url,
            M::LongText,
            Some(r#"{"text":""}"#),
            None,
            J(Json::Null),
        ),
        (
            S::Double,
            M::Text,
            Some(r#""1,000""#),
            None,
            E("\"1,000\" for Salesforce field Field__c is not a number"),
        ),
        (
            S::Double,
            M::LongText,
            Some(r#"{"text":"-3.25"}"#),
            None,
            J(json!(-3.25)),
        ),
        (
            S::Currency,
            M::Text,
            Some(r#""19.99""#),
            None,
            J(json!(19.99)),
        ),
        (
            S::Currency,
            M::LongText,
            Some(r#"{"text":"1e3"}"#),
            None,
            J(json!(1000)),
        ),
        (
            S::Percent,
            M::Text,
            Some(r#"" 12.5 ""#),
            None,
            J(json!(12.5)),
        ),
        (
            S::Percent,
            M::LongText,
            Some(r#"{"text":"50"}"#),
            None,
            J(json!(50)),
        ),
        (S::Int, M::Text, Some(r#""-17""#), None, J(json!(-17))),
        (
            S::Int,
            M::LongText,
            Some(r#"{"text":"2.5"}"#),
            None,
            E("whole numbers"),
        ),
        (
            S::Long,
            M::Text,
            Some(r#""1234567890123""#),
            None,
            J(json!(1234567890123i64)),
        ),
        (
            S::Long,
            M::LongText,
            Some(r#"{"text":"7"}"#),
            None,
            J(json!(7)),
        ),
        (
            S::String,
            M::Numbers,
            Some(r#""42.5""#),
            Some("42.5"),
            J(json!("42.5")),
        ),
        (
            S::Textarea,
            M::Numbers,
            Some(r#""-0.001""#),
            None,
            J(json!("-0.001")),
        ),
        (
            S::Picklist,
            M::Text,
            Some(r#""Legacy""#),
            None,
            E("\"Legacy\" is not an active value"),
        ),
        (
            S::Picklist,
            M::Text,
            Some(r#""Prospect""#),
            None,
            J(json!("Prospect")),
        ),
        (
            S::Picklist,
            M::LongText,
            Some(r#"{"text":"Other, misc"}"#),
            None,
            J(json!("Other, misc")),
        ),
        (
            S::String,
            M::Status,
            Some(r#"{"index":1}"#),
            Some("Done"),
            J(json!("Done")),
        ),
        (S::String, M::Status, Some("{}"), Some(""), J(Json::Null)),
        // A date alone is midnight in the org's zone: PST is UTC-8.
        (
            S::Datetime,
            M::Date,
            Some(r#"{"date":"2024-02-29"}"#),
            None,
            J(json!("2024-02-29T08:00:00.000+0000")),
        ),
        // PDT (summer) is UTC-7.
        (
            S::Datetime,
            M::Date,
            Some(r#"{"date":"2024-07-04"}"#),
            None,
            J(json!("2024-07-04T07:00:00.000+0000")),
        ),
        (
            S::Datetime,
            M::Date,
            Some(r#"{"date":"2024-02-29","time":"22:30:00"}"#),
            None,
            J(json!("2024-02-29T22:30:00.000+0000")),
        ),
        (
            S::Multipicklist,
            M::Dropdown,
            Some(r#"{"ids":[0,2]}"#),
            Some("Prospect, Other, misc"),
            J(json!("Prospect;Other, misc")),
        ),
        (
            S::Multipicklist,
            M::Dropdown,
            Some(r#"{"labels":["Technology"]}"#),
            None,
            E("\"Technology\" is not an active value"),
        ),
        (
            S::Boolean,
            M::Status,
            Some(r#"{"index":6}"#),
            Some("Yes"),
            J(json!(true)),
        ),
        (
            S::Boolean,
            M::Status,
            Some(r#"{"index":7}"#),
            Some("No"),
            J(json!(false)),
        ),
        (
            S::Boolean,
            M::Status,
            Some(r#"{"label":"Stuck"}"#),
            None,
            E("only the labels \"Yes\" (true) and \"No\" (false)"),
        ),
        (
            S::Time,
            M::Text,
            Some(r#""13:30:00.000Z""#),
            None,
            J(json!("13:30:00.000Z")),
        ),
        (
            S::Time,
            M::LongText,
            Some(r#"{"text":"half past one"}"#),
            None,
            E("expected a time"),
        ),
        (
            S::String,
            M::Mirror,
            None,
            Some("Sprint 4, Sprint 5"),
            J(json!("Sprint 4, Sprint 5")),
        ),
        (
            S::String,
            M::Formula,
            None,
            Some("42.00 €"),
            J(json!("42.00 €")),
        ),
        (S::String, M::BoardRelation, None, None, J(Json::Null)),
        (S::String, M::AutoNumber, None, Some("17"), J(json!("17"))),
        (
            S::String,
            M::CreationLog,
            None,
            Some("Ann Lee 2026-05-22 05:47"),
            J(json!("Ann Lee 2026-05-22 05:47")),
        ),
        (
            S::String,
            M::LastUpdated,
            None,
            Some("Bob Ng 2 minutes ago"),
            J(json!("Bob Ng 2 minutes ago")),
        ),
        (
            S::String,
            M::ItemId,
            Some(r#"{"item_id":"TNAN-001"}"#),
            Some("TNAN-001"),
            J(json!("TNAN-001")),
        ),
        (S::Textarea, M::Mirror, None, Some("a\nb"), J(json!("a\nb"))),
        (S::Textarea, M::Formula, None, Some("1"), J(json!("1"))),
        (
            S::Textarea,
            M::BoardRelation,
            None,
            Some("Deal 1, Deal 2"),
            J(json!("Deal 1, Deal 2")),
        ),
        (S::Textarea, M::AutoNumber, None, Some("3"), J(json!("3"))),
        (S::Textarea, M::CreationLog, None, Some("x"), J(json!("x"))),
        (S::Textarea, M::LastUpdated, None, Some("y"), J(json!("y"))),
        (
            S::Textarea,
            M::ItemId,
            None,
            Some("TNAN-002"),
            J(json!("TNAN-002")),
        ),
    ]
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
