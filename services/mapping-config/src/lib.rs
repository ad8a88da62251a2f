//! The mapping-config service.
