//! Integration tests of salesforce-sim: one binary, modules by concern.

mod auth;
mod binary;
mod bulk_ingest;
mod bulk_query;
mod bulk_support;
mod client_library;
mod conformance;
mod limits_faults;
mod paging;
mod persistence;
mod pubsub;
mod pubsub_client_library;
mod pubsub_flow;
mod pubsub_support;
mod queries;
mod shape;
mod support;
mod throughput;
mod writes;
