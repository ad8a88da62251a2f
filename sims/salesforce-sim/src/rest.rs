//! Routes under `/services/data/vXX.X/`: describes, records, upsert, updated/deleted,
//! queries with paging, limits. Collections live in `collections.rs`.

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Instant;

use crate::errors::{ApiError, SfError};
use crate::http::{Reply, Req};
use crate::query::{self, attributes};
use crate::schema::ObjectDef;
use crate::store::{Cursor, Record};
use crate::{Shared, clock, collections, composite, describe, ids, writes};

/// Who is calling, in which org, with which API version.
pub struct Ctx {
    pub org: String,
    pub user_id: String,
    pub version: String,
    pub instance_url: String,
}

/// The HTTP status Salesforce answers for a single-record error.
pub fn status_for(e: &SfError) -> StatusCode {
    match e.code {
        "NOT_FOUND" | "ENTITY_IS_DELETED" => StatusCode::NOT_FOUND,
        "DUPLICATE_EXTERNAL_ID" => StatusCode::MULTIPLE_CHOICES,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn api_err(e: SfError) -> ApiError {
    ApiError::new(status_for(&e), e)
}

fn decode_segment(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn handle(shared: &Shared, ctx: &Ctx, req: &Req, tail: &str) -> Result<Reply, ApiError> {
    let segs: Vec<String> = tail
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = &req.method;
    match segs.as_slice() {
        [] => Ok(Reply::json(StatusCode::OK, &resources(&ctx.version))),
        ["limits"] => Ok(limits(shared, ctx)),
        ["sobjects"] => {
            let body = describe::describe_global(&shared.schema, &ctx.version);
            Ok(Reply::json(StatusCode::OK, &body))
        }
        ["query"] | ["queryAll"] => query(shared, ctx, req, segs[0] == "queryAll"),
        ["query", locator] | ["queryAll", locator] => more(shared, ctx, locator),
        ["composite", "sobjects", rest @ ..] => collections::handle(shared, ctx, req, rest),
        ["composite"] if *m == Method::POST => composite::handle(shared, ctx, req),
        ["sobjects", obj, rest @ ..] => {
            let o = shared
                .schema
                .object(obj)
                .ok_or_else(|| ApiError::invalid_type(obj))?;
            sobject(shared, ctx, req, o, m, rest)
        }
        _ => Err(ApiError::not_found()),
    }
}

fn resources(v: &str) -> Value {
    let mut m = Map::new();
    for name in [
        "tooling",
        "metadata",
        "eclair",
        "folders",
        "prechatForms",
        "contact-tracing",
        "async-queries",
        "jobs",
        "query",
        "queryAll",
        "sobjects",
        "composite",
        "limits",
        "search",
        "recent",
        "connect",
        "chatter",
        "tabs",
        "appMenu",
        "quickActions",
        "theme",
        "nouns",
        "event",
        "serviceTemplates",
        "licensing",
        "knowledgeManagement",
        "parameterizedSearch",
        "process",
        "actions",
    ] {
        m.insert(name.into(), json!(format!("/services/data/v{v}/{name}")));
    }
    Value::Object(m)
}

fn limits(shared: &Shared, ctx: &Ctx) -> Reply {
    let mut body: Value =
        serde_json::from_str(include_str!("../schema/limits.json")).unwrap_or_else(|_| json!({}));
    let (used, max, bulk) = shared.with_org(&ctx.org, |o, _| {
        (
            o.api_used,
            o.api_max,
            o.bulk.usage.snapshot(shared.bus.now()),
        )
    });
    body["DailyApiRequests"] = json!({"Max": max, "Remaining": max.saturating_sub(used)});
    body["DailyBulkApiBatches"] = json!({
        "Max": bulk.batches_max,
        "Remaining": bulk.batches_max.saturating_sub(bulk.batches_used),
    });
    body["DailyBulkV2QueryJobs"] = json!({
        "Max": bulk.query_jobs_max,
        "Remaining": bulk.query_jobs_max.saturating_sub(bulk.query_jobs_used),
    });
    Reply::json(StatusCode::OK, &body)
}

/// A record as `GET /sobjects/{O}/{id}` renders it (all fields or the `fields` subset).
fn render_record(o: &ObjectDef, r: &Record, version: &str, only: Option<&[String]>) -> Value {
    let mut out = Map::new();
    out.insert("attributes".into(), attributes(&o.name, &r.id, version));
    for f in &o.fields {
        if only.is_some_and(|names| !names.iter().any(|n| n.eq_ignore_ascii_case(&f.name))) {
            continue;
        }
        out.insert(f.name.clone(), r.get(&f.name).clone());
    }
    Value::Object(out)
}

fn lock_error(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        SfError::with_fields(
            "UNABLE_TO_LOCK_ROW",
            format!("unable to obtain exclusive access to this record or 1 records: {id}"),
            vec![],
        ),
    )
}

fn body_object(req: &Req) -> Result<Map<String, Value>, ApiError> {
    match req.json_body()? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::json_parser(
            "Cannot deserialize instance of SObject from START_ARRAY value",
        )),
    }
}

