//! Column values in monday's wire formats: parsing writes (JSON and "simple" strings),
//! validating them against the column's settings, and rendering `value` / `text` on reads.
//!
//! Stored values are the JSON objects monday returns in `ColumnValue.value` (e.g. status
//! `{"index":1,"changed_at":"…"}`, numbers `"42"`), so a read is a plain serialisation.
//! Mirror and formula cells hold `{"display_value": "…"}` internally; their `value` reads as null.

use serde_json::{Value, json};

use crate::errors::ApiError;

/// A column as the value layer needs it: its type and settings (status/dropdown labels).
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub id: String,
    pub kind: String,
    pub settings: Value,
}

/// What a mutation asked to write into one cell.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A parsed `column_values[col]` / `change_column_value.value`.
    Json(&'a Value),
    /// `change_simple_column_value.value` (None clears).
    Simple(Option<&'a str>),
}

/// Read-side rendering of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The `value` field: a JSON-encoded string, or None (null).
    pub value: Option<String>,
    /// The `text` field.
    pub text: Option<String>,
}

/// Column types the API refuses to write.
pub fn is_read_only(kind: &str) -> bool {
    matches!(
        kind,
        "mirror"
            | "formula"
            | "auto_number"
            | "creation_log"
            | "last_updated"
            | "item_id"
            | "progress"
            | "subtasks"
            | "button"
            | "file"
            | "direct_doc"
    )
}

/// The internal type name monday reports in `error_data.column_type` and webhook payloads.
pub fn internal_type(kind: &str) -> &str {
    match kind {
        "status" => "color",
        "checkbox" => "boolean",
        "people" => "multiple-person",
        "long_text" => "long-text",
        "numbers" => "numeric",
        "mirror" => "lookup",
        "board_relation" => "board-relation",
        other => other,
    }
}

/// monday's internal class name of a column type (`ColorColumn`, `LookupColumn`, …), as in
/// `error_data.actual_type`.
pub fn class_name(kind: &str) -> String {
    let internal = match kind {
        "time_tracking" => "duration",
        other => internal_type(other),
    };
    let camel: String = internal
        .split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{camel}Column")
}

fn invalid(col: &ColumnSpec, why: &str) -> ApiError {
    ApiError::column_value(
        format!(
            "invalid value - {why}. Please check our API documentation for the correct data \
             structure for this column. https://developer.monday.com/api-reference/docs/change-column-values"
        ),
        internal_type(&col.kind),
    )
}

