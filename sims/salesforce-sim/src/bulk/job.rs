//! Bulk API 2.0 jobs as stored, and the JSON Salesforce renders them in: the create answer,
//! job info, and the entries of the job list.

use serde_json::{Map, Value, json};
use std::time::Instant;

/// `operation` of an ingest or query job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Update,
    Upsert,
    Delete,
    HardDelete,
    Query,
    QueryAll,
}

impl Operation {
    pub fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "insert" => Operation::Insert,
            "update" => Operation::Update,
            "upsert" => Operation::Upsert,
            "delete" => Operation::Delete,
            "hardDelete" => Operation::HardDelete,
            "query" => Operation::Query,
            "queryAll" => Operation::QueryAll,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
            Operation::HardDelete => "hardDelete",
            Operation::Query => "query",
            Operation::QueryAll => "queryAll",
        }
    }
}

/// A job's `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }

    pub fn terminal(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// `columnDelimiter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Backquote,
    Caret,
    Comma,
    Pipe,
    Semicolon,
    Tab,
}

impl Delimiter {
    pub fn parse(s: &str) -> Option<Delimiter> {
        Some(match s {
            "BACKQUOTE" => Delimiter::Backquote,
            "CARET" => Delimiter::Caret,
            "COMMA" => Delimiter::Comma,
            "PIPE" => Delimiter::Pipe,
            "SEMICOLON" => Delimiter::Semicolon,
            "TAB" => Delimiter::Tab,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delimiter::Backquote => "BACKQUOTE",
            Delimiter::Caret => "CARET",
            Delimiter::Comma => "COMMA",
            Delimiter::Pipe => "PIPE",
            Delimiter::Semicolon => "SEMICOLON",
            Delimiter::Tab => "TAB",
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Backquote => b'`',
            Delimiter::Caret => b'^',
            Delimiter::Comma => b',',
            Delimiter::Pipe => b'|',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }
}

/// `lineEnding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    Crlf,
}

impl LineEnding {
    pub fn parse(s: &str) -> Option<LineEnding> {
        match s {
            "LF" => Some(LineEnding::Lf),
            "CRLF" => Some(LineEnding::Crlf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::Crlf => "CRLF",
        }
    }
}

/// What every job has, ingest or query.
#[derive(Debug, Clone)]
pub struct Common {
    pub id: String,
    pub operation: Operation,
    pub object: String,
    pub created_by: String,
    pub created_date: String,
    pub modstamp: String,
    pub state: JobState,
    pub delimiter: Delimiter,
    pub line_ending: LineEnding,
    /// `62.0`: results must be read with the same version.
    pub api_version: String,
    pub error_message: Option<String>,
    pub retries: u32,
    pub started: Option<Instant>,
    pub processing_ms: u64,
}

impl Common {
    fn api_version_json(&self) -> Value {
        self.api_version
            .parse::<f64>()
            .map(|v| json!(v))
            .unwrap_or_else(|_| json!(self.api_version))
    }

    /// The fields of the create answer, in Salesforce's order.
    fn head(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("operation".into(), json!(self.operation.as_str()));
        m.insert("object".into(), json!(self.object));
        m.insert("createdById".into(), json!(self.created_by));
        m.insert("createdDate".into(), json!(self.created_date));
        m.insert("systemModstamp".into(), json!(self.modstamp));
        m.insert("state".into(), json!(self.state.as_str()));
        m
    }

    pub fn set_state(&mut self, state: JobState) {
        self.state = state;
        self.modstamp = crate::store::stamp();
    }
}

/// One input row's outcome.
#[derive(Debug, Clone)]
pub struct RowResult {
    pub id: String,
    pub created: bool,
    /// `CODE:message:fields --` as `sf__Error` shows it; `None` on success.
    pub error: Option<String>,
    pub row: Vec<String>,
}

/// An ingest job (`jobType` `V2Ingest`).
#[derive(Debug, Clone)]
pub struct IngestJob {
    pub common: Common,
    /// The `changeOrigin` of its writes: the API and the `Sforce-Call-Options` client of
    /// the request that created the job.
    pub origin: String,
    pub external_id: Option<String>,
    /// Uploaded CSV parts, parsed when processing starts.
    pub uploads: Vec<Vec<u8>>,
    pub upload_bytes: usize,
    /// The header of the job data, echoed in results.
    pub header: Vec<String>,
    pub results: Vec<RowResult>,
    pub unprocessed: Vec<Vec<String>>,
}

impl IngestJob {
    pub fn processed(&self) -> usize {
        self.results.len()
    }

    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.error.is_some()).count()
    }

