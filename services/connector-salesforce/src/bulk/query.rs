//! BulkQuery: an object's records through a Bulk API 2.0 query job, a page at a time. The
//! first call starts the job (`SELECT <fields> FROM <object> [WHERE SystemModstamp >= …]`)
//! and waits for it; each call reads one page with `maxRecords` and hands back Salesforce's
//! `Sforce-Locator` for the next. Values come back as the JSON text REST would answer.

use reqwest::Method;
use serde_json::json;
use tandem_proto::v1::{BulkQueryRequest, BulkQueryResponse, Record};

use super::csvdata::json_text;
use super::job;
use crate::api::{Api, remote_error};
use crate::error::Error;
use crate::read::{parse_datetime, requested_values, select_list, soql_datetime, to_timestamp};
use crate::schema::{Described, object_name};
use crate::transport::{Body, CSV};

/// Records per page when the caller does not say.
pub const DEFAULT_PAGE: u32 = 10_000;
/// The most records one page may hold.
pub const MAX_PAGE: u32 = 50_000;

fn checked_id(raw: &str, field: &str) -> Result<String, Error> {
    let s = raw.trim();
    if !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s.to_owned())
    } else {
        Err(Error::invalid(field, "is not a Bulk API job id"))
    }
}

fn checked_locator(raw: &str) -> Result<String, Error> {
    let s = raw.trim();
    let ok = s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'-' | b'_' | b'+' | b'/'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Error::invalid(
            "locator",
            "is not a locator Salesforce gave",
        ))
    }
}

/// The records of one results page.
fn records(described: &Described, csv: &str, values: &[String]) -> Result<Vec<Record>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Protocol(format!("bulk query header: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let kind = |name: &str| {
        described
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map_or("string", |f| f.salesforce_type.as_str())
    };
    let position = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let id_at = position("Id").ok_or_else(|| Error::Protocol("bulk query without Id".into()))?;
    let (stamp_at, deleted_at) = (position("SystemModstamp"), position("IsDeleted"));
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| Error::Protocol(format!("bulk query results: {e}")))?;
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).unwrap_or_default();
        let fields = values
            .iter()
            .map(|v| (v.clone(), json_text(kind(v), cell(position(v)))))
            .collect();
        let stamp = json_text("datetime", cell(stamp_at));
        let stamp: Option<String> = serde_json::from_str(&stamp).ok().flatten();
        out.push(Record {
            id: cell(Some(id_at)).to_owned(),
            modified_at: stamp.as_deref().and_then(parse_datetime).map(to_timestamp),
            fields,
            deleted: cell(deleted_at) == "true",
            texts: Default::default(),
        });
    }
    Ok(out)
}

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, object = %r.object, job_id = %r.job_id))]
    pub async fn bulk_query(&self, r: BulkQueryRequest) -> Result<BulkQueryResponse, Error> {
        let object = object_name(&r.object, "object")?;
        let page = match r.page_size {
            0 => DEFAULT_PAGE,
            n if n <= MAX_PAGE => n,
            n => {
                return Err(Error::invalid(
                    "page_size",
                    format!("is {n}; at most {MAX_PAGE}"),
                ));
            }
        };
        let mut session = self.session(&r.connection_id).await?;
        let described = self.describe_in(&mut session, &object).await?;
        let object = described.summary.name.clone();
        let select = select_list(&described, &r.fields)?;
        let job_id = if r.job_id.trim().is_empty() {
            let mut soql = format!("SELECT {} FROM {object}", select.join(", "));
            if let Some(since) = &r.modified_since {
                let t = crate::read::from_timestamp(since, "modified_since")?;
                soql.push_str(&format!(" WHERE SystemModstamp >= {}", soql_datetime(t)));
            }
            let body = json!({"operation": "query", "query": soql}).to_string();
            let reply = session
                .send(Method::POST, "jobs/query", Body::Text(body), false)
                .await?;
            if !reply.ok() {
                return Err(remote_error(&reply));
            }
            let created = reply.json()?;
            let id = checked_id(created["id"].as_str().unwrap_or_default(), "job id")
                .map_err(|_| Error::Protocol("bulk query job created without an id".into()))?;
            let info = job::wait(&mut session, &self.bulk, &format!("jobs/query/{id}")).await?;
            let state = info["state"].as_str().unwrap_or_default();
            if state != "JobComplete" {
                return Err(Error::Unavailable(format!(
                    "bulk query job {id} ended {state}: {}",
                    info["errorMessage"].as_str().unwrap_or_default()
                )));
            }
            id
        } else {
            checked_id(&r.job_id, "job_id")?
        };
        let mut tail = format!("jobs/query/{job_id}/results?maxRecords={page}");
        if !r.locator.trim().is_empty() {
            let locator = checked_locator(&r.locator)?;
            let encoded: String =
                url::form_urlencoded::byte_serialize(locator.as_bytes()).collect();
            tail.push_str(&format!("&locator={encoded}"));
        }
        let reply = session
            .send_accepting(Method::GET, &tail, Body::None, true, CSV)
            .await?;
        if !reply.ok() {
            return Err(remote_error(&reply));
        }
        let values = requested_values(&select, &r.fields);
        let records = records(&described, &reply.body, &values)?;
        let locator = reply
            .locator
            .filter(|l| !l.is_empty() && l != "null")
            .unwrap_or_default();
        tracing::info!(
            records = records.len(),
            more = !locator.is_empty(),
            "read a bulk query page"
        );
        Ok(BulkQueryResponse {
            records,
            job_id,
            locator,
            api_calls: session.calls,
            api_usage: session.api_usage(),
        })
    }
}