fn sobject(
    shared: &Shared,
    ctx: &Ctx,
    req: &Req,
    o: &ObjectDef,
    m: &Method,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    let schema = &shared.schema;
    match (m, rest) {
        (&Method::GET, []) => Ok(Reply::json(
            StatusCode::OK,
            &json!({"objectDescribe": describe::global_entry(o, &ctx.version), "recentItems": []}),
        )),
        (&Method::POST, []) => {
            let body = body_object(req)?;
            if shared.faults.take_lock() {
                return Err(lock_error(""));
            }
            let id = shared
                .with_org(&ctx.org, |org, _| {
                    writes::create(schema, org, o, &body, &ctx.user_id)
                })
                .map_err(api_err)?;
            Ok(Reply::json(
                StatusCode::CREATED,
                &json!({"id": id, "success": true, "errors": []}),
            ))
        }
        (&Method::GET, ["describe"]) => Ok(Reply::json(
            StatusCode::OK,
            &describe::describe(schema, o, &ctx.version, &ctx.instance_url),
        )),
        (&Method::GET, ["updated"]) | (&Method::GET, ["deleted"]) => {
            changes(shared, ctx, req, o, rest[0] == "deleted")
        }
        (&Method::GET, [id]) => {
            let only: Option<Vec<String>> = req.query_param("fields").map(|f| {
                f.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
            if let Some(names) = &only
                && let Some(bad) = names.iter().find(|n| o.field(n).is_none())
            {
                return Err(ApiError::bad_request(
                    "INVALID_FIELD",
                    format!("No such column '{bad}' on sobject of type {}", o.name),
                ));
            }
            shared.with_org(&ctx.org, |org, _| {
                let Some(norm) = ids::normalize(id).filter(|n| ids::prefix(n) == o.key_prefix) else {
                    return Err(ApiError::new(StatusCode::NOT_FOUND, SfError::new(
                        "NOT_FOUND",
                        format!("Provided external ID field does not exist or is not accessible: {id}"),
                    )));
                };
                match org.table(&o.name).and_then(|t| t.get(&norm)) {
                    None => Err(ApiError::not_found()),
                    Some(r) if r.deleted() => Err(ApiError::entity_deleted()),
                    Some(r) => Ok(Reply::json(StatusCode::OK, &render_record(o, r, &ctx.version, only.as_deref()))),
                }
            })
        }
        (&Method::PATCH, [id]) => {
            let body = body_object(req)?;
            if shared.faults.take_lock() {
                return Err(lock_error(id));
            }
            shared
                .with_org(&ctx.org, |org, _| {
                    writes::update(schema, org, o, id, &body, &ctx.user_id)
                })
                .map_err(api_err)?;
            Ok(Reply::Empty(StatusCode::NO_CONTENT))
        }
        (&Method::DELETE, [id]) => {
            if shared.faults.take_lock() {
                return Err(lock_error(id));
            }
            shared.with_org(&ctx.org, |org, _| {
                match org
                    .table(&o.name)
                    .and_then(|t| ids::normalize(id).and_then(|n| t.get(&n)))
                {
                    None => Err(ApiError::not_found()),
                    Some(_) => {
                        writes::delete_as(schema, org, id, Some(&ctx.user_id)).map_err(api_err)
                    }
                }
            })?;
            Ok(Reply::Empty(StatusCode::NO_CONTENT))
        }
        (&Method::GET, [field, value]) => {
            let f = o.field(field).filter(|f| f.external_id || f.id_lookup).ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, SfError::new(
                    "NOT_FOUND",
                    format!("Provided external ID field does not exist or is not accessible: {field}"),
                ))
            })?;
            shared.with_org(&ctx.org, |org, _| {
                let found = if f.name == "Id" {
                    ids::normalize(value).into_iter().collect()
                } else {
                    org.find_by(&o.name, &f.name, value)
                };
                let recs: Vec<&Record> = found
                    .iter()
                    .filter_map(|id| org.table(&o.name).and_then(|t| t.get(id)))
                    .filter(|r| !r.deleted())
                    .collect();
                match recs.as_slice() {
                    [] => Err(ApiError::not_found()),
                    [r] => Ok(Reply::json(
                        StatusCode::OK,
                        &render_record(o, r, &ctx.version, None),
                    )),
                    many => {
                        let urls: Vec<Value> = many
                            .iter()
                            .map(|r| {
                                json!(format!(
                                    "/services/data/v{}/sobjects/{}/{}",
                                    ctx.version, o.name, r.id
                                ))
                            })
                            .collect();
                        Ok(Reply::json(
                            StatusCode::MULTIPLE_CHOICES,
                            &Value::Array(urls),
                        ))
                    }
                }
            })
        }
        (&Method::PATCH, [field, value]) => {
            let body = body_object(req)?;
            if shared.faults.take_lock() {
                return Err(lock_error(""));
            }
            let update_only = req.query_param("updateOnly").is_some_and(|v| v == "true");
            let key = writes::ExtKey {
                field,
                value,
                update_only,
            };
            let (id, created) = shared
                .with_org(&ctx.org, |org, _| {
                    writes::upsert(schema, org, o, &key, &body, &ctx.user_id)
                })
                .map_err(api_err)?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(Reply::json(
                status,
                &json!({"id": id, "success": true, "errors": [], "created": created}),
            ))
        }
        (_, [] | [_] | [_, _]) => Err(ApiError::method_not_allowed(m.as_str())),
        _ => Err(ApiError::not_found()),
    }
}

