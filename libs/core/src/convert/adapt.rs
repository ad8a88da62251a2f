//! Reshaping a canonical value from one side's shape to the other's, per matrix conversion.
//!
//! The output of [`to_monday`] is exactly what [`super::monday::read`] returns after the
//! value was written, so the merge's shadow of the monday side stays equal to the next
//! read (no echo). The same holds for [`to_salesforce`] and [`super::salesforce::read`].

use jiff::{civil::Time, tz::TimeZone};

use super::monday::parse_number_text;
use super::{ConvertContext, phone};
use crate::error::{monday_target, sf_target};
use crate::{
    Conversion, CoreError, DateTime, FieldMapping, MondayKind, Result, SalesforceKind, Value,
};

/// Salesforce-shaped canonical value → monday-shaped canonical value for this mapping.
pub fn to_monday(m: &FieldMapping, v: &Value, ctx: &ConvertContext<'_>) -> Result<Value> {
    let rule = rule_of(m)?;
    let target = || monday_target(&m.monday.id);
    if v.is_null() {
        return Ok(match rule.conversion {
            // A null boolean does not exist in Salesforce; keep the other side in step.
            Conversion::Checkbox => Value::Bool(false),
            Conversion::BoolStatus => Value::labels([m.options.bool_labels().false_label]),
            _ => Value::Null,
        });
    }
    let mismatch = || mismatch(target(), v, rule.conversion);
    Ok(match rule.conversion {
        Conversion::Text
        | Conversion::PhoneText
        | Conversion::ReferenceText
        | Conversion::FormulaText
        | Conversion::TimeText => Value::text(v.display_text().unwrap_or_default()),
        Conversion::Number | Conversion::Checkbox | Conversion::Date => v.clone(),
        Conversion::MultipicklistLabels | Conversion::PicklistLabel => v.clone(),
        Conversion::NumberText => match v {
            Value::Number(_) => Value::text(v.display_text().unwrap_or_default()),
            Value::Text(s) => {
                Value::Number(
                    parse_number_text(s).ok_or_else(|| CoreError::InvalidNumber {
                        target: sf_target(&m.salesforce.name),
                        value: s.clone(),
                    })?,
                )
            }
            _ => return Err(mismatch()),
        },
        Conversion::BoolStatus => match v {
            Value::Bool(b) => {
                let l = m.options.bool_labels();
                Value::labels([if *b { l.true_label } else { l.false_label }])
            }
            _ => return Err(mismatch()),
        },
        Conversion::DatetimeDate => match v {
            // monday keeps whole seconds: drop the milliseconds here, so the value read back
            // equals the shadow and is not mistaken for a change on monday.
            Value::DateTime(dt) if m.options.keep_time => Value::DateTime(DateTime::utc(
                jiff::Timestamp::from_second(dt.instant.as_second()).unwrap_or(dt.instant),
            )),
            Value::DateTime(dt) => {
                Value::Date(dt.instant.to_zoned(ctx.org_time_zone.clone()).date())
            }
            _ => return Err(mismatch()),
        },
        Conversion::PicklistText => match (&m.monday.kind, v) {
            (MondayKind::Status, Value::Text(s)) => Value::labels([s.as_str()]),
            (_, Value::Labels(l)) => Value::text(l.join(", ")),
            _ => return Err(mismatch()),
        },
        Conversion::Link => match v {
            Value::Link { url, .. } => Value::Link {
                url: url.clone(),
                text: Some(url.clone()),
            },
            _ => return Err(mismatch()),
        },
        Conversion::Phone => match v.display_text() {
            Some(number) => {
                let p = phone::normalize(&number, &ctx.phone_country(m)).map_err(|reason| {
                    CoreError::InvalidValue {
                        target: format!(
                            "{} (from Salesforce field {})",
                            target(),
                            m.salesforce.name
                        ),
                        value: number.clone(),
                        reason,
                    }
                })?;
                Value::Phone {
                    number: p.e164,
                    country: Some(p.country),
                }
            }
            None => Value::Null,
        },
        Conversion::Email => match v {
            Value::Text(s) => {
                if m.monday.kind == MondayKind::Email {
                    check_email(target(), s)?;
                }
                v.clone()
            }
            _ => return Err(mismatch()),
        },
        Conversion::UserPeople | Conversion::UserEmail => match v {
            Value::Reference { id, .. } => {
                let email =
                    ctx.users
                        .salesforce_email(id)
                        .ok_or_else(|| CoreError::UnknownUser {
                            target: sf_target(&m.salesforce.name),
                            side: "known Salesforce",
                            who: format!("Id {id}"),
                        })?;
                if rule.conversion == Conversion::UserPeople {
                    Value::people([email])
                } else {
                    Value::text(email)
                }
            }
            _ => return Err(mismatch()),
        },
        Conversion::PeopleEmail => match v {
            Value::Text(s) => {
                let emails: Vec<&str> = s.split([',', ';']).map(str::trim).collect();
                for e in emails.iter().filter(|e| !e.is_empty()) {
                    check_email(sf_target(&m.salesforce.name), e)?;
                }
                Value::people(emails)
            }
            _ => return Err(mismatch()),
        },
        Conversion::DisplayText => return Err(mismatch()),
    })
}

