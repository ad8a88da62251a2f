//! Read: GetRecords (sObject Collections retrieve by id, with each requested lookup's related
//! name as the record's `texts`), and what the reads share: Salesforce record JSON → the
//! contract's `Record` (field values as JSON text, exactly as Salesforce sent them), Salesforce
//! datetimes ⇄ protobuf timestamps, input checks (ids, field lists, SOQL string literals).

use std::collections::HashMap;

use serde_json::value::RawValue;
use tandem_proto::v1::{FindRecordsRequest, GetRecordsRequest, GetRecordsResponse, Record};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::api::{Api, Session};
use crate::error::Error;
use crate::poll::{QueryPage, get_exact, query_tail};
use crate::schema::{Described, Lookup, object_name};

/// `2024-05-01T12:30:00.000+0000`, as Salesforce renders datetimes.
const SF_DATETIME: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
);
/// A SOQL datetime literal, whole seconds in UTC.
const SOQL_DATETIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Parses a Salesforce datetime (`…000+0000`, or RFC 3339 as a fallback).
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, SF_DATETIME)
        .or_else(|_| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339))
        .ok()
}

pub use tandem_proto::timestamp::from_offset as to_timestamp;

pub fn from_timestamp(ts: &prost_types::Timestamp, field: &str) -> Result<OffsetDateTime, Error> {
    tandem_proto::timestamp::to_offset(ts).ok_or_else(|| Error::invalid(field, "is out of range"))
}

/// Milliseconds since the epoch: SystemModstamp's precision, the key of de-duplication.
pub fn millis(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

/// A SOQL literal for `t`, rounded down to the second.
pub fn soql_datetime(t: OffsetDateTime) -> String {
    let whole = t.replace_nanosecond(0).unwrap_or(t);
    whole
        .to_offset(time::UtcOffset::UTC)
        .format(SOQL_DATETIME)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// A SOQL string literal: quotes and backslashes escaped.
pub fn soql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Checks a Salesforce record id (15 or 18 letters and digits).
pub fn record_id(raw: &str, field: &str) -> Result<String, Error> {
    let s = raw.trim();
    if (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s.to_owned())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "`{}` is not a Salesforce record id (15 or 18 letters and digits)",
                s.chars().take(40).collect::<String>()
            ),
        ))
    }
}

/// Fields always selected besides the requested ones (when the object has them).
const ALWAYS: [&str; 3] = ["Id", "SystemModstamp", "IsDeleted"];

