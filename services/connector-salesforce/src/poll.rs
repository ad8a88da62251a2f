//! PollChanges (SOQL `queryAll` on `SystemModstamp` since the watermark minus an overlap
//! window, paged through `nextRecordsUrl`, de-duplicated by Id + SystemModstamp; deleted records
//! come back with `deleted` set), handing over the related record's name of each requested
//! lookup field as the record's `texts`. GetRecords is in `read.rs`.

use std::collections::HashSet;

use serde::Deserialize;
use tandem_proto::v1::{Record, SalesforcePollRequest, SalesforcePollResponse};

use crate::api::{Api, Session};
use crate::error::Error;
use crate::read::{
    RawRecord, from_timestamp, lookups_of, millis, names_unreadable, requested_values, select_list,
    soql_datetime, to_record, to_timestamp,
};
use crate::schema::{Lookup, object_name};

/// The most `seen` pairs one PollChanges may carry.
pub const MAX_SEEN: usize = 50_000;

#[derive(Deserialize)]
pub(crate) struct QueryPage {
    #[serde(default)]
    pub(crate) records: Vec<RawRecord>,
    #[serde(rename = "nextRecordsUrl")]
    pub(crate) next: Option<String>,
}

/// `query?q=…` with the SOQL form-encoded.
pub fn query_tail(soql: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    format!("query?q={q}")
}

/// `queryAll?q=…`: deleted records (in the recycle bin) included.
fn query_all_tail(soql: &str) -> String {
    format!("queryAll{}", &query_tail(soql)["query".len()..])
}

/// A GET whose body is parsed as `T` without losing number text.
pub async fn get_exact<T: for<'de> Deserialize<'de>>(
    session: &mut Session<'_>,
    tail: &str,
) -> Result<T, Error> {
    let reply = session
        .send(
            reqwest::Method::GET,
            tail,
            crate::transport::Body::None,
            true,
        )
        .await?;
    if !reply.ok() {
        return Err(crate::api::remote_error(&reply));
    }
    serde_json::from_str(&reply.body)
        .map_err(|e| Error::Protocol(format!("unexpected answer to GET: {e}")))
}

impl Api {
    #[tracing::instrument(skip_all, fields(connection_id = %r.connection_id, object = %r.object))]
    pub async fn poll(&self, r: SalesforcePollRequest) -> Result<SalesforcePollResponse, Error> {
        if r.pages {
            return self.page(r).await;
        }
        let object = object_name(&r.object, "object")?;
        if r.seen.len() > MAX_SEEN {
            return Err(Error::invalid(
                "seen",
                format!("carries {} pairs; at most {MAX_SEEN}", r.seen.len()),
            ));
        }
        let watermark = r
            .watermark
            .as_ref()
            .map(|w| from_timestamp(w, "watermark"))
            .transpose()?;
        let mut seen = HashSet::with_capacity(r.seen.len());
        for (i, s) in r.seen.iter().enumerate() {
            let at = s
                .modified_at
                .as_ref()
                .ok_or_else(|| Error::invalid(format!("seen[{i}].modified_at"), "is required"))?;
            seen.insert((
                s.id.clone(),
                millis(from_timestamp(at, &format!("seen[{i}].modified_at"))?),
            ));
        }
        let mut session = self.session(&r.connection_id).await?;
        let described = self.describe_in(&mut session, &object).await?;
        let select = select_list(&described, &r.fields)?;
        let values = requested_values(&select, &r.fields);
        let mut lookups = lookups_of(&described, &values);
        let max = r.max_records as usize;
        let soql_with = |lookups: &[Lookup]| {
            let columns: Vec<String> = select
                .iter()
                .cloned()
                .chain(lookups.iter().map(Lookup::path))
                .collect();
            let mut soql = format!(
                "SELECT {} FROM {}",
                columns.join(", "),
                described.summary.name
            );
            if let Some(w) = watermark {
                let since = w - self.overlap;
                soql.push_str(&format!(
                    " WHERE SystemModstamp >= {}",
                    soql_datetime(since)
                ));
            }
            soql.push_str(" ORDER BY SystemModstamp ASC, Id ASC");
            if max > 0 {
                // One more than needed tells whether more remain; seen pairs may be skipped.
                soql.push_str(&format!(" LIMIT {}", max + seen.len() + 1));
            }
            // queryAll, so a deletion arrives as a record with `deleted` set.
            if described.field_name("IsDeleted").is_some() {
                query_all_tail(&soql)
            } else {
                query_tail(&soql)
            }
        };

        let mut records: Vec<Record> = Vec::new();
        let mut has_more = false;
        let mut tail = soql_with(&lookups);
        let mut first = true;
        'pages: loop {
            let page: QueryPage = match get_exact(&mut session, &tail).await {
                Err(e) if first && !lookups.is_empty() && names_unreadable(&e) => {
                    // A related object without a queryable name must not stop the sync:
                    // poll again without the names (lookups then show their Ids).
                    tracing::warn!(error = %e, object = %described.summary.name, "lookup names cannot be queried; polling without them");
                    lookups.clear();
                    tail = soql_with(&lookups);
                    first = false;
                    continue;
                }
                other => other?,
            };
            first = false;
            let count = page.records.len();
            for (i, raw) in page.records.iter().enumerate() {
                let record = to_record(raw, &values, &lookups)?;
                let stamp = record
                    .modified_at
                    .as_ref()
                    .and_then(|t| from_timestamp(t, "SystemModstamp").ok())
                    .map(millis);
                if stamp.is_some_and(|s| seen.contains(&(record.id.clone(), s))) {
                    continue;
                }
                records.push(record);
                if max > 0 && records.len() == max {
                    has_more = i + 1 < count || page.next.is_some();
                    break 'pages;
                }
            }
            match page.next {
                Some(next) => tail = next,
                None => break,
            }
        }
        let newest = records
            .iter()
            .filter_map(|r| r.modified_at.as_ref())
            .filter_map(|t| from_timestamp(t, "SystemModstamp").ok())
            .max();
        let watermark = match (newest, watermark) {
            (Some(n), Some(w)) => Some(n.max(w)),
            (n, w) => n.or(w),
        };
        tracing::debug!(
            connection_id = %session.connection_id,
            object = %described.summary.name,
            records = records.len(),
            api_calls = session.calls,
            "polled salesforce changes"
        );
        Ok(SalesforcePollResponse {
            records,
            watermark: watermark.map(to_timestamp),
            has_more,
            api_usage: session.api_usage(),
            api_calls: session.calls,
            next_page_token: String::new(),
            total: 0,
        })
    }
}
