//! The handlers: each reads what its page needs from the services, as the signed-in user, and
//! hands it to its template.

pub mod actions;
pub mod integration;
pub mod integrations;
pub mod run;