/// Status labels from settings: `{"labels": {"1": "Done", …}}` → (index, label).
pub fn status_labels(settings: &Value) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = settings
        .get("labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Dropdown labels from settings: `{"labels": [{"id":1,"name":"x"}]}`.
pub fn dropdown_labels(settings: &Value) -> Vec<(i64, String)> {
    settings
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| {
                    Some((l.get("id")?.as_i64()?, l.get("name")?.as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn add_status_label(col: &mut ColumnSpec, label: &str) -> i64 {
    let used: Vec<i64> = status_labels(&col.settings)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let index = (0..)
        .find(|i| *i != 5 && !used.contains(i))
        .unwrap_or_default();
    if !col.settings.is_object() {
        col.settings = json!({});
    }
    let labels = col
        .settings
        .as_object_mut()
        .map(|o| o.entry("labels").or_insert(json!({})));
    if let Some(Value::Object(m)) = labels {
        m.insert(index.to_string(), Value::String(label.to_string()));
    }
    index
}

fn add_dropdown_label(col: &mut ColumnSpec, label: &str) -> i64 {
    let id = dropdown_labels(&col.settings)
        .iter()
        .map(|(i, _)| *i)
        .max()
        .unwrap_or(0)
        + 1;
    if !col.settings.is_object() {
        col.settings = json!({});
    }
    let labels = col
        .settings
        .as_object_mut()
        .map(|o| o.entry("labels").or_insert(json!([])));
    if let Some(Value::Array(a)) = labels {
        a.push(json!({"id": id, "name": label}));
    }
    id
}

fn is_clear(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Context a write needs beyond the column: whether users exist, the clock.
pub struct WriteCtx<'a> {
    pub create_labels_if_missing: bool,
    pub user_exists: &'a dyn Fn(i64) -> bool,
    pub changed_at: String,
}

/// Validate and convert one write into the stored value (None clears the cell).
/// May add a label to `col.settings` when `create_labels_if_missing` is set.
pub fn write(
    col: &mut ColumnSpec,
    input: Input<'_>,
    ctx: &WriteCtx<'_>,
) -> Result<Option<Value>, ApiError> {
    if is_read_only(&col.kind) {
        // Seen from the real API (2026-01) when writing a column it cannot write.
        return Err(ApiError::new(
            "InvalidColumnTypeException",
            200,
            "This column type is not supported yet in the API",
            json!({"actual_type": class_name(&col.kind)}),
        ));
    }
    let json_owned;
    let v: &Value = match input {
        Input::Json(v) => v,
        Input::Simple(s) => {
            json_owned = simple_to_json(col, s)?;
            &json_owned
        }
    };
    if is_clear(v) && col.kind != "checkbox" {
        return Ok(None);
    }
    let at = ctx.changed_at.clone();
    let stored = match col.kind.as_str() {
        "text" => match v {
            Value::String(s) => Value::String(s.clone()),
            Value::Number(n) => Value::String(n.to_string()),
            _ => return Err(invalid(col, "text column expects a string")),
        },
        "numbers" => {
            let s = match v {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => return Err(invalid(col, "numbers column expects a number")),
            };
            if s.parse::<f64>().map(|f| !f.is_finite()).unwrap_or(true) {
                return Err(invalid(col, "numbers column expects a number"));
            }
            Value::String(s)
        }
        "long_text" => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Object(_) => str_field(v, "text")
                    .ok_or_else(|| invalid(col, "long text expects {\"text\": …}"))?
                    .to_string(),
                _ => return Err(invalid(col, "long text expects {\"text\": …}")),
            };
            json!({"text": text, "changed_at": at})
        }
        "status" => {
            let index = match (v.get("index"), v.get("label"), v) {
                (Some(i), _, _) => {
                    let i = i
                        .as_i64()
                        .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| invalid(col, "index should be a number"))?;
                    if !status_labels(&col.settings).iter().any(|(k, _)| *k == i) {
                        return Err(invalid(col, "index does not exist in column"));
                    }
                    i
                }
                (_, Some(Value::String(l)), _) | (_, _, Value::String(l)) => {
                    status_index(col, l, ctx)?
                }
                _ => {
                    return Err(invalid(
                        col,
                        "status expects {\"label\": …} or {\"index\": …}",
                    ));
                }
            };
            json!({"index": index, "changed_at": at})
        }
        "dropdown" => {
            let mut ids = Vec::new();
            if let Some(list) = v.get("ids").and_then(Value::as_array) {
                let known = dropdown_labels(&col.settings);
                for i in list {
                    let i = i
                        .as_i64()
                        .or_else(|| i.as_str().and_then(|s| s.trim().parse().ok()))
                        .ok_or_else(|| invalid(col, "dropdown ids should be numbers"))?;
                    if !known.iter().any(|(k, _)| *k == i) {
                        return Err(invalid(col, "dropdown label id does not exist"));
                    }
                    ids.push(i);
                }
            } else if let Some(list) = v.get("labels").and_then(Value::as_array) {
                for l in list {
                    let l = l
                        .as_str()
                        .ok_or_else(|| invalid(col, "dropdown labels should be strings"))?;
                    let found = dropdown_labels(&col.settings)
                        .into_iter()
                        .find(|(_, n)| n == l);
                    match found {
                        Some((i, _)) => ids.push(i),
                        None if ctx.create_labels_if_missing => {
                            ids.push(add_dropdown_label(col, l))
                        }
                        None => return Err(invalid(col, "label does not exist in column")),
                    }
                }
            } else {
                return Err(invalid(
                    col,
                    "dropdown expects {\"labels\": […]} or {\"ids\": […]}",
                ));
            }
            json!({"ids": ids, "changed_at": at})
        }
        "date" => {
            let date = str_field(v, "date")
                .ok_or_else(|| invalid(col, "date expects {\"date\": \"YYYY-MM-DD\"}"))?;
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(date, &fmt).map_err(|_| invalid(col, "date should be YYYY-MM-DD"))?;
            let time = str_field(v, "time").filter(|t| !t.is_empty());
            if let Some(t) = time {
                let tf = time::macros::format_description!("[hour]:[minute]:[second]");
                time::Time::parse(t, &tf).map_err(|_| invalid(col, "time should be HH:MM:SS"))?;
            }
            match time {
                Some(t) => json!({"date": date, "time": t, "icon": null, "changed_at": at}),
                None => json!({"date": date, "icon": null, "changed_at": at}),
            }
        }
        "people" => {
            let list = v
                .get("personsAndTeams")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid(col, "people expects {\"personsAndTeams\": […]}"))?;
            let mut out = Vec::new();
            for p in list {
                let id = p
                    .get("id")
                    .and_then(|i| {
                        i.as_i64()
                            .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
                    })
                    .ok_or_else(|| invalid(col, "person id should be a number"))?;
                let kind = str_field(p, "kind").unwrap_or("person");
                if kind != "person" && kind != "team" {
                    return Err(invalid(col, "kind should be person or team"));
                }
                if kind == "person" && !(ctx.user_exists)(id) {
                    return Err(invalid(col, "user does not exist"));
                }
                out.push(json!({"id": id, "kind": kind}));
            }
            json!({"personsAndTeams": out, "changed_at": at})
        }
        "email" => {
            let email = str_field(v, "email")
                .ok_or_else(|| invalid(col, "email expects {\"email\": …}"))?;
            if !email.contains('@') {
                return Err(invalid(col, "email is not valid"));
            }
            let text = str_field(v, "text").unwrap_or(email);
            json!({"email": email, "text": text, "changed_at": at})
        }
        "link" => {
            let url =
                str_field(v, "url").ok_or_else(|| invalid(col, "link expects {\"url\": …}"))?;
            let text = str_field(v, "text").unwrap_or(url);
            json!({"url": url, "text": text, "changed_at": at})
        }
        "phone" => {
            let phone = str_field(v, "phone")
                .ok_or_else(|| invalid(col, "phone expects {\"phone\": …}"))?;
            if phone.is_empty()
                || !phone
                    .trim_start_matches('+')
                    .chars()
                    .all(|c| c.is_ascii_digit())
            {
                return Err(invalid(col, "phone should hold digits"));
            }
            let country = str_field(v, "countryShortName").unwrap_or("");
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(invalid(col, "countryShortName should be an ISO-2 code"));
            }
            json!({"phone": phone, "countryShortName": country, "changed_at": at})
        }
        "checkbox" => {
            let checked = match v.get("checked").or(v.get("check")) {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) if s == "true" => true,
                Some(Value::String(s)) if s == "false" => false,
                Some(Value::Null) | None
                    if is_clear(v) || v.get("checked").is_some() || v.get("check").is_some() =>
                {
                    false
                }
                _ => return Err(invalid(col, "checkbox expects {\"checked\": \"true\"}")),
            };
            if checked {
                json!({"checked": true, "changed_at": at})
            } else {
                json!({"checked": false})
            }
        }
        "board_relation" => {
            let ids: Vec<i64> = if let Some(list) = v.get("item_ids").and_then(Value::as_array) {
                list.iter()
                    .map(|i| {
                        i.as_i64()
                            .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
                    })
                    .collect::<Option<_>>()
                    .ok_or_else(|| invalid(col, "item_ids should be numbers"))?
            } else {
                return Err(invalid(col, "board relation expects {\"item_ids\": […]}"));
            };
            let linked: Vec<Value> = ids.iter().map(|i| json!({"linkedPulseId": i})).collect();
            json!({"linkedPulseIds": linked, "changed_at": at})
        }
        _ => v.clone(),
    };
    Ok(Some(stored))
}

