//! mapping-config over real gRPC against real Postgres and Redis. `fakes` stands in for the
//! connectors where a test needs to count or steer their calls.

mod connections;
mod credentials;
mod fakes;
mod harness;
mod integration_filters;
mod integrations;
mod lifecycle;
mod live;
mod live_stack;
mod purge;
mod startup;
