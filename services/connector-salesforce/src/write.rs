//! WriteRecords: creates and updates through sObject Collections, 200 records a call,
//! `allOrNone=false`, one result per write in request order with Salesforce's own errors.
//!
//! Idempotent creates: when the object has an external-id field (`Tandem_Key__c` preferred,
//! see `schema.rs`) a create with an idempotency key is an upsert on that field, so a
//! retried create finds the record it made instead of making a second one. Without such a
//! field a create is a plain POST, retried only when Salesforce surely did not receive it; the
//! orchestrator then keeps it from duplicating (it notes the id Salesforce answered with, and
//! after a lost answer it recognises the record by its values: `adopt_lost_creates`).
//! Records refused with `UNABLE_TO_LOCK_ROW` are sent again with backoff.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use tandem_proto::v1::{
    RecordWrite, RemoteError, WriteRecordsRequest, WriteRecordsResponse, WriteResult,
};

use crate::api::{Api, Session, remote_error};
use crate::error::Error;
use crate::read::record_id;
use crate::schema::object_name;
use crate::transport::Body;

/// sObject Collections' cap per call.
pub const COLLECTION_CHUNK: usize = 200;
/// The most writes one WriteRecords may carry.
pub const MAX_WRITES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Op {
    Update,
    Upsert,
    Create,
}

/// One entry of a collection answer.
#[derive(Deserialize)]
struct Outcome {
    id: Option<String>,
    #[serde(default)]
    success: bool,
    #[serde(default)]
    created: Option<bool>,
    #[serde(default)]
    errors: Vec<OutcomeError>,
}

#[derive(Deserialize)]
struct OutcomeError {
    #[serde(rename = "statusCode", alias = "errorCode", default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    fields: Vec<String>,
}

/// One write, checked: its field values stay the caller's exact JSON text.
pub(crate) struct Prepared {
    pub(crate) op: Op,
    /// `id` for updates, the external-id field for upserts, then the fields.
    pub(crate) fields: Vec<(String, Box<RawValue>)>,
}

impl Prepared {
    /// The record as JSON text, `attributes` first as Salesforce wants it.
    fn render(&self, object: &str) -> String {
        let mut out = format!("{{\"attributes\":{{\"type\":{}}}", json_string(object));
        for (name, value) in &self.fields {
            out.push(',');
            out.push_str(&json_string(name));
            out.push(':');
            out.push_str(value.get());
        }
        out.push('}');
        out
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn raw_string(s: &str) -> Box<RawValue> {
    RawValue::from_string(json_string(s)).unwrap_or_else(|_| unreachable!("a JSON string is JSON"))
}

pub(crate) fn prepare(
    i: usize,
    w: &RecordWrite,
    key_field: Option<&str>,
) -> Result<Prepared, Error> {
    let mut fields: Vec<(String, Box<RawValue>)> = Vec::with_capacity(w.fields.len() + 1);
    for (name, text) in &w.fields {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Error::invalid(
                format!("writes[{i}].fields"),
                format!(
                    "`{}` is not a field API name",
                    name.chars().take(80).collect::<String>()
                ),
            ));
        }
        if name.eq_ignore_ascii_case("id") || name.eq_ignore_ascii_case("attributes") {
            return Err(Error::invalid(
                format!("writes[{i}].fields.{name}"),
                "is not writable; put the record id in `id`",
            ));
        }
        let value: Box<RawValue> = serde_json::from_str(text.trim()).map_err(|e| {
            Error::invalid(
                format!("writes[{i}].fields.{name}"),
                format!("is not JSON text (strings need quotes: \"\\\"text\\\"\"): {e}"),
            )
        })?;
        fields.push((name.clone(), value));
    }
    // Map order is arbitrary; keep the record stable for logs and tests.
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let op = if !w.id.trim().is_empty() {
        let id = record_id(&w.id, &format!("writes[{i}].id"))?;
        fields.insert(0, ("id".to_owned(), raw_string(&id)));
        Op::Update
    } else {
        match (key_field, w.idempotency_key.trim()) {
            (Some(field), key) if !key.is_empty() => {
                fields.retain(|(k, _)| !k.eq_ignore_ascii_case(field));
                fields.insert(0, (field.to_owned(), raw_string(key)));
                Op::Upsert
            }
            _ => Op::Create,
        }
    };
    Ok(Prepared { op, fields })
}