fn status_index(col: &mut ColumnSpec, label: &str, ctx: &WriteCtx<'_>) -> Result<i64, ApiError> {
    if let Some((i, _)) = status_labels(&col.settings)
        .into_iter()
        .find(|(_, l)| l == label)
    {
        return Ok(i);
    }
    if ctx.create_labels_if_missing {
        return Ok(add_status_label(col, label));
    }
    Err(invalid(col, "label does not exist in column"))
}

/// The documented simple-string forms of `change_simple_column_value`.
fn simple_to_json(col: &ColumnSpec, s: Option<&str>) -> Result<Value, ApiError> {
    let Some(s) = s.map(str::trim) else {
        return Ok(Value::Null);
    };
    if s.is_empty() {
        return Ok(Value::Null);
    }
    let mut words = s.splitn(2, ' ');
    let first = words.next().unwrap_or_default();
    let rest = words.next().map(str::trim).filter(|r| !r.is_empty());
    Ok(match col.kind.as_str() {
        "text" | "numbers" => Value::String(s.to_string()),
        "long_text" => json!({"text": s}),
        "status" => json!({"label": s}),
        "dropdown" => json!({"labels": s.split(',').map(str::trim).collect::<Vec<_>>()}),
        "date" => match rest {
            Some(t) => json!({"date": first, "time": t}),
            None => json!({"date": first}),
        },
        "people" => {
            let list: Vec<Value> = s
                .split(',')
                .map(|p| json!({"id": p.trim(), "kind": "person"}))
                .collect();
            json!({"personsAndTeams": list})
        }
        "email" => json!({"email": first, "text": rest.unwrap_or(first)}),
        "link" => json!({"url": first, "text": rest.unwrap_or(first)}),
        "phone" => json!({"phone": first, "countryShortName": rest.unwrap_or("")}),
        _ => {
            let class = class_name(&col.kind);
            return Err(ApiError::new(
                "CorrectedValueException",
                200,
                format!(
                    "column type {class} is not supporting changing the column value with simple column value, \
                     please check our API documentation for the correct data structure for this column."
                ),
                json!({"column_type": class}),
            ));
        }
    })
}

