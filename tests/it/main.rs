//! Cross-service tests: every service started for real on port 0 against Postgres and Redis.

mod boot;
mod browser;
mod cdc;
mod console;
mod console_setup;
mod converge;
mod crash;
mod deploy;
mod faults;
mod fleet;
mod identities;
mod import;
mod journey;
mod limits;
mod metrics;
mod migrations;
mod ownership;
mod people;
mod redis;
mod safety;
mod services;
mod stack;
mod sync;
mod tls;
mod trace;
mod webhooks;
