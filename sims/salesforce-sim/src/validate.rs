//! Checks a write body the way Salesforce does and turns values into their stored form.

use serde_json::{Map, Number, Value};

use crate::clock;
use crate::errors::SfError;
use crate::ids;
use crate::schema::{FieldDef, ObjectDef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
}

fn type_error(f: &FieldDef, v: &Value) -> SfError {
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    SfError::with_fields(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        format!("{}: value not of required type: {shown}", f.label()),
        vec![f.name.clone()],
    )
}

fn as_text(f: &FieldDef, v: &Value) -> Result<String, SfError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(SfError::with_fields(
            "JSON_PARSER_ERROR",
            format!(
                "Cannot deserialize instance of string from {} value",
                json_kind(v)
            ),
            vec![f.name.clone()],
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        _ => "VALUE",
    }
}

fn as_number(f: &FieldDef, v: &Value) -> Result<f64, SfError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| type_error(f, v)),
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| type_error(f, v)),
        _ => Err(type_error(f, v)),
    }
}

/// One value, checked and converted for storage.
pub fn coerce(f: &FieldDef, v: &Value) -> Result<Value, SfError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let kind = f.kind.as_str();
    match kind {
        "string" | "textarea" | "email" | "phone" | "url" | "combobox" | "picklist"
        | "multipicklist" => {
            let s = as_text(f, v)?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            if s.chars().count() > f.length() as usize {
                return Err(SfError::with_fields(
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {s} (max length={})",
                        f.label(),
                        f.length()
                    ),
                    vec![f.name.clone()],
                ));
            }
            if kind == "email" && !looks_like_email(&s) {
                return Err(SfError::with_fields(
                    "INVALID_EMAIL_ADDRESS",
                    format!("{}: invalid email address: {s}", f.label()),
                    vec![f.name.clone()],
                ));
            }
            if kind == "picklist" && f.restricted_picklist && !f.picklist_allows(&s) {
                return Err(bad_picklist(f, &s));
            }
            if kind == "multipicklist"
                && f.restricted_picklist
                && let Some(bad) = s.split(';').find(|p| !f.picklist_allows(p))
            {
                return Err(bad_picklist(f, bad));
            }
            Ok(Value::String(s))
        }
        "double" | "currency" | "percent" | "int" | "long" => {
            let n = as_number(f, v)?;
            if !n.is_finite() {
                return Err(type_error(f, v));
            }
            let int_digits = if kind == "int" || kind == "long" {
                if n.fract() != 0.0 {
                    return Err(type_error(f, v));
                }
                if f.digits > 0 { f.digits } else { 18 }
            } else {
                f.precision.saturating_sub(f.scale).max(1)
            };
            if n.abs().trunc() >= 10f64.powi(int_digits as i32) {
                return Err(SfError::with_fields(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    format!(
                        "{}: value outside of valid range on numeric field: {n}",
                        f.label()
                    ),
                    vec![f.name.clone()],
                ));
            }
            if kind == "int" || kind == "long" {
                return Ok(Value::Number(Number::from(n as i64)));
            }
            Ok(Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null))
        }
        "boolean" => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(type_error(f, v)),
        },
        "date" => {
            let s = v.as_str().ok_or_else(|| type_error(f, v))?;
            let d = clock::parse_date(s)
                .or_else(|| clock::parse_datetime(s).map(|t| t.date()))
                .ok_or_else(|| type_error(f, v))?;
            Ok(Value::String(clock::format_date(d)))
        }
        "datetime" => {
            let s = v.as_str().ok_or_else(|| type_error(f, v))?;
            let t = clock::parse_datetime(s)
                .or_else(|| clock::parse_date(s).map(|d| d.midnight().assume_utc()))
                .ok_or_else(|| type_error(f, v))?;
            Ok(Value::String(clock::format_datetime(t)))
        }
        "reference" | "id" => {
            let s = v.as_str().ok_or_else(|| type_error(f, v))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            let id = ids::normalize(s).ok_or_else(|| {
                SfError::with_fields(
                    "MALFORMED_ID",
                    format!("{}: id value of incorrect type: {s}", f.label()),
                    vec![f.name.clone()],
                )
            })?;
            Ok(Value::String(id))
        }
        _ => Ok(v.clone()),
    }
}