/// monday-shaped canonical value → Salesforce-shaped canonical value for this mapping.
pub fn to_salesforce(m: &FieldMapping, v: &Value, ctx: &ConvertContext<'_>) -> Result<Value> {
    use SalesforceKind as K;
    let rule = rule_of(m)?;
    let target = || sf_target(&m.salesforce.name);
    if v.is_null() {
        return Ok(match m.salesforce.kind {
            K::Boolean => Value::Bool(false),
            _ => Value::Null,
        });
    }
    let mismatch = || mismatch(target(), v, rule.conversion);
    Ok(match rule.conversion {
        Conversion::Text | Conversion::PhoneText | Conversion::DisplayText => {
            sf_from_text(&m.salesforce.kind, v.display_text().unwrap_or_default())
        }
        Conversion::Number | Conversion::Checkbox | Conversion::MultipicklistLabels => v.clone(),
        Conversion::PicklistLabel => match v {
            Value::Labels(l) if l.len() > 1 => {
                return Err(CoreError::InvalidValue {
                    target: target(),
                    value: l.join(", "),
                    reason: "several labels, but a picklist holds one value".into(),
                });
            }
            _ => v.clone(),
        },
        Conversion::NumberText => match v {
            Value::Number(_) => Value::text(v.display_text().unwrap_or_default()),
            Value::Text(s) => {
                Value::Number(
                    parse_number_text(s).ok_or_else(|| CoreError::InvalidNumber {
                        target: target(),
                        value: s.clone(),
                    })?,
                )
            }
            _ => return Err(mismatch()),
        },
        Conversion::BoolStatus => {
            let l = m.options.bool_labels();
            match v {
                Value::Labels(x) if x == std::slice::from_ref(&l.true_label) => Value::Bool(true),
                Value::Labels(x) if x == std::slice::from_ref(&l.false_label) => Value::Bool(false),
                _ => {
                    return Err(CoreError::InvalidValue {
                        target: target(),
                        value: v.to_string(),
                        reason: format!(
                            "only the labels {:?} (true) and {:?} (false) map to a checkbox field",
                            l.true_label, l.false_label
                        ),
                    });
                }
            }
        }
        Conversion::Date => match v {
            Value::Date(_) => v.clone(),
            Value::DateTime(dt) => Value::Date(dt.instant.to_zoned(TimeZone::UTC).date()),
            _ => return Err(mismatch()),
        },
        Conversion::DatetimeDate => match v {
            Value::DateTime(dt) => Value::DateTime(DateTime::utc(dt.instant)),
            Value::Date(d) => {
                let z = d
                    .to_datetime(Time::midnight())
                    .to_zoned(ctx.org_time_zone.clone())
                    .map_err(|e| CoreError::InvalidValue {
                        target: target(),
                        value: d.to_string(),
                        reason: e.to_string(),
                    })?;
                Value::DateTime(DateTime::utc(z.timestamp()))
            }
            _ => return Err(mismatch()),
        },
        Conversion::PicklistText => match (&m.salesforce.kind, v) {
            (K::Picklist, Value::Text(s)) => Value::labels([s.as_str()]),
            (_, Value::Labels(l)) if l.len() == 1 => Value::text(l[0].as_str()),
            _ => return Err(mismatch()),
        },
        Conversion::Link => match v {
            Value::Link { url, .. } => Value::Link {
                url: url.clone(),
                text: None,
            },
            _ => return Err(mismatch()),
        },
        // E.164 towards Salesforce: unambiguous, and it normalises back to itself.
        Conversion::Phone => match v {
            Value::Phone { number, country } => {
                let country = country.clone().unwrap_or_else(|| ctx.phone_country(m));
                let p = phone::normalize(number, &country).map_err(|reason| {
                    CoreError::InvalidValue {
                        target: format!("{} (from monday column {})", target(), m.monday.id),
                        value: number.clone(),
                        reason,
                    }
                })?;
                sf_from_text(&m.salesforce.kind, p.e164)
            }
            _ => return Err(mismatch()),
        },
        Conversion::Email => match v {
            Value::Text(s) => {
                if m.salesforce.kind == K::Email {
                    check_email(target(), s)?;
                }
                v.clone()
            }
            _ => return Err(mismatch()),
        },
        Conversion::UserPeople | Conversion::UserEmail => {
            let email = match v {
                Value::People(p) if p.len() == 1 => p[0].clone(),
                Value::People(p) => {
                    return Err(CoreError::InvalidValue {
                        target: target(),
                        value: p.join(", "),
                        reason: "several people, but a user field holds one".into(),
                    });
                }
                Value::Text(e) => e.clone(),
                _ => return Err(mismatch()),
            };
            let id =
                ctx.users
                    .salesforce_user_id(&email)
                    .ok_or_else(|| CoreError::UnknownUser {
                        target: target(),
                        side: "Salesforce",
                        who: format!("email {email}"),
                    })?;
            Value::Reference { id, name: None }
        }
        // The people's emails as they are: a person needs no Salesforce user here.
        Conversion::PeopleEmail => match v {
            Value::People(p) if p.len() > 1 && m.salesforce.kind == K::Email => {
                return Err(CoreError::InvalidValue {
                    target: target(),
                    value: p.join(", "),
                    reason: "several people, but an email field holds one address".into(),
                });
            }
            Value::People(p) => Value::text(p.join(", ")),
            _ => return Err(mismatch()),
        },
        Conversion::TimeText => match v {
            Value::Text(s) if is_sf_time(s) => v.clone(),
            _ => {
                return Err(CoreError::InvalidValue {
                    target: target(),
                    value: v.to_string(),
                    reason: "expected a time like 13:30:00.000Z".into(),
                });
            }
        },
        Conversion::ReferenceText | Conversion::FormulaText => return Err(mismatch()),
    })
}

