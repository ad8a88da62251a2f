//! The connector-salesforce service.
