//! What every Tandem service shares: caller identity (tokens and the interceptors that check
//! and attach them), storage start-up (Postgres schema + migrations, Redis), the gRPC server
//! with health and reflection, peer clients, shutdown, and the common command-line flags.

pub mod args;
pub mod client;
pub mod identity;
pub mod process;
pub mod server;
pub mod shutdown;
pub mod storage;

pub use identity::{Identity, TokenSigner};
