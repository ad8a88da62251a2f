//! sObject Collections: `composite/sobjects` create, update, upsert, delete and retrieve, up
//! to 200 records a call, `allOrNone`, results per record in request order.

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::errors::{ApiError, SfError};
use crate::http::{Reply, Req};
use crate::rest::Ctx;
use crate::store::Org;
use crate::{Shared, ids, writes};

const MAX_RECORDS: usize = 200;

/// One record's outcome.
struct Outcome {
    id: Option<String>,
    error: Option<SfError>,
    created: Option<bool>,
}

impl Outcome {
    fn ok(id: String, created: Option<bool>) -> Self {
        Outcome {
            id: Some(id),
            error: None,
            created,
        }
    }

    fn fail(id: Option<String>, e: SfError, created: Option<bool>) -> Self {
        Outcome {
            id,
            error: Some(e),
            created: created.map(|_| false),
        }
    }

    fn json(&self) -> Value {
        let mut m = Map::new();
        if let Some(id) = &self.id {
            m.insert("id".into(), json!(id));
        }
        m.insert("success".into(), json!(self.error.is_none()));
        let errors: Vec<Value> = self.error.iter().map(SfError::collection_json).collect();
        m.insert("errors".into(), Value::Array(errors));
        if let Some(c) = self.created {
            m.insert("created".into(), json!(c));
        }
        Value::Object(m)
    }
}

fn too_many() -> ApiError {
    ApiError::bad_request(
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )
}

fn no_attributes() -> SfError {
    SfError::with_fields(
        "JSON_PARSER_ERROR",
        "Nested object for polymorphic foreign key must have an attributes field before any other fields.",
        vec![],
    )
}

fn record_type(rec: &Map<String, Value>) -> Option<&str> {
    rec.get("attributes")?.get("type")?.as_str()
}

