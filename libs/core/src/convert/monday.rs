//! monday column values ⇄ canonical values.
//!
//! Writes produce the JSON that goes under the column id in `column_values`
//! (monday-graphql.md §4): text `"hello"`, long text `{"text":…}`, numbers `"42.5"`,
//! status `{"label":…}`, dropdown `{"labels":[…]}`, date `{"date":…,"time":…}` (UTC),
//! phone `{"phone":…,"countryShortName":…}`, email `{"email":…,"text":…}`,
//! people `{"personsAndTeams":[{"id":…,"kind":"person"}]}`, link `{"url":…,"text":…}`,
//! checkbox `{"checked":"true"}` (unchecked clears with `null`).
//! Reads parse the `value` JSON *string* of `column_values` (plus `text` for columns whose
//! value is not self-describing).

use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde_json::{Value as Json, json};

use super::UserDirectory;
use super::salesforce::{json_decimal, parse_decimal};
use crate::error::monday_target;
use crate::{CoreError, DateTime, MappingOptions, MondayColumn, MondayKind, Result, Value};

/// monday's limit on item names (`ItemNameTooLongException` beyond it).
pub const MAX_ITEM_NAME: usize = 255;

/// Reads a column value as the API returns it: `value` is the JSON-encoded string from
/// `column_values.value` (`None` when empty), `text` the display text (needed for the item
/// name and read-only columns, and as a fallback for labels).
///
/// Status/dropdown indexes are turned into labels with the column's labels; people ids
/// into emails with `users` (an unknown person or a team is a per-record error).
pub fn read(
    column: &MondayColumn,
    value: Option<&str>,
    text: Option<&str>,
    users: &dyn UserDirectory,
) -> Result<Value> {
    let parsed: Json = match value {
        None | Some("") | Some("null") => Json::Null,
        Some(s) => serde_json::from_str(s).map_err(|e| invalid(column, s, &e.to_string()))?,
    };
    read_json(column, &parsed, text, users)
}

