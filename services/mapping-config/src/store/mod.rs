//! SQL of mapping-config: one file per table; callers own transactions.

pub mod audit;
pub mod connections;
pub mod integrations;
