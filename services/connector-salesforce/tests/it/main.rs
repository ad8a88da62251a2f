//! connector-salesforce started on port 0 against salesforce-sim (in-process) and a stand-in
//! for mapping-config's credential RPCs, called over real gRPC.

mod bulk;
mod describe;
mod harness;
mod oauth;
mod pages;
mod poll;
mod resilience;
mod stream;
mod throughput;
mod users;
mod write;