fn to_result(op: Op, o: Outcome) -> WriteResult {
    let gone = !o.success
        && op == Op::Update
        && o.errors.iter().any(|e| {
            matches!(
                e.code.as_str(),
                "ENTITY_IS_DELETED" | "INVALID_CROSS_REFERENCE_KEY"
            )
        });
    WriteResult {
        gone,
        id: o.id.unwrap_or_default(),
        success: o.success,
        created: o.success
            && match op {
                Op::Create => true,
                Op::Upsert => o.created.unwrap_or(false),
                Op::Update => false,
            },
        errors: o
            .errors
            .into_iter()
            .map(|e| RemoteError {
                code: e.code,
                message: e.message,
                fields: e.fields,
                ..Default::default()
            })
            .collect(),
    }
}

fn locked(r: &WriteResult) -> bool {
    !r.success && r.errors.iter().any(|e| e.code == "UNABLE_TO_LOCK_ROW")
}

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, object = %r.object, writes = r.writes.len()))]
    pub async fn write(&self, r: WriteRecordsRequest) -> Result<WriteRecordsResponse, Error> {
        let Some(target) = self
            .write_target(
                &r.connection_id,
                &r.integration_id,
                &r.object,
                r.writes.len(),
                MAX_WRITES,
            )
            .await?
        else {
            return Ok(WriteRecordsResponse::default());
        };
        let WriteTarget {
            mut session,
            object,
            key_field,
        } = target;
        let key_field = key_field.as_deref();
        let prepared = r
            .writes
            .iter()
            .enumerate()
            .map(|(i, w)| prepare(i, w, key_field))
            .collect::<Result<Vec<_>, _>>()?;
        if key_field.is_none() && prepared.iter().any(|p| p.op == Op::Create) {
            tracing::debug!(object = %object, "no external-id field: creates are not idempotent");
        }
        let groups = by_op(&prepared);
        let mut results: Vec<Option<WriteResult>> = vec![None; prepared.len()];
        for (op, indexes) in groups {
            for chunk in indexes.chunks(COLLECTION_CHUNK) {
                self.send_chunk(
                    &mut session,
                    op,
                    &object,
                    key_field,
                    &prepared,
                    chunk,
                    &mut results,
                )
                .await?;
            }
        }
        let results: Vec<WriteResult> = results
            .into_iter()
            .map(|r| r.ok_or_else(|| Error::Protocol("a write got no result".to_owned())))
            .collect::<Result<_, _>>()?;
        let failed = results.iter().filter(|r| !r.success).count();
        tracing::info!(
            connection_id = %session.connection_id,
            object = %object,
            writes = results.len(),
            failed,
            api_calls = session.calls,
            "wrote salesforce records"
        );
        Ok(WriteRecordsResponse {
            results,
            api_usage: session.api_usage(),
            api_calls: session.calls,
        })
    }

    /// Sends one chunk; records refused with `UNABLE_TO_LOCK_ROW` go again, with backoff.
    #[allow(clippy::too_many_arguments)]
    async fn send_chunk(
        &self,
        session: &mut Session<'_>,
        op: Op,
        object: &str,
        key_field: Option<&str>,
        prepared: &[Prepared],
        chunk: &[usize],
        results: &mut [Option<WriteResult>],
    ) -> Result<(), Error> {
        let retry = self.transport.retry();
        let (method, tail, idempotent) = match (op, key_field) {
            (Op::Update, _) => (Method::PATCH, "composite/sobjects".to_owned(), true),
            (Op::Upsert, Some(field)) => (
                Method::PATCH,
                format!("composite/sobjects/{object}/{field}"),
                true,
            ),
            _ => (Method::POST, "composite/sobjects".to_owned(), false),
        };
        let mut pending: Vec<usize> = chunk.to_vec();
        let mut attempt = 1;
        loop {
            let records: Vec<String> = pending
                .iter()
                .map(|&i| prepared[i].render(object))
                .collect();
            let body = format!(
                "{{\"allOrNone\":false,\"records\":[{}]}}",
                records.join(",")
            );
            let reply = session
                .send(method.clone(), &tail, Body::Text(body), idempotent)
                .await?;
            if !reply.ok() {
                return Err(remote_error(&reply));
            }
            let outcomes: Vec<Outcome> = serde_json::from_str(&reply.body)
                .map_err(|e| Error::Protocol(format!("collection answer: {e}")))?;
            if outcomes.len() != pending.len() {
                return Err(Error::Protocol(format!(
                    "collection answered {} results for {} records",
                    outcomes.len(),
                    pending.len()
                )));
            }
            let mut again = Vec::new();
            for (&i, o) in pending.iter().zip(outcomes) {
                let result = to_result(op, o);
                if locked(&result) && attempt < retry.attempts {
                    again.push(i);
                }
                results[i] = Some(result);
            }
            if again.is_empty() {
                return Ok(());
            }
            let wait = retry.delay(attempt);
            tracing::warn!(
                records = again.len(),
                attempt,
                "rows locked; writing them again"
            );
            tokio::time::sleep(wait).await;
            pending = again;
            attempt += 1;
        }
    }
}

