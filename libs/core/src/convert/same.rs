//! Whether Salesforce holds a value Tandem wrote, whatever form it comes back in.
//!
//! A record read back rarely repeats the JSON that created it: Salesforce trims trailing
//! spaces, answers `1200` for `1200.0` (or `"1200.00"`), stores a datetime in UTC with
//! milliseconds, keeps a picklist value in its defined case, reorders a multi-select
//! picklist, may format a phone number, cuts text to the field length when truncation is on,
//! and answers an 18-character Id for a 15-character one. [`holds`] compares the two in
//! canonical form, knowing the field; [`holds_json`] guesses the kind from the JSON when the
//! field is not known. Both are for recognising a record Tandem created (adopting a create
//! whose link was lost), not for the merge, which compares canonical values directly.

use std::cmp::Ordering;

use jiff::civil::Date;
use serde_json::Value as Json;

use super::phone;
use super::salesforce::{json_decimal, parse_datetime};
use crate::{SalesforceField, SalesforceKind};

/// Whether `held` (read back from Salesforce) is `sent` (what Tandem wrote to `field`) in
/// another form.
pub fn holds(field: &SalesforceField, sent: &Json, held: &Json) -> bool {
    use SalesforceKind as K;
    if is_empty(sent) || is_empty(held) {
        return (is_empty(sent) && is_empty(held))
            || (field.kind == K::Boolean && both_false(sent, held));
    }
    match &field.kind {
        K::Double | K::Currency | K::Percent | K::Int | K::Long => same_number(sent, held),
        K::Boolean => sent.as_bool() == held.as_bool(),
        K::Date | K::Datetime => same_time(sent, held),
        K::Picklist | K::Email => same_text_ci(sent, held),
        K::Multipicklist => same_set(sent, held),
        K::Phone => same_phone(sent, held),
        K::Reference | K::User | K::Id => same_id(sent, held),
        K::String | K::Textarea | K::Url | K::Time | K::Formula | K::Other(_) => {
            match (sent.as_str(), held.as_str()) {
                (Some(s), Some(h)) => same_text(s, h, field.length),
                _ => sent == held,
            }
        }
    }
}

/// Like [`holds`] without the field: the kind is guessed from the values (numbers, dates and
/// datetimes, phone numbers, `;`-lists), and text compares trimmed and case-insensitively.
/// Truncated text is not recognised (that needs the field's length).
pub fn holds_json(sent: &Json, held: &Json) -> bool {
    if is_empty(sent) || is_empty(held) {
        return is_empty(sent) && is_empty(held);
    }
    if sent.is_number() || held.is_number() {
        return same_number(sent, held);
    }
    if let (Some(s), Some(h)) = (sent.as_str(), held.as_str()) {
        if time_of(s).is_some() && time_of(h).is_some() {
            return same_time(sent, held);
        }
        if looks_like_phone(s) && looks_like_phone(h) {
            return same_phone(sent, held);
        }
        if s.contains(';') || h.contains(';') {
            return same_set(sent, held);
        }
        return same_text_ci(sent, held);
    }
    sent == held
}

fn is_empty(v: &Json) -> bool {
    v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())
}

fn both_false(a: &Json, b: &Json) -> bool {
    a.as_bool() != Some(true) && b.as_bool() != Some(true)
}

fn same_number(a: &Json, b: &Json) -> bool {
    match (json_decimal(a), json_decimal(b)) {
        (Some(x), Some(y)) => x.normalize() == y.normalize(),
        _ => a == b,
    }
}

/// Trimmed, and equal or cut to `max` characters (when the field has a length).
fn same_text(sent: &str, held: &str, max: u32) -> bool {
    let (s, h) = (sent.trim(), held.trim());
    if s == h {
        return true;
    }
    let max = max as usize;
    max > 0 && s.chars().count() > max && {
        let cut: String = sent.chars().take(max).collect();
        cut.trim() == h
    }
}

fn same_text_ci(a: &Json, b: &Json) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => x.trim().to_lowercase() == y.trim().to_lowercase(),
        _ => a == b,
    }
}

fn same_set(a: &Json, b: &Json) -> bool {
    let set = |v: &Json| {
        let mut items: Vec<String> = v
            .as_str()
            .unwrap_or_default()
            .split(';')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        items.sort();
        items.dedup();
        items
    };
    set(a) == set(b)
}

fn looks_like_phone(s: &str) -> bool {
    s.chars().filter(char::is_ascii_digit).count() >= 7
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-.()/\u{a0}".contains(c))
}

/// The same number once normalised (read in the US when written without `+`), or the same
/// digits when either side cannot be normalised.
fn same_phone(a: &Json, b: &Json) -> bool {
    let (Some(x), Some(y)) = (a.as_str(), b.as_str()) else {
        return a == b;
    };
    match (
        phone::normalize(x, phone::FALLBACK_COUNTRY),
        phone::normalize(y, phone::FALLBACK_COUNTRY),
    ) {
        (Ok(p), Ok(q)) => p.e164 == q.e164,
        _ => {
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            digits(x) == digits(y)
        }
    }
}

