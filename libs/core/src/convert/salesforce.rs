//! Salesforce REST JSON field values ⇄ canonical values.
//!
//! Shapes (salesforce-rest.md): text as strings, numbers as JSON numbers, dates
//! `YYYY-MM-DD`, datetimes `2024-01-02T03:04:05.000+0000`, multipicklists `a;b;c`,
//! lookups as the record Id, empty as `null`.

use std::str::FromStr;

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use rust_decimal::Decimal;
use serde_json::Value as Json;

use crate::error::sf_target;
use crate::{CoreError, DateTime, MappingOptions, Result, SalesforceField, SalesforceKind, Value};

/// Reads a Salesforce field value into its canonical shape:
/// text kinds → `Text`, phone → `Phone`, url → `Link`, (multi)picklist → `Labels`,
/// numbers → `Number`, boolean → `Bool` (null reads as false), date → `Date`,
/// datetime → `DateTime`, lookups and users → `Reference`, formulas → text/number/bool.
pub fn read(field: &SalesforceField, raw: &Json) -> Result<Value> {
    read_named(field, raw, None)
}

/// Like [`read`], with the display name of a lookup's related record (what the connector
/// reads as `Account.Name` and hands over in `Record.texts`): a `reference` field then reads
/// as `Reference { id, name }`, which a text column shows as the name. Ignored for User
/// fields (they convert by email, and a renamed user must not look like a changed owner) and
/// for an empty lookup.
pub fn read_named(field: &SalesforceField, raw: &Json, name: Option<&str>) -> Result<Value> {
    use SalesforceKind as K;
    if raw.is_null() {
        return Ok(match field.kind {
            K::Boolean => Value::Bool(false),
            _ => Value::Null,
        });
    }
    let bad = |reason: &str| CoreError::InvalidValue {
        target: sf_target(&field.name),
        value: raw.to_string(),
        reason: reason.into(),
    };
    Ok(match &field.kind {
        K::String | K::Textarea | K::Email | K::Id | K::Time | K::Other(_) => {
            Value::text(raw.as_str().ok_or_else(|| bad("expected text"))?)
        }
        K::Phone => match raw.as_str().ok_or_else(|| bad("expected text"))? {
            "" => Value::Null,
            n => Value::Phone {
                number: n.into(),
                country: None,
            },
        },
        K::Url => match raw.as_str().ok_or_else(|| bad("expected text"))? {
            "" => Value::Null,
            u => Value::Link {
                url: u.into(),
                text: None,
            },
        },
        K::Picklist => Value::labels([raw.as_str().ok_or_else(|| bad("expected text"))?]),
        K::Multipicklist => {
            Value::labels(raw.as_str().ok_or_else(|| bad("expected text"))?.split(';'))
        }
        K::Double | K::Currency | K::Percent | K::Int | K::Long => {
            Value::Number(json_decimal(raw).ok_or_else(|| bad("expected a number"))?)
        }
        K::Boolean => Value::Bool(raw.as_bool().ok_or_else(|| bad("expected true or false"))?),
        K::Date => Value::Date(
            raw.as_str()
                .and_then(|s| Date::from_str(s).ok())
                .ok_or_else(|| bad("expected a date YYYY-MM-DD"))?,
        ),
        K::Datetime => Value::DateTime(
            raw.as_str()
                .and_then(parse_datetime)
                .ok_or_else(|| bad("expected a datetime like 2024-01-02T03:04:05.000+0000"))?,
        ),
        K::Reference | K::User => match raw.as_str().ok_or_else(|| bad("expected an Id"))? {
            "" => Value::Null,
            id => Value::Reference {
                id: id.into(),
                name: name
                    .filter(|n| field.kind == K::Reference && !n.is_empty())
                    .map(Into::into),
            },
        },
        K::Formula => match raw {
            Json::String(s) => Value::text(s.as_str()),
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(_) => Value::Number(json_decimal(raw).ok_or_else(|| bad("bad number"))?),
            _ => return Err(bad("unexpected formula value")),
        },
    })
}