fn rule_of(m: &FieldMapping) -> Result<&'static crate::matrix::Rule> {
    m.rule().ok_or_else(|| CoreError::IncompatiblePair {
        field: m.salesforce.name.clone(),
        sf_kind: m.salesforce.kind.clone(),
        column: m.monday.id.clone(),
        monday_kind: m.monday.kind.clone(),
    })
}

/// Text into the canonical shape of a text-like Salesforce kind.
fn sf_from_text(kind: &SalesforceKind, s: String) -> Value {
    if s.is_empty() {
        return Value::Null;
    }
    match kind {
        SalesforceKind::Phone => Value::Phone {
            number: s,
            country: None,
        },
        SalesforceKind::Url => Value::Link { url: s, text: None },
        _ => Value::Text(s),
    }
}

fn mismatch(target: String, v: &Value, conversion: Conversion) -> CoreError {
    CoreError::InvalidValue {
        target,
        value: v.to_string(),
        reason: format!(
            "a {} value does not fit the {conversion} conversion",
            v.type_name()
        ),
    }
}

/// A light check: one `@`, something on both sides, a dot in the domain, no spaces.
fn check_email(target: String, s: &str) -> Result<()> {
    let ok = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(CoreError::InvalidValue {
            target,
            value: s.into(),
            reason: "not an email address".into(),
        })
    }
}

/// `HH:MM:SS.sssZ` or `HH:MM:SS` / `HH:MM`.
fn is_sf_time(s: &str) -> bool {
    s.strip_suffix('Z').unwrap_or(s).parse::<Time>().is_ok()
}