/// A 15-character Id is the case-sensitive head of its 18-character form.
fn same_id(a: &Json, b: &Json) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => {
            let (x, y) = (x.trim(), y.trim());
            x == y || (x.len() >= 15 && y.len() >= 15 && x.get(..15) == y.get(..15))
        }
        _ => a == b,
    }
}

enum When {
    Day(Date),
    Instant(crate::DateTime),
}

fn time_of(s: &str) -> Option<When> {
    let s = s.trim();
    if let Ok(d) = s.parse::<Date>() {
        return Some(When::Day(d));
    }
    parse_datetime(s).map(When::Instant)
}

/// Dates equal as dates, datetimes as instants; a date and a datetime when the datetime
/// falls on that date where it was written (its own offset) or in UTC.
fn same_time(a: &Json, b: &Json) -> bool {
    let (Some(x), Some(y)) = (a.as_str().and_then(time_of), b.as_str().and_then(time_of)) else {
        return a == b;
    };
    let day_of = |dt: &crate::DateTime| {
        [
            dt.instant
                .to_zoned(jiff::tz::TimeZone::fixed(dt.offset()))
                .date(),
            dt.instant.to_zoned(jiff::tz::TimeZone::UTC).date(),
        ]
    };
    match (x, y) {
        (When::Day(p), When::Day(q)) => p.cmp(&q) == Ordering::Equal,
        (When::Instant(p), When::Instant(q)) => p == q,
        (When::Day(d), When::Instant(t)) | (When::Instant(t), When::Day(d)) => {
            day_of(&t).contains(&d)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(kind: SalesforceKind, length: u32) -> SalesforceField {
        SalesforceField {
            length,
            ..SalesforceField::new("F", kind)
        }
    }

    #[test]
    fn each_form_salesforce_answers_in_is_recognised() {
        use SalesforceKind as K;
        let cases: Vec<(SalesforceField, Json, Json)> = vec![
            (
                field(K::String, 80),
                json!("O’Brien Ltd"),
                json!("O’Brien Ltd"),
            ),
            (field(K::String, 80), json!("Acme  "), json!("Acme")),
            (field(K::Currency, 0), json!(1200.0), json!(1200)),
            (field(K::Currency, 0), json!("1200.00"), json!(1200.0)),
            (field(K::Date, 0), json!("2027-03-31"), json!("2027-03-31")),
            (
                field(K::Datetime, 0),
                json!("2027-03-31T12:00:00+02:00"),
                json!("2027-03-31T10:00:00.000+0000"),
            ),
            (
                field(K::Date, 0),
                json!("2027-03-31T00:00:00.000+0000"),
                json!("2027-03-31"),
            ),
            (
                field(K::Picklist, 0),
                json!("prospecting"),
                json!("Prospecting"),
            ),
            (field(K::Multipicklist, 0), json!("b;a;c"), json!("a;b;c")),
            (
                field(K::Phone, 40),
                json!("+14155552000"),
                json!("(415) 555-2000"),
            ),
            (field(K::String, 5), json!("Zürich-Nord"), json!("Züric")),
            (
                field(K::Reference, 0),
                json!("001dS000000000B"),
                json!("001dS000000000BQAQ"),
            ),
            (field(K::Textarea, 0), json!(""), Json::Null),
            (field(K::Boolean, 0), json!(false), Json::Null),
        ];
        for (f, sent, held) in cases {
            assert!(holds(&f, &sent, &held), "{} {sent} vs {held}", f.kind);
        }
    }

    #[test]
    fn different_values_are_not_taken_for_each_other() {
        use SalesforceKind as K;
        let cases: Vec<(SalesforceField, Json, Json)> = vec![
            (field(K::String, 80), json!("O’Brien"), json!("O'Brien")),
            (field(K::String, 80), json!("Acme"), json!("acme")),
            (field(K::String, 80), json!("Acme Corp"), json!("Acme")),
            (field(K::Currency, 0), json!(1200), json!(1201)),
            (field(K::Date, 0), json!("2027-03-31"), json!("2027-04-01")),
            (field(K::Multipicklist, 0), json!("a;b"), json!("a;b;c")),
            (
                field(K::Phone, 40),
                json!("+14155552000"),
                json!("(415) 555-2001"),
            ),
            (field(K::String, 80), json!("x"), Json::Null),
        ];
        for (f, sent, held) in cases {
            assert!(!holds(&f, &sent, &held), "{} {sent} vs {held}", f.kind);
        }
    }

    #[test]
    fn without_the_field_the_kind_is_guessed_from_the_values() {
        assert!(holds_json(&json!(1200.0), &json!("1200.00")));
        assert!(holds_json(&json!("Prospecting "), &json!("prospecting")));
        assert!(holds_json(&json!("b;a"), &json!("a;b")));
        assert!(holds_json(&json!("415.555.2000"), &json!("+14155552000")));
        assert!(holds_json(
            &json!("2027-03-31T10:00:00Z"),
            &json!("2027-03-31T10:00:00.000+0000")
        ));
        assert!(holds_json(&json!("Café O’Neil"), &json!("Café O’Neil")));
        assert!(!holds_json(&json!("Acme Corp"), &json!("Acme")));
        assert!(!holds_json(&json!(1), &json!(2)));
        assert!(holds_json(&Json::Null, &json!("")));
    }
}
