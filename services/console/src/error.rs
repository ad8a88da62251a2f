//! What can go wrong answering a page or a form, and the page a person then sees. A service's
//! refusal keeps its own message (written for users, never holding a secret); internal errors
//! are logged once here and shown without internals.

use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;

use crate::templates;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A service answered with an error.
    #[error("{0}")]
    Service(#[from] tonic::Status),
    /// The request is not signed in (or its session ended).
    #[error("sign in first")]
    NotSignedIn,
    /// A POST without the session's CSRF token.
    #[error(
        "this form is out of date or was not sent by the console (its `csrf` field does not match your session): reload the page and try again"
    )]
    Csrf,
    /// Bad input, naming the field.
    #[error("{field}: {message}")]
    BadInput {
        field: &'static str,
        message: String,
    },
    /// An action the integration's state does not allow now, with what to do instead.
    #[error("{0}")]
    Refused(String),
    /// A sign-in that could not complete.
    #[error("sign-in failed: {0}")]
    SignIn(String),
    #[error("the session store failed: {0}")]
    Sessions(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Error::BadInput {
            field,
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Service(status) => match status.code() {
                tonic::Code::InvalidArgument | tonic::Code::OutOfRange => StatusCode::BAD_REQUEST,
                tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
                tonic::Code::NotFound => StatusCode::NOT_FOUND,
                tonic::Code::FailedPrecondition
                | tonic::Code::Aborted
                | tonic::Code::AlreadyExists => StatusCode::CONFLICT,
                tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
                tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::BAD_GATEWAY,
            },
            Error::NotSignedIn => StatusCode::UNAUTHORIZED,
            Error::Csrf => StatusCode::FORBIDDEN,
            Error::BadInput { .. } => StatusCode::BAD_REQUEST,
            Error::Refused(_) => StatusCode::CONFLICT,
            Error::SignIn(_) => StatusCode::BAD_REQUEST,
            Error::Sessions(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the person is told.
    fn message(&self) -> String {
        match self {
            Error::Service(status) => match status.code() {
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => format!(
                    "a Tandem service did not answer ({}); try again in a moment",
                    status.message()
                ),
                tonic::Code::Internal | tonic::Code::Unknown => {
                    "a Tandem service failed; the operators can find the details in its logs"
                        .to_owned()
                }
                _ => status.message().to_owned(),
            },
            Error::Sessions(_) | Error::Internal(_) => {
                "the console failed; the operators can find the details in its logs".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let expired =
            matches!(&self, Error::Service(s) if s.code() == tonic::Code::Unauthenticated);
        if matches!(self, Error::NotSignedIn) || expired {
            return Redirect::to("/sign-in").into_response();
        }
        let status = self.status();
        match &self {
            Error::Service(s) => {
                tracing::info!(code = ?s.code(), http = status.as_u16(), "a service refused a console request")
            }
            Error::Sessions(e) | Error::Internal(e) => {
                tracing::error!(error = %e, "console request failed")
            }
            _ => {}
        }
        let title = match status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Check what you entered",
            StatusCode::CONFLICT => "Not possible right now",
            _ => "Something went wrong",
        };
        (status, templates::error_page(title, &self.message())).into_response()
    }
}
