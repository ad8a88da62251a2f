//! One CSV row of an ingest job through the same writes as the REST API, and its outcome in
//! the words of the result files (`sf__Error`: `CODE:message:fields --`).

use serde_json::{Map, Value};

use super::job::{Operation, RowResult};
use crate::errors::SfError;
use crate::schema::{ObjectDef, Schema};
use crate::store::Org;
use crate::{ids, writes};

/// The job data's columns, resolved against the object.
#[derive(Debug)]
pub struct Columns {
    /// Canonical field names, in the data's order.
    names: Vec<String>,
    id: Option<usize>,
    key: Option<usize>,
}

/// Checks the header: every column must name a field (`delete` takes `Id` only).
/// The error is the job's `errorMessage`.
pub fn columns(
    o: &ObjectDef,
    header: &[String],
    op: Operation,
    external_id: Option<&str>,
) -> Result<Columns, String> {
    let mut names = Vec::with_capacity(header.len());
    for h in header {
        let f = o
            .field(h)
            .ok_or_else(|| format!("InvalidBatch : Field name not found : {h}"))?;
        if names.contains(&f.name) {
            return Err(format!("InvalidBatch : Duplicate field name : {h}"));
        }
        names.push(f.name.clone());
    }
    let position = |name: &str| names.iter().position(|n| n == name);
    let id = position("Id");
    let key = external_id.and_then(position);
    match op {
        Operation::Delete | Operation::HardDelete if names != ["Id"] => {
            return Err("InvalidBatch : The 'delete' batch must contain only 'Id'".into());
        }
        Operation::Update | Operation::Delete | Operation::HardDelete if id.is_none() => {
            return Err("InvalidBatch : Field name not found : Id".into());
        }
        Operation::Upsert if key.is_none() => {
            return Err(format!(
                "InvalidBatch : Field name not found : {}",
                external_id.unwrap_or("")
            ));
        }
        _ => {}
    }
    Ok(Columns { names, id, key })
}

/// `sf__Error` of a failed record.
pub fn error_text(e: &SfError) -> String {
    let fields = e.fields.clone().unwrap_or_default().join(",");
    if fields.is_empty() {
        format!("{}:{}:--", e.code, e.message)
    } else {
        format!("{}:{}:{fields} --", e.code, e.message)
    }
}

fn body(o: &ObjectDef, cols: &Columns, row: &[String], skip: Option<usize>) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, (name, raw)) in cols.names.iter().zip(row).enumerate() {
        if Some(i) == skip || raw.is_empty() {
            continue;
        }
        let value = if raw == "#N/A" {
            Value::Null
        } else if o.field(name).is_some_and(|f| f.kind == "boolean") {
            Value::String(match raw.as_str() {
                "1" => "true".into(),
                "0" => "false".into(),
                other => other.to_string(),
            })
        } else {
            Value::String(raw.clone())
        };
        m.insert(name.clone(), value);
    }
    m
}

fn cross_reference() -> SfError {
    SfError::with_fields(
        "INVALID_CROSS_REFERENCE_KEY",
        "invalid cross reference id",
        vec![],
    )
}

/// Writes one row as `user`; the outcome keeps the row as uploaded.
#[allow(clippy::too_many_arguments)]
pub fn write(
    schema: &Schema,
    org: &mut Org,
    o: &ObjectDef,
    cols: &Columns,
    op: Operation,
    external_id: Option<&str>,
    row: Vec<String>,
    user: &str,
) -> RowResult {
    let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).cloned().unwrap_or_default();
    let given_id = cell(cols.id);
    let outcome: Result<(String, bool), (String, SfError)> = match op {
        Operation::Insert => writes::create(schema, org, o, &body(o, cols, &row, None), user)
            .map(|id| (id, true))
            .map_err(|e| (String::new(), e)),
        Operation::Update => {
            let target = ids::normalize(&given_id)
                .filter(|id| org.record(schema, id).is_some_and(|r| r.object == o.name));
            match target {
                _ if given_id.is_empty() => Err((
                    String::new(),
                    SfError::with_fields(
                        "MISSING_ARGUMENT",
                        "Id not specified in an update call",
                        vec![],
                    ),
                )),
                None => Err((given_id.clone(), cross_reference())),
                Some(id) => {
                    writes::update(schema, org, o, &id, &body(o, cols, &row, cols.id), user)
                        .map(|()| (id.clone(), false))
                        .map_err(|e| (id, e))
                }
            }
        }
        Operation::Upsert => {
            let field = external_id.unwrap_or("Id");
            let value = cell(cols.key);
            let fields = body(o, cols, &row, cols.key);
            if value.is_empty() && field == "Id" {
                writes::create(schema, org, o, &fields, user)
                    .map(|id| (id, true))
                    .map_err(|e| (String::new(), e))
            } else if value.is_empty() {
                Err((
                    String::new(),
                    SfError::with_fields(
                        "MISSING_ARGUMENT",
                        format!("{field} not specified"),
                        vec![],
                    ),
                ))
            } else {
                let key = writes::ExtKey {
                    field,
                    value: &value,
                    update_only: false,
                };
                writes::upsert(schema, org, o, &key, &fields, user)
                    .map_err(|e| (ids::normalize(&given_id).unwrap_or_default(), e))
            }
        }
        Operation::Delete | Operation::HardDelete | Operation::Query | Operation::QueryAll => {
            let target = ids::normalize(&given_id)
                .filter(|id| org.record(schema, id).is_some_and(|r| r.object == o.name));
            match target {
                None => Err((given_id.clone(), cross_reference())),
                Some(id) => writes::delete_as(schema, org, &id, Some(user))
                    .map(|id| (id, false))
                    .map_err(|e| (id, e)),
            }
        }
    };
    match outcome {
        Ok((id, created)) => RowResult {
            id,
            created,
            error: None,
            row,
        },
        Err((id, e)) => RowResult {
            id,
            created: false,
            error: Some(error_text(&e)),
            row,
        },
    }
}

/// A record refused because its rows stayed locked through every retry.
pub fn locked(row: Vec<String>, cols: &Columns) -> RowResult {
    let id = cols
        .id
        .and_then(|i| row.get(i))
        .and_then(|s| ids::normalize(s))
        .unwrap_or_default();
    let e = SfError::with_fields(
        "UNABLE_TO_LOCK_ROW",
        format!("unable to obtain exclusive access to this record or 1 records: {id}"),
        vec![],
    );
    RowResult {
        id,
        created: false,
        error: Some(error_text(&e)),
        row,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_in_the_result_files() {
        let e = SfError::with_fields(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name]",
            vec!["Name".into()],
        );
        assert_eq!(
            error_text(&e),
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
        );
        assert_eq!(
            error_text(&cross_reference()),
            "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
        );
    }
}
