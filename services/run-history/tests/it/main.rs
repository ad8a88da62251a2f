//! run-history started for real on port 0 against Postgres.

mod api;
mod startup;