/// Writes a canonical value as the JSON Salesforce expects for `field`, checking the
/// field's rules: read-only, text length (or truncation), restricted picklist values,
/// whole numbers for int/long.
pub fn write(field: &SalesforceField, value: &Value, opts: &MappingOptions) -> Result<Json> {
    use SalesforceKind as K;
    if field.is_read_only() {
        return Err(CoreError::WriteToReadOnly {
            target: sf_target(&field.name),
            reason: if field.kind.is_read_only() {
                format!("a {} field", field.kind)
            } else {
                "not updateable in Salesforce".into()
            },
        });
    }
    let mismatch = || CoreError::InvalidValue {
        target: sf_target(&field.name),
        value: value.to_string(),
        reason: format!(
            "a {} cannot be written to a {} field",
            value.type_name(),
            field.kind
        ),
    };
    Ok(match (&field.kind, value) {
        (K::Boolean, Value::Null) => Json::Bool(false),
        (_, Value::Null) => Json::Null,
        (K::String | K::Textarea | K::Email | K::Time, Value::Text(s)) => {
            Json::String(fit_length(field, s, opts)?)
        }
        (K::Phone, Value::Phone { number, .. }) => Json::String(fit_length(field, number, opts)?),
        (K::Url, Value::Link { url, .. }) => Json::String(fit_length(field, url, opts)?),
        (K::Picklist, Value::Labels(labels)) => {
            let [one] = labels.as_slice() else {
                return Err(CoreError::InvalidValue {
                    target: sf_target(&field.name),
                    value: labels.join(", "),
                    reason: "a picklist holds one value, not several".into(),
                });
            };
            check_picklist(field, one)?;
            Json::String(one.clone())
        }
        (K::Multipicklist, Value::Labels(labels)) => {
            for l in labels {
                if l.contains(';') {
                    return Err(CoreError::InvalidValue {
                        target: sf_target(&field.name),
                        value: l.clone(),
                        reason: "a multi-select picklist value cannot contain ';'".into(),
                    });
                }
                check_picklist(field, l)?;
            }
            Json::String(labels.join(";"))
        }
        (K::Double | K::Currency | K::Percent | K::Int | K::Long, Value::Number(d)) => {
            if matches!(field.kind, K::Int | K::Long) && !d.fract().is_zero() {
                return Err(CoreError::InvalidValue {
                    target: sf_target(&field.name),
                    value: d.to_string(),
                    reason: "the field holds whole numbers only".into(),
                });
            }
            decimal_json(d)
        }
        (K::Boolean, Value::Bool(b)) => Json::Bool(*b),
        (K::Date, Value::Date(d)) => Json::String(d.to_string()),
        (K::Datetime, Value::DateTime(dt)) => Json::String(format_datetime(dt)),
        (K::User, Value::Reference { id, .. }) => Json::String(id.clone()),
        _ => return Err(mismatch()),
    })
}

fn fit_length(field: &SalesforceField, s: &str, opts: &MappingOptions) -> Result<String> {
    let len = s.chars().count();
    if field.length == 0 || len <= field.length as usize {
        return Ok(s.to_owned());
    }
    if opts.truncate_text {
        return Ok(s.chars().take(field.length as usize).collect());
    }
    Err(CoreError::TextTooLong {
        field: field.name.clone(),
        len,
        max: field.length,
    })
}

fn check_picklist(field: &SalesforceField, value: &str) -> Result<()> {
    if !field.restricted_picklist {
        return Ok(());
    }
    if field
        .picklist_values
        .iter()
        .any(|p| p.active && p.value == value)
    {
        Ok(())
    } else {
        Err(CoreError::InactivePicklistValue {
            field: field.name.clone(),
            value: value.into(),
        })
    }
}