/// Like [`read`], with `value` already parsed from its string.
pub fn read_json(
    column: &MondayColumn,
    v: &Json,
    text: Option<&str>,
    users: &dyn UserDirectory,
) -> Result<Value> {
    use MondayKind as K;
    let raw = || v.to_string();
    let text_or_null = || Value::text(text.unwrap_or_default());
    Ok(match &column.kind {
        K::Name => match v {
            Json::String(s) => Value::text(s.as_str()),
            _ => text_or_null(),
        },
        K::Text => match v {
            Json::String(s) => Value::text(s.as_str()),
            Json::Null => text_or_null(),
            _ => return Err(invalid(column, &raw(), "expected a text value")),
        },
        K::LongText => match v.get("text") {
            Some(Json::String(s)) => Value::text(s.as_str()),
            _ => Value::Null,
        },
        K::Numbers => match v {
            Json::Null => Value::Null,
            Json::String(s) if s.trim().is_empty() => Value::Null,
            _ => Value::Number(json_decimal(v).ok_or_else(|| CoreError::InvalidNumber {
                target: monday_target(&column.id),
                value: raw(),
            })?),
        },
        K::Status => {
            if let Some(label) = v.get("label").and_then(label_text) {
                Value::labels([label])
            } else if let Some(i) = v.get("index").and_then(Json::as_i64) {
                match (column.label_name(i), text.filter(|t| !t.is_empty())) {
                    (Some(name), _) => Value::labels([name]),
                    (None, Some(shown)) => Value::labels([shown]),
                    // A label added since the board was read, and no text to name it: not an
                    // empty status (that would clear the other side), a value to read again.
                    (None, None) => {
                        return Err(invalid(
                            column,
                            &raw(),
                            "a status label the board did not have when Tandem last read it",
                        ));
                    }
                }
            } else {
                Value::Null
            }
        }
        K::Dropdown => {
            if let Some(labels) = v.get("labels").and_then(Json::as_array) {
                Value::labels(labels.iter().filter_map(Json::as_str))
            } else if let Some(ids) = v.get("ids").and_then(Json::as_array) {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let id = id
                        .as_i64()
                        .or_else(|| id.as_str().and_then(|s| s.parse().ok()));
                    match id.and_then(|i| column.label_name(i)) {
                        Some(name) => out.push(name.to_owned()),
                        None => return Err(invalid(column, &raw(), "unknown dropdown label id")),
                    }
                }
                Value::labels(out)
            } else {
                Value::Null
            }
        }
        K::Date => read_date(column, v)?,
        K::Phone => match v.get("phone").and_then(Json::as_str) {
            Some(n) if !n.is_empty() => Value::Phone {
                number: n.into(),
                country: v
                    .get("countryShortName")
                    .and_then(Json::as_str)
                    .filter(|c| !c.is_empty())
                    .map(str::to_uppercase),
            },
            _ => Value::Null,
        },
        K::Email => Value::text(v.get("email").and_then(Json::as_str).unwrap_or_default()),
        K::Link => match v.get("url").and_then(Json::as_str) {
            Some(u) if !u.is_empty() => Value::Link {
                url: u.into(),
                text: v
                    .get("text")
                    .and_then(Json::as_str)
                    .filter(|t| !t.is_empty())
                    .map(Into::into),
            },
            _ => Value::Null,
        },
        K::People => {
            let mut emails = Vec::new();
            for p in v
                .get("personsAndTeams")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if p.get("kind").and_then(Json::as_str) == Some("team") {
                    return Err(invalid(
                        column,
                        &raw(),
                        "teams cannot be synced, only people",
                    ));
                }
                let id = p
                    .get("id")
                    .and_then(|i| i.as_u64().or_else(|| i.as_str()?.parse().ok()))
                    .ok_or_else(|| invalid(column, &raw(), "a person without an id"))?;
                let email = users
                    .monday_email(id)
                    .ok_or_else(|| CoreError::UnknownUser {
                        target: monday_target(&column.id),
                        side: "known monday",
                        who: format!("id {id}"),
                    })?;
                emails.push(email);
            }
            Value::people(emails)
        }
        K::Checkbox => Value::Bool(match v.get("checked") {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) => s == "true",
            _ => false,
        }),
        K::Mirror
        | K::Formula
        | K::BoardRelation
        | K::AutoNumber
        | K::CreationLog
        | K::LastUpdated
        | K::ItemId
        | K::Other(_) => text_or_null(),
    })
}

fn label_text(v: &Json) -> Option<&str> {
    // write shape {"label":"Done"}; webhook shape {"label":{"index":1,"text":"Done"}}
    v.as_str().or_else(|| v.get("text").and_then(Json::as_str))
}

fn read_date(column: &MondayColumn, v: &Json) -> Result<Value> {
    let Some(d) = v
        .get("date")
        .and_then(Json::as_str)
        .filter(|d| !d.is_empty())
    else {
        return Ok(Value::Null);
    };
    let date: Date = d
        .parse()
        .map_err(|_| invalid(column, d, "expected a date YYYY-MM-DD"))?;
    match v
        .get("time")
        .and_then(Json::as_str)
        .filter(|t| !t.is_empty())
    {
        None => Ok(Value::Date(date)),
        Some(t) => {
            let time: jiff::civil::Time = t
                .parse()
                .map_err(|_| invalid(column, t, "expected a time HH:MM:SS"))?;
            let instant = date
                .to_datetime(time)
                .to_zoned(TimeZone::UTC)
                .map_err(|e| invalid(column, t, &e.to_string()))?
                .timestamp();
            Ok(Value::DateTime(DateTime::utc(instant)))
        }
    }
}

