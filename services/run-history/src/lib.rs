//! The run-history service.
