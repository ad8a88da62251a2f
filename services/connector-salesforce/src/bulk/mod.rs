//! Bulk API 2.0, for imports and reads of many records.
//!
//! # How the orchestrator calls it
//! 1. `GetBulkSettings` once (it changes only with the connector's configuration): an import
//!    of at least `write_threshold` writes (default 10,000, `TANDEM_SALESFORCE_BULK_WRITE_THRESHOLD`)
//!    goes through `BulkWrite`, a smaller one through `WriteRecords`; a read of at least
//!    `query_threshold` records through `BulkQuery`.
//! 2. `BulkWrite` takes the same `RecordWrite`s as `WriteRecords` (field values as Salesforce
//!    JSON text; creates with an `idempotency_key` become upserts on the object's external-id
//!    field, so sending a page again after a crash makes no duplicate) and an optional
//!    `BulkOperation` to force insert, update or upsert. It answers one `WriteResult` per
//!    write, in request order: the id, `created`, and Salesforce's own error (`code`,
//!    `message`, `fields` from the `sf__Error` column). Records Salesforce did not process
//!    (job failed, aborted, or aborted by the connector after
//!    `TANDEM_SALESFORCE_BULK_JOB_TIMEOUT_SECONDS`) fail with code `NOT_PROCESSED` and can be
//!    sent again; a write whose result row could not be told apart fails `UNKNOWN_OUTCOME`
//!    (look the record up, e.g. with `FindRecords` on its key, before sending it again). A
//!    whole-call error (budget spent, Salesforce down) can come after earlier jobs of the call
//!    were written: sending the page again is safe for updates and keyed creates only. A call runs one job per operation and per `upload_max_bytes` of CSV, one
//!    after the other, and waits for each: give it a deadline of minutes, and send pages of
//!    at most ~100,000 writes so progress can be recorded page by page.
//! 3. `BulkQuery`: the first call with `object`, `fields` (and `modified_since`) starts a
//!    query job and answers its first page with `job_id` and `locator`; call again with the
//!    same `fields`, the `job_id` and the `locator` until the locator comes back empty. Values
//!    are JSON text as `PollChanges` gives them (lookup names are not read).
//!
//! Every HTTP call is counted against the org's API budget like any REST call (create,
//! upload, close, each poll, each result file and page), the token is refreshed once on
//! 401, and errors map to gRPC codes through the connector's one table (`grpc.rs`).

mod csvdata;
mod job;
mod query;
mod results;
mod write;

use tandem_proto::v1::BulkSettings;

use crate::api::Api;

impl Api {
    /// The Bulk API settings the orchestrator reads.
    pub fn bulk_settings(&self) -> BulkSettings {
        BulkSettings {
            write_threshold: self.bulk.write_threshold,
            query_threshold: self.bulk.query_threshold,
            upload_max_bytes: self.bulk.upload_max_bytes,
        }
    }
}