/// Writes a canonical value as the column value JSON for `column`, checking the column's
/// rules: read-only kinds, labels that must exist (unless `create_labels`), people that must
/// be monday users, numbers as strings.
pub fn write(
    column: &MondayColumn,
    value: &Value,
    opts: &MappingOptions,
    users: &dyn UserDirectory,
) -> Result<Json> {
    use MondayKind as K;
    if column.kind.is_read_only() {
        return Err(CoreError::WriteToReadOnly {
            target: monday_target(&column.id),
            reason: format!("a {} column", column.kind),
        });
    }
    if value.is_null() {
        return Ok(match column.kind {
            K::Text | K::Numbers => json!(""),
            K::Checkbox => Json::Null,
            K::Name => return Err(invalid(column, "", "the item name cannot be empty")),
            _ => json!({}),
        });
    }
    let mismatch = || {
        invalid(
            column,
            &value.to_string(),
            &format!(
                "a {} cannot be written to a {} column",
                value.type_name(),
                column.kind
            ),
        )
    };
    Ok(match (&column.kind, value) {
        (K::Name, Value::Text(s)) if s.chars().count() > MAX_ITEM_NAME => {
            return Err(invalid(
                column,
                s,
                &format!("an item name holds at most {MAX_ITEM_NAME} characters"),
            ));
        }
        (K::Name | K::Text, Value::Text(s)) => json!(s),
        (K::LongText, Value::Text(s)) => json!({ "text": s }),
        (K::Numbers, Value::Number(d)) => json!(d.normalize().to_string()),
        (K::Status, Value::Labels(labels)) => {
            let [one] = labels.as_slice() else {
                return Err(invalid(
                    column,
                    &labels.join(", "),
                    "a status holds one label",
                ));
            };
            check_label(column, one, opts)?;
            json!({ "label": one })
        }
        (K::Dropdown, Value::Labels(labels)) => {
            for l in labels {
                check_label(column, l, opts)?;
            }
            json!({ "labels": labels })
        }
        (K::Date, Value::Date(d)) => json!({ "date": d.to_string() }),
        (K::Date, Value::DateTime(dt)) => {
            let z = dt.instant.to_zoned(TimeZone::UTC);
            json!({ "date": z.date().to_string(), "time": z.strftime("%H:%M:%S").to_string() })
        }
        (K::Phone, Value::Phone { number, country }) => match country {
            Some(c) => json!({ "phone": number, "countryShortName": c }),
            None => json!({ "phone": number }),
        },
        (K::Email, Value::Text(e)) => json!({ "email": e, "text": e }),
        (K::Link, Value::Link { url, text }) => {
            json!({ "url": url, "text": text.as_deref().unwrap_or(url) })
        }
        (K::People, Value::People(emails)) => {
            let mut persons = Vec::with_capacity(emails.len());
            for e in emails {
                let id = users
                    .monday_user_id(e)
                    .ok_or_else(|| CoreError::UnknownUser {
                        target: monday_target(&column.id),
                        side: "monday",
                        who: format!("email {e}"),
                    })?;
                persons.push(json!({ "id": id, "kind": "person" }));
            }
            json!({ "personsAndTeams": persons })
        }
        (K::Checkbox, Value::Bool(true)) => json!({ "checked": "true" }),
        (K::Checkbox, Value::Bool(false)) => Json::Null,
        _ => return Err(mismatch()),
    })
}

fn check_label(column: &MondayColumn, label: &str, opts: &MappingOptions) -> Result<()> {
    if opts.create_labels || column.has_label(label) {
        Ok(())
    } else {
        Err(CoreError::UnknownLabel {
            column: column.id.clone(),
            label: label.into(),
        })
    }
}

fn invalid(column: &MondayColumn, value: &str, reason: &str) -> CoreError {
    CoreError::InvalidValue {
        target: monday_target(&column.id),
        value: value.into(),
        reason: reason.into(),
    }
}

/// Parses number text as a monday numbers column would accept it (`"42.5"`, `" -3 "`).
pub fn parse_number_text(s: &str) -> Option<rust_decimal::Decimal> {
    parse_decimal(s.trim())
}

