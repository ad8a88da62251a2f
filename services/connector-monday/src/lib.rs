//! The connector-monday service.
