//! PollChanges with `pages` set: every record of the object a page at a time, in Id order,
//! for an import. The token is the last Id of the previous page (`WHERE Id > …`), so it never
//! expires and records edited during the import do not move between pages: an import that
//! stopped resumes from the last page it committed, and nothing is read twice or skipped.

use tandem_proto::v1::{SalesforcePollRequest, SalesforcePollResponse};

use crate::api::Api;
use crate::error::Error;
use crate::poll::{QueryPage, get_exact, query_tail};
use crate::read::{
    lookups_of, names_unreadable, record_id, requested_values, select_list, to_record,
};
use crate::schema::{Lookup, object_name};

/// A page when the caller names no size: one REST query page.
pub const DEFAULT_PAGE: usize = 2_000;

impl Api {
    /// One page of every record (see the module docs); `max_records` is the page size.
    pub(crate) async fn page(
        &self,
        r: SalesforcePollRequest,
    ) -> Result<SalesforcePollResponse, Error> {
        let object = object_name(&r.object, "object")?;
        let after = match r.page_token.as_str() {
            "" => None,
            token => Some(record_id(token, "page_token")?),
        };
        let size = match r.max_records as usize {
            0 => DEFAULT_PAGE,
            n => n,
        };
        let mut session = self.session(&r.connection_id).await?;
        let described = self.describe_in(&mut session, &object).await?;
        let select = select_list(&described, &r.fields)?;
        let values = requested_values(&select, &r.fields);
        let mut lookups = lookups_of(&described, &values);
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
            if let Some(after) = &after {
                // A checked record id: letters and digits only.
                soql.push_str(&format!(" WHERE Id > '{after}'"));
            }
            // One more than the page tells whether another page follows.
            soql.push_str(&format!(" ORDER BY Id ASC LIMIT {}", size + 1));
            query_tail(&soql)
        };
        // The first page also counts the records, for the import's progress.
        let total = if after.is_none() {
            let soql = format!("SELECT COUNT() FROM {}", described.summary.name);
            let counted: Count = get_exact(&mut session, &query_tail(&soql)).await?;
            counted.total_size
        } else {
            0
        };
        let mut tail = soql_with(&lookups);
        let mut raw = Vec::new();
        let mut first = true;
        loop {
            let page: QueryPage = match get_exact(&mut session, &tail).await {
                Err(e) if first && !lookups.is_empty() && names_unreadable(&e) => {
                    tracing::warn!(error = %e, object = %described.summary.name, "lookup names cannot be queried; reading without them");
                    lookups.clear();
                    tail = soql_with(&lookups);
                    first = false;
                    continue;
                }
                other => other?,
            };
            first = false;
            raw.extend(page.records);
            match page.next {
                Some(next) if raw.len() <= size => tail = next,
                _ => break,
            }
        }
        let more = raw.len() > size;
        raw.truncate(size);
        let records = raw
            .iter()
            .map(|r| to_record(r, &values, &lookups))
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = match records.last() {
            Some(last) if more => last.id.clone(),
            _ => String::new(),
        };
        Ok(SalesforcePollResponse {
            records,
            watermark: None,
            has_more: more,
            api_usage: session.api_usage(),
            api_calls: session.calls,
            next_page_token,
            total,
        })
    }
}

/// The answer to a `SELECT COUNT()` query.
#[derive(serde::Deserialize)]
struct Count {
    #[serde(rename = "totalSize")]
    total_size: u64,
}