/// monday's `updated_at` / `changed_at` (`2026-05-22T05:47:42Z`) as a timestamp.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserMap;

    #[test]
    fn recorded_read_values_parse() {
        let users = UserMap::new().with_monday_user(4616627, "Ann@example.com");
        let status = MondayColumn::new("status", MondayKind::Status).with_labels([
            "Working on it",
            "Done",
            "Stuck",
        ]);
        let cases: Vec<(MondayColumn, Option<&str>, Option<&str>, Value)> = vec![
            (
                status.clone(),
                Some(r#"{"index":1,"changed_at":"2026-05-22T05:47:17.769Z"}"#),
                Some("Done"),
                Value::labels(["Done"]),
            ),
            (
                MondayColumn::new("numbers", MondayKind::Numbers),
                Some(r#""3""#),
                Some("3"),
                Value::Number(3.into()),
            ),
            (
                MondayColumn::new("check", MondayKind::Checkbox),
                Some(r#"{"checked":false}"#),
                Some(""),
                Value::Bool(false),
            ),
            (
                MondayColumn::new("check", MondayKind::Checkbox),
                Some(r#"{"checked":"true","changed_at":"2026-05-22T05:47:17.769Z"}"#),
                Some("v"),
                Value::Bool(true),
            ),
            (
                MondayColumn::new("people", MondayKind::People),
                None,
                Some(""),
                Value::Null,
            ),
            (
                MondayColumn::new("people", MondayKind::People),
                Some(r#"{"personsAndTeams":[{"id":4616627,"kind":"person"}]}"#),
                None,
                Value::people(["ann@example.com"]),
            ),
            (
                MondayColumn::new("date", MondayKind::Date),
                Some(
                    r#"{"date":"2022-07-19","icon":null,"changed_at":"2022-07-21T12:00:00.000Z"}"#,
                ),
                Some("2022-07-19"),
                Value::Date("2022-07-19".parse().unwrap()),
            ),
            (
                MondayColumn::new("item_id", MondayKind::ItemId),
                Some(r#"{"item_id":"TNAN-001"}"#),
                Some("TNAN-001"),
                Value::text("TNAN-001"),
            ),
            (
                MondayColumn::new("mirror", MondayKind::Mirror),
                None,
                None,
                Value::Null,
            ),
        ];
        for (col, value, text, want) in cases {
            assert_eq!(
                read(&col, value, text, &users).unwrap(),
                want,
                "{} {value:?}",
                col.id
            );
        }
    }

    #[test]
    fn a_status_index_the_board_did_not_have_is_an_error_not_an_empty_status() {
        let users = UserMap::new();
        let col = MondayColumn::new("status", MondayKind::Status).with_labels(["Working on it"]);
        // Named by its text: read as that label.
        assert_eq!(
            read(&col, Some(r#"{"index":7}"#), Some("Qualification"), &users).unwrap(),
            Value::labels(["Qualification"])
        );
        // Neither known nor shown: an empty status would clear the other side.
        assert!(read(&col, Some(r#"{"index":7}"#), None, &users).is_err());
    }

    #[test]
    fn unknown_person_and_teams_are_record_errors() {
        let users = UserMap::new();
        let col = MondayColumn::new("people", MondayKind::People);
        let err = read(
            &col,
            Some(r#"{"personsAndTeams":[{"id":9,"kind":"person"}]}"#),
            None,
            &users,
        )
        .unwrap_err();
        assert!(
            err.is_record_error() && err.to_string().contains("id 9"),
            "{err}"
        );
        let err = read(
            &col,
            Some(r#"{"personsAndTeams":[{"id":9,"kind":"team"}]}"#),
            None,
            &users,
        )
        .unwrap_err();
        assert!(err.to_string().contains("teams"), "{err}");
    }

    #[test]
    fn status_label_missing_on_board_is_reported_unless_creating() {
        let users = UserMap::new();
        let col = MondayColumn::new("status", MondayKind::Status).with_labels(["Done"]);
        let v = Value::labels(["Blocked"]);
        let err = write(&col, &v, &MappingOptions::default(), &users).unwrap_err();
        assert_eq!(
            err,
            CoreError::UnknownLabel {
                column: "status".into(),
                label: "Blocked".into()
            }
        );
        let opts = MappingOptions {
            create_labels: true,
            ..Default::default()
        };
        assert_eq!(
            write(&col, &v, &opts, &users).unwrap(),
            json!({"label": "Blocked"})
        );
    }

    #[test]
    fn read_only_columns_are_never_written() {
        let col = MondayColumn::new("formula", MondayKind::Formula);
        let err = write(
            &col,
            &Value::text("x"),
            &MappingOptions::default(),
            &UserMap::new(),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "cannot write monday column formula: it is read-only (a formula column)"
        );
    }
}