fn bad_picklist(f: &FieldDef, value: &str) -> SfError {
    SfError::with_fields(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        format!(
            "{}: bad value for restricted picklist field: {value}",
            f.label()
        ),
        vec![f.name.clone()],
    )
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Checks a body for `kind` and returns the values to store, by canonical field name.
/// `extra_ok` names body keys to skip silently (e.g. the external id on upsert).
pub fn check_body(
    o: &ObjectDef,
    body: &Map<String, Value>,
    kind: WriteKind,
) -> Result<Map<String, Value>, SfError> {
    let mut out = Map::new();
    let mut read_only = Vec::new();
    for (key, value) in body {
        if key == "attributes" || (kind == WriteKind::Update && key.eq_ignore_ascii_case("id")) {
            continue;
        }
        let Some(f) = o.field(key) else {
            return Err(SfError::new(
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {}", o.name),
            ));
        };
        let writable = match kind {
            WriteKind::Create => f.createable,
            WriteKind::Update => f.updateable,
        };
        if !writable {
            read_only.push(f.name.clone());
            continue;
        }
        out.insert(f.name.clone(), coerce(f, value)?);
    }
    if !read_only.is_empty() {
        return Err(SfError::with_fields(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                read_only.join(", ")
            ),
            read_only,
        ));
    }
    let missing: Vec<String> = match kind {
        WriteKind::Create => o
            .fields
            .iter()
            .filter(|f| f.required_on_create())
            .filter(|f| out.get(&f.name).is_none_or(Value::is_null))
            .map(|f| f.name.clone())
            .collect(),
        WriteKind::Update => o
            .fields
            .iter()
            .filter(|f| !f.nillable && f.kind != "boolean")
            .filter(|f| matches!(out.get(&f.name), Some(Value::Null)))
            .map(|f| f.name.clone())
            .collect(),
    };
    if !missing.is_empty() {
        return Err(SfError::with_fields(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            missing,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn rejections_carry_salesforce_codes_and_messages() {
        let s = Schema::load().unwrap();
        let opp = s.object("Opportunity").unwrap();
        let acc = s.object("Account").unwrap();
        let cases: Vec<(&ObjectDef, Value, WriteKind, &str, &str)> = vec![
            (
                opp,
                json!({"Name":"A","CloseDate":"2024-01-01","StageName":"Nope"}),
                WriteKind::Create,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Stage: bad value for restricted picklist field: Nope",
            ),
            (
                opp,
                json!({"Name":"A","StageName":"Prospecting"}),
                WriteKind::Create,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [CloseDate]",
            ),
            (
                acc,
                json!({"Name":"x".repeat(256)}),
                WriteKind::Create,
                "STRING_TOO_LONG",
                "Account Name: data value too large",
            ),
            (
                acc,
                json!({"Name":"A","NumberOfEmployees":"many"}),
                WriteKind::Create,
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                "Employees: value not of required type: many",
            ),
            (
                acc,
                json!({"Name":"A","CreatedDate":"2024-01-01T00:00:00Z"}),
                WriteKind::Create,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update fields: CreatedDate.",
            ),
            (
                acc,
                json!({"Name":"A","Foo__c":"1"}),
                WriteKind::Create,
                "INVALID_FIELD",
                "No such column 'Foo__c' on sobject of type Account",
            ),
            (
                acc,
                json!({"Name":null}),
                WriteKind::Update,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [Name]",
            ),
        ];
        for (o, b, kind, code, msg) in cases {
            let err = check_body(o, &body(b.clone()), kind).expect_err(&b.to_string());
            assert_eq!(err.code, code, "{b}");
            assert!(
                err.message.starts_with(msg),
                "{} does not start with {msg}",
                err.message
            );
        }
    }

    #[test]
    fn values_are_stored_in_wire_form() {
        let s = Schema::load().unwrap();
        let p = s.object("Project__c").unwrap();
        let out = check_body(
            p,
            &body(json!({"Summary__c":"S","Kickoff_At__c":"2024-01-02T05:04:05+02:00",
                         "Start_Date__c":"2024-03-04","Is_Billable__c":"true","Tags__c":"Design;Legal",
                         "Account__c":"001dM00003jU9Gx"})),
            WriteKind::Create,
        )
        .unwrap();
        assert_eq!(out["Kickoff_At__c"], json!("2024-01-02T03:04:05.000+0000"));
        assert_eq!(out["Is_Billable__c"], json!(true));
        assert_eq!(out["Account__c"], json!("001dM00003jU9GxQAK"));
    }
}
