//! Errors: the crate's own (`Error`) and monday's application errors (`ApiError`) as they
//! appear in a response's `errors[]` (2024-10+ shape: `extensions.code/status_code/error_data`).

use serde_json::{Map, Value, json};

/// Failures of the simulator itself (not of a simulated API call).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the bound address: {0}")]
    LocalAddr(std::io::Error),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot build the webhook http client: {0}")]
    HttpClient(String),
    #[error("not found: {0}")]
    NotFound(String),
}

/// One monday application error, placed in `errors[]` with a field's path and location.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub message: String,
    pub code: &'static str,
    pub status_code: u16,
    pub error_data: Box<Value>,
    pub retry_in_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(
        code: &'static str,
        status_code: u16,
        message: impl Into<String>,
        error_data: Value,
    ) -> Self {
        Self {
            message: message.into(),
            code,
            status_code,
            error_data: Box::new(error_data),
            retry_in_seconds: None,
        }
    }

    pub fn column_value(message: String, column_type: &str) -> Self {
        Self::new(
            "ColumnValueException",
            200,
            message,
            json!({"column_type": column_type}),
        )
    }

    pub fn invalid_column(column_id: &str) -> Self {
        Self::new(
            "InvalidColumnIdException",
            200,
            "This column ID doesn't exist for the board",
            json!({"column_id": column_id}),
        )
    }

    pub fn item_not_found(item_id: &str) -> Self {
        Self::new(
            "ResourceNotFoundException",
            404,
            format!("Item with id {item_id} not found"),
            json!({"item_id": item_id}),
        )
    }

    pub fn board_not_found(board_id: &str) -> Self {
        Self::new(
            "InvalidBoardIdException",
            200,
            "Board not found",
            json!({"board_id": board_id}),
        )
    }

    pub fn resource_not_found(what: &str, id: &str) -> Self {
        Self::new(
            "ResourceNotFoundException",
            404,
            format!("{what} with id {id} not found"),
            json!({"id": id}),
        )
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new("InvalidArgumentException", 200, message, json!({}))
    }

    pub fn json_parse(message: impl Into<String>) -> Self {
        Self::new("JsonParseException", 400, message, json!({}))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            "UserUnauthorizedException",
            403,
            "User unauthorized to perform action",
            json!({}),
        )
    }

    pub fn cursor_expired() -> Self {
        Self::new(
            "CursorException",
            200,
            "CursorExpiredError: The cursor provided for pagination has expired. Please refresh your query and obtain a new cursor.",
            json!({}),
        )
    }

    pub fn invalid_cursor() -> Self {
        Self::new("CursorException", 200, "Cursor is invalid", json!({}))
    }

    pub fn query_too_complex(cost: u64, max: u64) -> Self {
        Self::new(
            "ComplexityException",
            429,
            format!("Query has complexity of {cost}, which exceeds max complexity of {max}"),
            json!({}),
        )
    }

    /// The `extensions` object of this error.
    pub fn extensions(&self) -> Value {
        let mut ext = Map::new();
        ext.insert("code".into(), Value::String(self.code.into()));
        ext.insert("status_code".into(), json!(self.status_code));
        ext.insert("error_data".into(), (*self.error_data).clone());
        if let Some(r) = self.retry_in_seconds {
            ext.insert("retry_in_seconds".into(), json!(r));
        }
        Value::Object(ext)
    }
}

/// A GraphQL error entry: message, locations, path, extensions.
pub fn error_entry(
    message: &str,
    line: usize,
    column: usize,
    path: &[Value],
    extensions: Option<Value>,
) -> Value {
    let mut e = Map::new();
    e.insert("message".into(), Value::String(message.into()));
    e.insert(
        "locations".into(),
        json!([{"line": line, "column": column}]),
    );
    if !path.is_empty() {
        e.insert("path".into(), Value::Array(path.to_vec()));
    }
    if let Some(x) = extensions {
        e.insert("extensions".into(), x);
    }
    Value::Object(e)
}