    fn content_url(&self) -> String {
        format!(
            "services/data/v{}/jobs/ingest/{}/batches",
            self.common.api_version, self.common.id
        )
    }

    /// The answer to create, PATCH and list: the job without its counters.
    pub fn summary(&self) -> Value {
        let c = &self.common;
        let mut m = c.head();
        if let Some(f) = &self.external_id {
            m.insert("externalIdFieldName".into(), json!(f));
        }
        m.insert("concurrencyMode".into(), json!("Parallel"));
        m.insert("contentType".into(), json!("CSV"));
        m.insert("apiVersion".into(), c.api_version_json());
        if c.state == JobState::Open {
            m.insert("contentUrl".into(), json!(self.content_url()));
        }
        m.insert("lineEnding".into(), json!(c.line_ending.as_str()));
        m.insert("columnDelimiter".into(), json!(c.delimiter.as_str()));
        Value::Object(m)
    }

    /// An entry of `GET jobs/ingest`.
    pub fn list_entry(&self) -> Value {
        let mut v = self.summary();
        v["jobType"] = json!("V2Ingest");
        v
    }

    /// `GET jobs/ingest/{id}`.
    pub fn info(&self) -> Value {
        let c = &self.common;
        let mut m = c.head();
        if let Some(f) = &self.external_id {
            m.insert("externalIdFieldName".into(), json!(f));
        }
        m.insert("concurrencyMode".into(), json!("Parallel"));
        m.insert("contentType".into(), json!("CSV"));
        m.insert("apiVersion".into(), c.api_version_json());
        m.insert("jobType".into(), json!("V2Ingest"));
        if c.state == JobState::Open {
            m.insert("contentUrl".into(), json!(self.content_url()));
        }
        m.insert("lineEnding".into(), json!(c.line_ending.as_str()));
        m.insert("columnDelimiter".into(), json!(c.delimiter.as_str()));
        m.insert("numberRecordsProcessed".into(), json!(self.processed()));
        m.insert("numberRecordsFailed".into(), json!(self.failed()));
        m.insert("retries".into(), json!(c.retries));
        m.insert("totalProcessingTime".into(), json!(c.processing_ms));
        m.insert("apiActiveProcessingTime".into(), json!(c.processing_ms));
        m.insert("apexProcessingTime".into(), json!(0));
        if let Some(e) = &c.error_message {
            m.insert("errorMessage".into(), json!(e));
        }
        Value::Object(m)
    }
}

/// A query job (`jobType` `V2Query`).
#[derive(Debug, Clone)]
pub struct QueryJob {
    pub common: Common,
    pub soql: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl QueryJob {
    pub fn summary(&self) -> Value {
        let c = &self.common;
        let mut m = c.head();
        m.insert("concurrencyMode".into(), json!("Parallel"));
        m.insert("contentType".into(), json!("CSV"));
        m.insert("apiVersion".into(), c.api_version_json());
        m.insert("lineEnding".into(), json!(c.line_ending.as_str()));
        m.insert("columnDelimiter".into(), json!(c.delimiter.as_str()));
        Value::Object(m)
    }

    pub fn list_entry(&self) -> Value {
        let mut v = self.summary();
        v["jobType"] = json!("V2Query");
        v
    }

    pub fn info(&self) -> Value {
        let c = &self.common;
        let mut m = c.head();
        m.insert("concurrencyMode".into(), json!("Parallel"));
        m.insert("contentType".into(), json!("CSV"));
        m.insert("apiVersion".into(), c.api_version_json());
        m.insert("jobType".into(), json!("V2Query"));
        m.insert("lineEnding".into(), json!(c.line_ending.as_str()));
        m.insert("columnDelimiter".into(), json!(c.delimiter.as_str()));
        m.insert("numberRecordsProcessed".into(), json!(self.rows.len()));
        m.insert("retries".into(), json!(c.retries));
        m.insert("totalProcessingTime".into(), json!(c.processing_ms));
        m.insert("isPkChunkingSupported".into(), json!(true));
        if let Some(e) = &c.error_message {
            m.insert("errorMessage".into(), json!(e));
        }
        Value::Object(m)
    }
}