fn floor_minute(t: time::OffsetDateTime) -> String {
    clock::format_datetime(
        t.replace_second(0)
            .unwrap_or(t)
            .replace_nanosecond(0)
            .unwrap_or(t),
    )
}

/// `sobjects/{O}/updated` and `/deleted`.
fn changes(
    shared: &Shared,
    ctx: &Ctx,
    req: &Req,
    o: &ObjectDef,
    deleted: bool,
) -> Result<Reply, ApiError> {
    let parse = |name: &str| {
        req.query_param(name)
            .as_deref()
            .and_then(clock::parse_datetime)
    };
    let (Some(start), Some(end)) = (parse("start"), parse("end")) else {
        return Err(ApiError::bad_request(
            "INVALID_REPLICATION_DATE",
            "start and end must be specified as valid dateTime values",
        ));
    };
    if end < start {
        return Err(ApiError::bad_request(
            "INVALID_REPLICATION_DATE",
            "end date cannot be before start date",
        ));
    }
    let (from, to) = (clock::format_datetime(start), clock::format_datetime(end));
    let body = shared.with_org(&ctx.org, |org, _| {
        let recs = org.table(&o.name).map(|t| t.values().collect::<Vec<_>>()).unwrap_or_default();
        if deleted {
            let list: Vec<Value> = recs
                .iter()
                .filter_map(|r| r.deleted_at.as_ref().map(|d| (r, d)))
                .filter(|(_, d)| d.as_str() >= from.as_str() && d.as_str() <= to.as_str())
                .map(|(r, d)| json!({"id": r.id, "deletedDate": d}))
                .collect();
            json!({"deletedRecords": list, "earliestDateAvailable": floor_minute(start), "latestDateCovered": floor_minute(end)})
        } else {
            let list: Vec<&str> = recs
                .iter()
                .filter(|r| !r.deleted() && r.modstamp() >= from.as_str() && r.modstamp() <= to.as_str())
                .map(|r| r.id.as_str())
                .collect();
            json!({"ids": list, "latestDateCovered": floor_minute(end)})
        }
    });
    Ok(Reply::json(StatusCode::OK, &body))
}

fn batch_size(shared: &Shared, req: &Req) -> usize {
    req.header("sforce-query-options")
        .and_then(|h| {
            h.split(',')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        })
        .map(|n| n.clamp(200, 2000))
        .unwrap_or(shared.config.page_size)
}

fn page_body(total: usize, rows: &[Value], next: Option<String>) -> Value {
    let mut body = json!({"totalSize": total, "done": next.is_none(), "records": rows});
    if let Some(n) = next {
        body["nextRecordsUrl"] = json!(n);
    }
    body
}

fn query(shared: &Shared, ctx: &Ctx, req: &Req, all: bool) -> Result<Reply, ApiError> {
    let Some(soql) = req.query_param("q") else {
        return Err(ApiError::bad_request(
            "MALFORMED_QUERY",
            "A query string must be provided.",
        ));
    };
    let batch = batch_size(shared, req);
    shared.with_org(&ctx.org, |org, schema| {
        let out = query::run(schema, org, &soql, all, &ctx.version).map_err(ApiError::from)?;
        if out.rows.len() <= batch {
            return Ok(Reply::json(
                StatusCode::OK,
                &page_body(out.total, &out.rows, None),
            ));
        }
        org.prune_cursors();
        let cursor_id = format!("0r8{}", crate::auth::random_token(15));
        let next = format!("/services/data/v{}/query/{cursor_id}-{batch}", ctx.version);
        let body = page_body(out.total, &out.rows[..batch], Some(next));
        org.cursors.insert(
            cursor_id,
            Cursor {
                total: out.total,
                rows: Arc::new(out.rows),
                batch,
                last_used: Instant::now(),
            },
        );
        Ok(Reply::json(StatusCode::OK, &body))
    })
}

fn more(shared: &Shared, ctx: &Ctx, locator: &str) -> Result<Reply, ApiError> {
    let invalid = || ApiError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (cursor_id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    shared.with_org(&ctx.org, |org, _| {
        let c = org.cursors.get_mut(cursor_id).ok_or_else(invalid)?;
        if offset > c.rows.len() {
            return Err(invalid());
        }
        c.last_used = Instant::now();
        let end = (offset + c.batch).min(c.rows.len());
        let next = (end < c.rows.len())
            .then(|| format!("/services/data/v{}/query/{cursor_id}-{end}", ctx.version));
        Ok(Reply::json(
            StatusCode::OK,
            &page_body(c.total, &c.rows[offset..end], next),
        ))
    })
}