/// The requested fields in Salesforce's spelling, each a field of the object, without
/// duplicates; `Id`, `SystemModstamp` and `IsDeleted` are always selected first.
pub fn select_list(described: &Described, fields: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = ALWAYS
        .iter()
        .filter(|f| **f == "Id" || described.field_name(f).is_some())
        .map(|f| (*f).to_owned())
        .collect();
    for (i, f) in fields.iter().enumerate() {
        let name = described.field_name(f.trim()).ok_or_else(|| {
            Error::invalid(
                format!("fields[{i}]"),
                format!(
                    "`{}` is not a field of {}",
                    f.chars().take(80).collect::<String>(),
                    described.summary.name
                ),
            )
        })?;
        if !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

/// A record as Salesforce sent it, each value kept as its exact JSON text (so decimals such
/// as `250.50` survive untouched).
pub type RawRecord = HashMap<String, Box<RawValue>>;

fn raw_str(record: &RawRecord, key: &str) -> Option<String> {
    record
        .get(key)
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
}

/// The lookups among the fields a record carries, whose related names a query also selects.
pub fn lookups_of(described: &Described, values: &[String]) -> Vec<Lookup> {
    described
        .lookups
        .iter()
        .filter(|l| values.iter().any(|v| v.eq_ignore_ascii_case(&l.field)))
        .cloned()
        .collect()
}

/// The related record's name of each lookup, as a query answers `Account.Name`:
/// `"Account": {"attributes": {…}, "Name": "Acme"}` (or `null` when the lookup is empty).
pub fn lookup_names(raw: &RawRecord, lookups: &[Lookup]) -> HashMap<String, String> {
    lookups
        .iter()
        .filter_map(|l| {
            let related: serde_json::Value =
                serde_json::from_str(raw.get(&l.relationship)?.get()).ok()?;
            let name = related.get(&l.name_field)?.as_str()?;
            Some((l.field.clone(), name.to_owned()))
        })
        .collect()
}

/// One record of a query or retrieve answer, keeping the requested fields as JSON text and
/// the lookups' related names as their display texts.
pub fn to_record(raw: &RawRecord, fields: &[String], lookups: &[Lookup]) -> Result<Record, Error> {
    let id = raw_str(raw, "Id").ok_or_else(|| Error::Protocol("record without Id".to_owned()))?;
    let modified_at = raw_str(raw, "SystemModstamp")
        .as_deref()
        .and_then(parse_datetime)
        .map(to_timestamp);
    let values = fields
        .iter()
        .map(|f| {
            let text = raw.get(f).map_or("null", |v| v.get());
            (f.clone(), text.to_owned())
        })
        .collect();
    Ok(Record {
        id,
        modified_at,
        fields: values,
        deleted: raw.get("IsDeleted").is_some_and(|v| v.get() == "true"),
        texts: lookup_names(raw, lookups),
    })
}

/// The fields whose values a record carries: the selected ones, without those always
/// selected unless the caller asked for them by name.
pub fn requested_values(select: &[String], asked: &[String]) -> Vec<String> {
    select
        .iter()
        .filter(|s| {
            !ALWAYS.contains(&s.as_str()) || asked.iter().any(|a| a.trim().eq_ignore_ascii_case(s))
        })
        .cloned()
        .collect()
}

/// Ids per retrieve call (keeps the URL well under Salesforce's limits).
const RETRIEVE_CHUNK: usize = 200;
/// The most ids one GetRecords may ask for.
pub const MAX_GET_IDS: usize = 10_000;

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, object = %r.object))]
    pub async fn get_records(&self, r: GetRecordsRequest) -> Result<GetRecordsResponse, Error> {
        let object = object_name(&r.object, "object")?;
        if r.ids.len() > MAX_GET_IDS {
            return Err(Error::invalid(
                "ids",
                format!("asks for {} records; at most {MAX_GET_IDS}", r.ids.len()),
            ));
        }
        let ids = r
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| record_id(id, &format!("ids[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut session = self.session(&r.connection_id).await?;
        let described = self.describe_in(&mut session, &object).await?;
        let select = select_list(&described, &r.fields)?;
        let values = requested_values(&select, &r.fields);
        let mut lookups = lookups_of(&described, &values);
        let fields_param: String =
            url::form_urlencoded::byte_serialize(select.join(",").as_bytes()).collect();
        let mut records = Vec::with_capacity(ids.len());
        let mut missing_ids = Vec::new();
        let mut names = HashMap::new();
        for chunk in ids.chunks(RETRIEVE_CHUNK) {
            let tail = format!(
                "composite/sobjects/{}?ids={}&fields={fields_param}",
                described.summary.name,
                chunk.join(",")
            );
            let answer: Vec<Option<Box<RawValue>>> = get_exact(&mut session, &tail).await?;
            for (i, id) in chunk.iter().enumerate() {
                let found = answer
                    .get(i)
                    .and_then(Option::as_ref)
                    .filter(|raw| raw.get() != "null");
                match found {
                    Some(raw) => {
                        let parsed: RawRecord = serde_json::from_str(raw.get())
                            .map_err(|e| Error::Protocol(format!("retrieved record: {e}")))?;
                        records.push(to_record(&parsed, &values, &[])?);
                    }
                    None => missing_ids.push(id.clone()),
                }
            }
            if !lookups.is_empty() {
                match related_names(&mut session, &described, chunk, &lookups).await {
                    Ok(found) => names.extend(found),
                    Err(e) if names_unreadable(&e) => {
                        tracing::warn!(error = %e, object = %described.summary.name, "lookup names cannot be queried; records go without them");
                        lookups.clear();
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        for record in &mut records {
            if let Some(texts) = names.remove(&record.id) {
                record.texts = texts;
            }
        }
        Ok(GetRecordsResponse {
            records,
            missing_ids,
            api_calls: session.calls,
        })
    }
}

/// The most values one FindRecords may match.
pub const MAX_FIND_VALUES: usize = 1_000;
/// Values per `WHERE field IN (…)` query (keeps the URL well under Salesforce's limits).
const FIND_CHUNK: usize = 200;

impl Api {
    /// FindRecords: the live records whose `field` equals one of `values`, read as GetRecords
    /// reads them (one SOQL query for their Ids per 200 values, then the retrieve).
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, object = %r.object))]
    pub async fn find_records(&self, r: FindRecordsRequest) -> Result<GetRecordsResponse, Error> {
        let object = object_name(&r.object, "object")?;
        if r.values.len() > MAX_FIND_VALUES {
            return Err(Error::invalid(
                "values",
                format!("holds {}; at most {MAX_FIND_VALUES}", r.values.len()),
            ));
        }
        let mut ids: Vec<String> = Vec::new();
        let mut calls = 0;
        if r.field.eq_ignore_ascii_case("Id") {
            ids = r
                .values
                .iter()
                .filter_map(|v| record_id(v, "values").ok())
                .collect();
        } else {
            let mut session = self.session(&r.connection_id).await?;
            let described = self.describe_in(&mut session, &object).await?;
            let field = described
                .field_name(&r.field)
                .ok_or_else(|| {
                    Error::invalid("field", format!("{} has no field {}", object, r.field))
                })?
                .to_owned();
            for chunk in r.values.chunks(FIND_CHUNK) {
                let list: Vec<String> = chunk.iter().map(|v| soql_string(v)).collect();
                let soql = format!(
                    "SELECT Id FROM {} WHERE {field} IN ({})",
                    described.summary.name,
                    list.join(", ")
                );
                let mut tail = query_tail(&soql);
                loop {
                    let page: QueryPage = get_exact(&mut session, &tail).await?;
                    ids.extend(page.records.iter().filter_map(|raw| {
                        raw.get("Id")
                            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
                    }));
                    match page.next {
                        Some(next) => tail = next,
                        None => break,
                    }
                }
            }
            calls = session.calls;
        }
        if ids.is_empty() {
            return Ok(GetRecordsResponse {
                records: Vec::new(),
                missing_ids: Vec::new(),
                api_calls: calls,
            });
        }
        let mut found = self
            .get_records(GetRecordsRequest {
                connection_id: r.connection_id,
                object: r.object,
                ids,
                fields: r.fields,
            })
            .await?;
        found.missing_ids.clear();
        found.api_calls += calls;
        Ok(found)
    }
}

/// Whether a query failed because a lookup's related name cannot be selected (an object
/// without a `Name` field, or a relationship the user may not see).
pub(crate) fn names_unreadable(e: &Error) -> bool {
    matches!(e, Error::Remote { code, .. } if code == "INVALID_FIELD")
}

/// The related names of `ids`' lookups (record id → field → name), read with one SOQL query
/// (`SELECT Id, Account.Name … WHERE Id IN (…)`): sObject Collections retrieve cannot follow
/// relationships.
async fn related_names(
    session: &mut Session<'_>,
    described: &Described,
    ids: &[String],
    lookups: &[Lookup],
) -> Result<HashMap<String, HashMap<String, String>>, Error> {
    let paths: Vec<String> = lookups.iter().map(Lookup::path).collect();
    let list: Vec<String> = ids.iter().map(|id| soql_string(id)).collect();
    let soql = format!(
        "SELECT Id, {} FROM {} WHERE Id IN ({})",
        paths.join(", "),
        described.summary.name,
        list.join(", ")
    );
    let mut out = HashMap::new();
    let mut tail = query_tail(&soql);
    loop {
        let page: QueryPage = get_exact(session, &tail).await?;
        for raw in &page.records {
            let Some(id) = raw
                .get("Id")
                .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
            else {
                continue;
            };
            out.insert(id, lookup_names(raw, lookups));
        }
        match page.next {
            Some(next) => tail = next,
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_datetimes_round_trip_to_millis() {
        let t = parse_datetime("2024-05-01T12:30:00.123+0000").unwrap();
        assert_eq!(millis(t), 1_714_566_600_123);
        assert_eq!(soql_datetime(t), "2024-05-01T12:30:00Z");
        let ts = to_timestamp(t);
        assert_eq!(from_timestamp(&ts, "w").unwrap(), t);
        assert!(parse_datetime("2024-05-01T12:30:00Z").is_some());
        assert!(parse_datetime("yesterday").is_none());
    }

    #[test]
    fn soql_strings_are_escaped() {
        assert_eq!(soql_string("o'brien@x.test"), r"'o\'brien@x.test'");
        assert_eq!(soql_string(r"a\b"), r"'a\\b'");
    }

    #[test]
    fn ids_are_checked() {
        assert!(record_id("001000000000001AAA", "ids[0]").is_ok());
        assert!(record_id("001000000000001", "ids[0]").is_ok());
        for bad in ["", "001", "001000000000001AA'", "001000000000001AAAA"] {
            assert!(record_id(bad, "ids[0]").is_err(), "{bad}");
        }
    }

    #[test]
    fn values_stay_salesforce_json_text() {
        let raw: RawRecord = serde_json::from_str(
            r#"{"attributes": {"type": "X"}, "Id": "a0X000000000001AAA",
                "SystemModstamp": "2024-05-01T12:30:00.000+0000", "Budget__c": 250.50,
                "Status__c": "Prospecting", "Notes__c": null}"#,
        )
        .unwrap();
        let select: Vec<String> = [
            "Id",
            "SystemModstamp",
            "IsDeleted",
            "Budget__c",
            "Status__c",
            "Notes__c",
        ]
        .map(String::from)
        .to_vec();
        let values = requested_values(
            &select,
            &["Budget__c".into(), "status__c".into(), "Notes__c".into()],
        );
        assert_eq!(values, ["Budget__c", "Status__c", "Notes__c"]);
        let r = to_record(&raw, &values, &[]).unwrap();
        assert_eq!(r.fields["Budget__c"], "250.50", "exact decimal text");
        assert_eq!(r.fields["Status__c"], "\"Prospecting\"");
        assert_eq!(r.fields["Notes__c"], "null");
        assert!(!r.fields.contains_key("Id"));
        assert_eq!(r.modified_at.unwrap().seconds, 1_714_566_600);
        assert!(r.texts.is_empty());
    }

    #[test]
    fn lookup_names_become_the_texts_of_their_fields() {
        let raw: RawRecord = serde_json::from_str(
            r#"{"attributes": {"type": "Contact"}, "Id": "003000000000001AAA",
                "AccountId": "001dS000000000BQAQ", "ReportsToId": null,
                "Account": {"attributes": {"type": "Account"}, "Name": "Acme’s Café"},
                "ReportsTo": null}"#,
        )
        .unwrap();
        let lookup = |field: &str, rel: &str| Lookup {
            field: field.into(),
            relationship: rel.into(),
            name_field: "Name".into(),
        };
        let lookups = [
            lookup("AccountId", "Account"),
            lookup("ReportsToId", "ReportsTo"),
        ];
        let values = ["AccountId".to_owned(), "ReportsToId".to_owned()];
        let r = to_record(&raw, &values, &lookups).unwrap();
        assert_eq!(r.fields["AccountId"], "\"001dS000000000BQAQ\"");
        assert_eq!(
            r.texts.get("AccountId").map(String::as_str),
            Some("Acme’s Café")
        );
        assert!(
            !r.texts.contains_key("ReportsToId"),
            "empty lookup, no name"
        );
        assert!(!r.fields.contains_key("Account"));
    }
}