/// A JSON number (or numeric string) as an exact decimal, via its text form.
pub(crate) fn json_decimal(raw: &Json) -> Option<Decimal> {
    let s = match raw {
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    parse_decimal(&s)
}

/// Parses `12`, `-1.50`, `1e3`, `1.2E-2`.
pub(crate) fn parse_decimal(s: &str) -> Option<Decimal> {
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

/// A decimal as a JSON number (integers stay integers).
pub(crate) fn decimal_json(d: &Decimal) -> Json {
    let text = d.normalize().to_string();
    serde_json::from_str::<serde_json::Number>(&text)
        .map(Json::Number)
        .unwrap_or(Json::String(text))
}

/// Parses `2024-01-02T03:04:05.000+0000`, `…Z` or `…+01:00`, keeping the offset.
pub fn parse_datetime(s: &str) -> Option<DateTime> {
    let s = s.trim();
    let (body, offset_seconds) = if let Some(b) = s.strip_suffix('Z') {
        (b, 0)
    } else {
        let cut = s.len().checked_sub(6).filter(|&i| s.is_char_boundary(i))?;
        let (b, off) = if s.as_bytes().get(cut + 3) == Some(&b':') {
            (&s[..cut], s[cut..].replace(':', ""))
        } else {
            let cut = s.len().checked_sub(5)?;
            (&s[..cut], s[cut..].to_owned())
        };
        let sign = match off.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let hh: i32 = off.get(1..3)?.parse().ok()?;
        let mm: i32 = off.get(3..5)?.parse().ok()?;
        (b, sign * (hh * 3600 + mm * 60))
    };
    let civil = jiff::civil::DateTime::from_str(body).ok()?;
    let offset = jiff::tz::Offset::from_seconds(offset_seconds).ok()?;
    let instant = civil.to_zoned(TimeZone::fixed(offset)).ok()?.timestamp();
    Some(DateTime {
        instant,
        offset_seconds,
    })
}

/// Formats as Salesforce does: UTC, milliseconds, `+0000`.
pub fn format_datetime(dt: &DateTime) -> String {
    let t: Timestamp = dt.instant;
    t.to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetimes_parse_in_all_offset_forms() {
        let want: Timestamp = "2024-01-02T03:04:05Z".parse().unwrap();
        for s in [
            "2024-01-02T03:04:05.000+0000",
            "2024-01-02T03:04:05Z",
            "2024-01-02T04:04:05+01:00",
            "2024-01-01T22:04:05.000-0500",
        ] {
            assert_eq!(parse_datetime(s).map(|d| d.instant), Some(want), "{s}");
        }
        assert_eq!(
            parse_datetime("2024-01-02T04:04:05+01:00")
                .unwrap()
                .offset_seconds,
            3600
        );
        assert!(parse_datetime("yesterday").is_none());
        let dt = parse_datetime("2024-01-02T04:04:05.120+0100").unwrap();
        assert_eq!(format_datetime(&dt), "2024-01-02T03:04:05.120+0000");
    }

    #[test]
    fn numbers_stay_exact() {
        let f = SalesforceField::new("AnnualRevenue", SalesforceKind::Currency);
        let v = read(&f, &json!(1000.0)).unwrap();
        assert_eq!(v, Value::Number(Decimal::new(1000, 0)));
        let v = read(&f, &json!(0.1)).unwrap();
        assert_eq!(v, Value::Number(Decimal::new(1, 1)));
        assert_eq!(
            write(&f, &v, &MappingOptions::default()).unwrap(),
            json!(0.1)
        );
        assert_eq!(
            json_decimal(&json!(1e21)).unwrap().to_string(),
            "1000000000000000000000"
        );
    }

    #[test]
    fn int_fields_refuse_fractions() {
        let f = SalesforceField::new("NumberOfEmployees", SalesforceKind::Int);
        let err = write(
            &f,
            &Value::Number(Decimal::new(15, 1)),
            &MappingOptions::default(),
        );
        assert!(err.unwrap_err().to_string().contains("whole numbers"));
    }

    #[test]
    fn text_too_long_fails_unless_truncation_is_on() {
        let f = SalesforceField {
            length: 5,
            ..SalesforceField::new("Site", SalesforceKind::String)
        };
        let v = Value::text("Zürich-Nord");
        let err = write(&f, &v, &MappingOptions::default()).unwrap_err();
        assert_eq!(
            err,
            CoreError::TextTooLong {
                field: "Site".into(),
                len: 11,
                max: 5
            }
        );
        let opts = MappingOptions {
            truncate_text: true,
            ..Default::default()
        };
        assert_eq!(write(&f, &v, &opts).unwrap(), json!("Züric"));
    }
}
