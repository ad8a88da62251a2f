//! Errors: the crate's own `Error`, and `ApiError`, an error answered to a client in
//! Salesforce's wire shape (`[{"message","errorCode","fields"}]`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Failures of the simulator itself (binding, TLS set-up, schema data).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not bind {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    #[error("tls set-up failed: {0}")]
    Tls(String),
    #[error("schema data is invalid: {0}")]
    Schema(String),
    #[error("unknown org {0}")]
    UnknownOrg(String),
    #[error("unknown sobject {0}")]
    UnknownObject(String),
    #[error("state file: {0}")]
    State(String),
    #[error("record rejected: {0}")]
    Rejected(String),
}

/// One error entry as Salesforce reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct SfError {
    pub code: &'static str,
    pub message: String,
    /// `None` when Salesforce omits the `fields` key (auth and query errors).
    pub fields: Option<Vec<String>>,
}

impl SfError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        SfError {
            code,
            message: message.into(),
            fields: None,
        }
    }

    pub fn with_fields(
        code: &'static str,
        message: impl Into<String>,
        fields: Vec<String>,
    ) -> Self {
        SfError {
            code,
            message: message.into(),
            fields: Some(fields),
        }
    }

    /// The single-record REST shape (`errorCode`).
    pub fn rest_json(&self) -> Value {
        let mut v = json!({"message": self.message, "errorCode": self.code});
        if let Some(f) = &self.fields {
            v["fields"] = json!(f);
        }
        v
    }

    /// The sObject Collections shape (`statusCode`, `fields` always present).
    pub fn collection_json(&self) -> Value {
        json!({
            "statusCode": self.code,
            "message": self.message,
            "fields": self.fields.clone().unwrap_or_default(),
        })
    }
}

/// An error answered with an HTTP status and a JSON array body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<SfError>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: SfError) -> Self {
        ApiError {
            status,
            errors: vec![error],
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, SfError::new(code, message))
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            SfError::new("NOT_FOUND", "The requested resource does not exist"),
        )
    }

    pub fn entity_deleted() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            SfError::with_fields("ENTITY_IS_DELETED", "entity is deleted", vec![]),
        )
    }

    pub fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            SfError::new("INVALID_SESSION_ID", "Session expired or invalid"),
        )
    }

    pub fn limit_exceeded() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            SfError::new("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        )
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            SfError::new(
                "METHOD_NOT_ALLOWED",
                format!(
                    "HTTP Method '{method}' not allowed. Allowed are GET,HEAD,PATCH,DELETE,POST"
                ),
            ),
        )
    }

    pub fn json_parser(message: impl Into<String>) -> Self {
        Self::bad_request("JSON_PARSER_ERROR", message)
    }

    pub fn invalid_type(object: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            SfError::new(
                "NOT_FOUND",
                format!(
                    "The requested resource does not exist: sObject type '{object}' is not supported."
                ),
            ),
        )
    }

    pub fn body(&self) -> Value {
        Value::Array(self.errors.iter().map(SfError::rest_json).collect())
    }
}

impl From<SfError> for ApiError {
    fn from(e: SfError) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::http::json_response(self.status, &self.body())
    }
}
