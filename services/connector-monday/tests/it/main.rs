//! connector-monday started for real on port 0 against monday-sim, called over gRPC.

mod binary;
mod harness;
mod measure;
mod pages;
mod reads;
mod registration;
mod schema;
mod webhooks;
mod writes;