fn parse_body(req: &Req) -> Result<(bool, Vec<Map<String, Value>>), ApiError> {
    let body = req.json_body()?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(records) = body.get("records").and_then(Value::as_array) else {
        return Err(ApiError::json_parser("Missing required field: records"));
    };
    if records.len() > MAX_RECORDS {
        return Err(too_many());
    }
    let recs = records
        .iter()
        .map(|r| {
            r.as_object()
                .cloned()
                .ok_or_else(|| ApiError::json_parser("Each record must be a JSON object"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((all_or_none, recs))
}

pub fn handle(shared: &Shared, ctx: &Ctx, req: &Req, rest: &[&str]) -> Result<Reply, ApiError> {
    let m = &req.method;
    let outcomes = match (m, rest) {
        (&Method::GET, [obj]) => return retrieve(shared, ctx, req, obj),
        (&Method::POST, []) => {
            let (aon, recs) = parse_body(req)?;
            run(shared, ctx, aon, &recs, |org, rec| {
                create_one(shared, ctx, org, rec)
            })
        }
        (&Method::PATCH, []) => {
            let (aon, recs) = parse_body(req)?;
            run(shared, ctx, aon, &recs, |org, rec| {
                update_one(shared, ctx, org, rec)
            })
        }
        (&Method::PATCH, [obj, field]) => {
            let o = shared
                .schema
                .object(obj)
                .ok_or_else(|| ApiError::invalid_type(obj))?;
            let (aon, recs) = parse_body(req)?;
            run(shared, ctx, aon, &recs, |org, rec| {
                if record_type(rec).is_none() {
                    return Outcome::fail(None, no_attributes(), Some(false));
                }
                let Some(value) = rec
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(field))
                    .map(|(_, v)| v.clone())
                else {
                    return Outcome::fail(
                        None,
                        SfError::with_fields(
                            "MISSING_ARGUMENT",
                            format!("{field} not specified"),
                            vec![],
                        ),
                        Some(false),
                    );
                };
                let value = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let key = writes::ExtKey {
                    field,
                    value: &value,
                    update_only: false,
                };
                match writes::upsert(&shared.schema, org, o, &key, rec, &ctx.user_id) {
                    Ok((id, created)) => Outcome::ok(id, Some(created)),
                    Err(e) => Outcome::fail(None, e, Some(false)),
                }
            })
        }
        (&Method::DELETE, []) => {
            let ids_param = req.query_param("ids").unwrap_or_default();
            let list: Vec<String> = ids_param
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if list.len() > MAX_RECORDS {
                return Err(too_many());
            }
            let aon = req.query_param("allOrNone").is_some_and(|v| v == "true");
            let recs: Vec<Map<String, Value>> = list
                .iter()
                .map(|id| {
                    let mut m = Map::new();
                    m.insert("id".into(), json!(id));
                    m
                })
                .collect();
            run(shared, ctx, aon, &recs, |org, rec| {
                let id = rec
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                match writes::delete_as(&shared.schema, org, &id, Some(&ctx.user_id)) {
                    Ok(id) => Outcome::ok(id, None),
                    Err(e) if e.code == "NOT_FOUND" => Outcome::fail(
                        Some(id),
                        SfError::with_fields(
                            "INVALID_CROSS_REFERENCE_KEY",
                            "invalid cross reference id",
                            vec![],
                        ),
                        None,
                    ),
                    Err(e) => Outcome::fail(ids::normalize(&id), e, None),
                }
            })
        }
        _ => return Err(ApiError::method_not_allowed(m.as_str())),
    };
    let body: Vec<Value> = outcomes.iter().map(Outcome::json).collect();
    Ok(Reply::json(StatusCode::OK, &Value::Array(body)))
}

fn create_one(shared: &Shared, ctx: &Ctx, org: &mut Org, rec: &Map<String, Value>) -> Outcome {
    let Some(o) = record_type(rec).and_then(|t| shared.schema.object(t)) else {
        let e = match record_type(rec) {
            None => no_attributes(),
            Some(t) => SfError::with_fields(
                "INVALID_TYPE",
                format!("sObject type '{t}' is not supported."),
                vec![],
            ),
        };
        return Outcome::fail(None, e, None);
    };
    if rec.keys().any(|k| k.eq_ignore_ascii_case("id")) {
        return Outcome::fail(
            None,
            SfError::with_fields(
                "INVALID_FIELD",
                "cannot specify Id in an insert call",
                vec![],
            ),
            None,
        );
    }
    match writes::create(&shared.schema, org, o, rec, &ctx.user_id) {
        Ok(id) => Outcome::ok(id, None),
        Err(e) => Outcome::fail(None, e, None),
    }
}

fn update_one(shared: &Shared, ctx: &Ctx, org: &mut Org, rec: &Map<String, Value>) -> Outcome {
    let Some(id) = rec
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .and_then(|(_, v)| v.as_str())
    else {
        return Outcome::fail(
            None,
            SfError::with_fields(
                "MISSING_ARGUMENT",
                "Id not specified in an update call",
                vec![],
            ),
            None,
        );
    };
    let target = org
        .record(&shared.schema, id)
        .map(|r| (r.id.clone(), r.object.clone()));
    let Some((id, object)) = target else {
        return Outcome::fail(
            None,
            SfError::with_fields(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
                vec![],
            ),
            None,
        );
    };
    let Some(o) = shared.schema.object(&object) else {
        return Outcome::fail(
            None,
            SfError::with_fields(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
                vec![],
            ),
            None,
        );
    };
    if let Some(t) = record_type(rec)
        && !t.eq_ignore_ascii_case(&o.name)
    {
        return Outcome::fail(
            Some(id),
            SfError::with_fields(
                "INVALID_FIELD",
                format!("Record type {t} does not match id {}", o.name),
                vec![],
            ),
            None,
        );
    }
    match writes::update(&shared.schema, org, o, &id, rec, &ctx.user_id) {
        Ok(()) => Outcome::ok(id, None),
        Err(e) => Outcome::fail(Some(id), e, None),
    }
}

/// Runs `op` over the records in order; with `allOrNone`, one failure rolls back all.
fn run(
    shared: &Shared,
    ctx: &Ctx,
    all_or_none: bool,
    recs: &[Map<String, Value>],
    op: impl Fn(&mut Org, &Map<String, Value>) -> Outcome,
) -> Vec<Outcome> {
    let locked = shared.faults.take_lock();
    shared.with_org(&ctx.org, |org, _| {
        if locked {
            return recs
                .iter()
                .map(|r| {
                    let id = r.get("id").or_else(|| r.get("Id")).and_then(Value::as_str).map(str::to_string);
                    Outcome::fail(
                        id.clone(),
                        SfError::with_fields(
                            "UNABLE_TO_LOCK_ROW",
                            format!("unable to obtain exclusive access to this record or 1 records: {}", id.unwrap_or_default()),
                            vec![],
                        ),
                        None,
                    )
                })
                .collect();
        }
        let snapshot = all_or_none.then(|| (org.records.clone(), org.cdc.journal.len()));
        let mut outcomes: Vec<Outcome> = recs.iter().map(|r| op(org, r)).collect();
        if let Some((saved, mark)) = snapshot
            && outcomes.iter().any(|o| o.error.is_some())
        {
            org.records = saved;
            org.forget_keys();
            org.cdc.rollback(mark);
            for o in outcomes.iter_mut().filter(|o| o.error.is_none()) {
                *o = Outcome::fail(
                    None,
                    SfError::with_fields(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request was using AllOrNone header",
                        vec![],
                    ),
                    o.created,
                );
            }
        }
        outcomes
    })
}

/// `GET composite/sobjects/{O}?ids=…&fields=…`: records in order, `null` for missing ones.
fn retrieve(shared: &Shared, ctx: &Ctx, req: &Req, obj: &str) -> Result<Reply, ApiError> {
    let o = shared
        .schema
        .object(obj)
        .ok_or_else(|| ApiError::invalid_type(obj))?;
    let ids_param = req.query_param("ids").unwrap_or_default();
    let fields_param = req.query_param("fields").unwrap_or_default();
    let fields: Vec<&str> = fields_param
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = fields.iter().find(|f| o.field(f).is_none()) {
        return Err(ApiError::bad_request(
            "INVALID_FIELD",
            format!("No such column '{bad}' on sobject of type {}", o.name),
        ));
    }
    let list: Vec<Value> = shared.with_org(&ctx.org, |org, schema| {
        ids_param
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|id| match org.record(schema, id) {
                Some(r) if !r.deleted() && r.object == o.name => {
                    let mut m = Map::new();
                    m.insert(
                        "attributes".into(),
                        crate::query::attributes(&o.name, &r.id, &ctx.version),
                    );
                    for f in &fields {
                        if let Some(def) = o.field(f) {
                            m.insert(def.name.clone(), r.get(&def.name).clone());
                        }
                    }
                    m.insert("Id".into(), json!(r.id));
                    Value::Object(m)
                }
                _ => Value::Null,
            })
            .collect()
    });
    Ok(Reply::json(StatusCode::OK, &Value::Array(list)))
}
