//! Setting an integration up from the pages, as the signed-in user through mapping-config's
//! RPCs (the ones the `tandem` command uses): connect both sides (`connections.rs`), choose
//! the board and the object (`choose.rs`), edit the suggested mapping and the conditions,
//! validate and create it paused (`editor.rs`, the form's state in `draft.rs`). Its first
//! import is then previewed and run from the integration's own page.

mod calls;
pub mod choose;
pub mod conditions;
pub mod connections;
pub mod draft;
pub mod editor;

use std::collections::BTreeMap;

use crate::error::Error;

/// Problems to show next to the fields they concern: the setting's name (`monday_token`,
/// `mappings[2].salesforce_field`, …) → messages.
#[derive(Debug, Default)]
pub struct Problems(pub BTreeMap<String, Vec<String>>);

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn at(&self, field: &str) -> &[String] {
        self.0.get(field).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A service's refusal of bad input (INVALID_ARGUMENT, FAILED_PRECONDITION, ABORTED for a
    /// stale version) as a problem
    /// at `field`; any other error is returned as it is.
    pub fn from_refusal(error: Error, field: &str) -> Result<Problems, Error> {
        let mut problems = Problems::default();
        match error {
            Error::Service(status)
                if matches!(
                    status.code(),
                    tonic::Code::InvalidArgument
                        | tonic::Code::FailedPrecondition
                        | tonic::Code::Aborted
                ) =>
            {
                problems.add(field, status.message());
                Ok(problems)
            }
            Error::BadInput { field, message } => {
                problems.add(field, message);
                Ok(problems)
            }
            other => Err(other),
        }
    }
}