/// The `Sforce-Call-Options` client of a write: `tandem-<integration_id>`, or `tandem`.
pub(crate) fn call_client(integration_id: &str) -> Result<String, Error> {
    let id = integration_id.trim();
    if id.is_empty() {
        return Ok("tandem".to_owned());
    }
    let valid = id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(Error::invalid(
            "integration_id",
            "may hold only letters, digits, `-` and `_`, at most 64",
        ));
    }
    Ok(format!("tandem-{id}"))
}

/// Where a write call goes: the caller's session, marked with the integration as the calls'
/// client, and the object as described (its API name and the field creates are keyed by).
pub(crate) struct WriteTarget<'a> {
    pub session: Session<'a>,
    pub object: String,
    pub key_field: Option<String>,
}

impl Api {
    /// The checks every write call (collections or Bulk API) makes before anything is sent:
    /// the object's name, at most `max` writes; `None` for no writes (the connection id
    /// still checked).
    pub(crate) async fn write_target(
        &self,
        connection_id: &str,
        integration_id: &str,
        object: &str,
        writes: usize,
        max: usize,
    ) -> Result<Option<WriteTarget<'_>>, Error> {
        let object = object_name(object, "object")?;
        if writes > max {
            return Err(Error::invalid(
                "writes",
                format!("carries {writes} writes; at most {max}"),
            ));
        }
        if writes == 0 {
            crate::credentials::connection_id(connection_id)?;
            return Ok(None);
        }
        let client = call_client(integration_id)?;
        let mut session = self.session(connection_id).await?;
        session.call_options = Some(format!("client={client}"));
        let described = self.describe_in(&mut session, &object).await?;
        Ok(Some(WriteTarget {
            object: described.summary.name.clone(),
            key_field: described.idempotency_field.clone(),
            session,
        }))
    }
}

/// The indexes of `prepared` by operation, in order.
pub(crate) fn by_op(prepared: &[Prepared]) -> BTreeMap<Op, Vec<usize>> {
    let mut groups: BTreeMap<Op, Vec<usize>> = BTreeMap::new();
    for (i, p) in prepared.iter().enumerate() {
        groups.entry(p.op).or_default().push(i);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(id: &str, key: &str, fields: &[(&str, &str)]) -> RecordWrite {
        RecordWrite {
            id: id.into(),
            idempotency_key: key.into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn creates_with_a_key_become_upserts_on_the_external_id() {
        let key = Some("Tandem_Key__c");
        let p = prepare(
            0,
            &write("", "k1", &[("Name", "\"A\""), ("Tandem_Key__c", "\"x\"")]),
            key,
        )
        .unwrap();
        assert_eq!(p.op, Op::Upsert);
        assert_eq!(
            p.render("Project__c"),
            r#"{"attributes":{"type":"Project__c"},"Tandem_Key__c":"k1","Name":"A"}"#
        );
        assert_eq!(
            prepare(0, &write("", "k1", &[]), None).unwrap().op,
            Op::Create
        );
        assert_eq!(prepare(0, &write("", "", &[]), key).unwrap().op, Op::Create);
        let p = prepare(
            0,
            &write("a0X000000000001AAA", "k", &[("Budget__c", " 250.50 ")]),
            key,
        )
        .unwrap();
        assert_eq!(p.op, Op::Update);
        assert_eq!(
            p.render("Project__c"),
            r#"{"attributes":{"type":"Project__c"},"id":"a0X000000000001AAA","Budget__c":250.50}"#,
            "exact decimal text is sent as given"
        );
    }

    #[test]
    fn bad_writes_name_the_write_and_field() {
        for (w, field) in [
            (
                write("", "", &[("Name", "not json")]),
                "writes[0].fields.Name",
            ),
            (write("", "", &[("Bad Name", "1")]), "writes[0].fields"),
            (write("", "", &[("Id", "\"x\"")]), "writes[0].fields.Id"),
            (write("nope", "", &[]), "writes[0].id"),
        ] {
            match prepare(0, &w, None) {
                Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
                _ => panic!("{field}"),
            }
        }
    }
}