/// Render `value` and `text` the way reads return them.
pub fn render(
    col: &ColumnSpec,
    stored: Option<&Value>,
    user_name: &dyn Fn(i64) -> Option<String>,
) -> Rendered {
    let kind = col.kind.as_str();
    if matches!(kind, "mirror" | "formula" | "board_relation" | "subtasks") {
        let value = match (kind, stored) {
            ("board_relation", Some(v)) => Some(v.to_string()),
            _ => None,
        };
        return Rendered { value, text: None };
    }
    let Some(v) = stored else {
        return Rendered {
            value: None,
            text: Some(String::new()),
        };
    };
    let text = match kind {
        "text" | "numbers" => v.as_str().unwrap_or_default().to_string(),
        "long_text" => str_field(v, "text").unwrap_or_default().to_string(),
        "status" => {
            let i = v.get("index").and_then(Value::as_i64);
            status_labels(&col.settings)
                .into_iter()
                .find(|(k, _)| Some(*k) == i)
                .map(|(_, l)| l)
                .unwrap_or_default()
        }
        "dropdown" => {
            let labels = dropdown_labels(&col.settings);
            v.get("ids")
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|i| {
                            labels
                                .iter()
                                .find(|(k, _)| Some(*k) == i.as_i64())
                                .map(|(_, n)| n.clone())
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        }
        "date" => match (str_field(v, "date"), str_field(v, "time")) {
            (Some(d), Some(t)) => format!("{d} {}", &t[..t.len().min(5)]),
            (Some(d), None) => d.to_string(),
            _ => String::new(),
        },
        "people" => v
            .get("personsAndTeams")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| user_name(p.get("id")?.as_i64()?))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        "email" => str_field(v, "email").unwrap_or_default().to_string(),
        "link" => match (str_field(v, "url"), str_field(v, "text")) {
            (Some(u), Some(t)) if t != u => format!("{t} - {u}"),
            (Some(u), _) => u.to_string(),
            _ => String::new(),
        },
        "phone" => str_field(v, "phone").unwrap_or_default().to_string(),
        "checkbox" => {
            if v.get("checked").and_then(Value::as_bool).unwrap_or(false) {
                "v".to_string()
            } else {
                String::new()
            }
        }
        "item_id" => str_field(v, "item_id").unwrap_or_default().to_string(),
        _ => String::new(),
    };
    Rendered {
        value: Some(v.to_string()),
        text: Some(text),
    }
}

/// Display value of a computed (mirror/formula) cell.
pub fn display_value(stored: Option<&Value>) -> String {
    stored
        .and_then(|v| str_field(v, "display_value"))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests;
