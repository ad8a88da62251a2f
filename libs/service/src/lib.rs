//! What every Tandem service shares: caller identity (tokens and the interceptors that check
//! and attach them), storage start-up (Postgres schema + migrations, Redis), the gRPC server
//! with health and reflection, peer clients, shutdown, and the common command-line flags.

pub mod args;
pub mod caller;
pub mod client;
pub mod identity;
pub mod process;
pub mod redis_conn;
pub mod server;
pub mod shutdown;
pub mod status;
pub mod storage;

pub use identity::{Identity, TokenSigner, require_service};
pub use redis_conn::Redis;

/// The largest gRPC message the services exchange among themselves (both ways): a poll or an
/// import answer of 100,000 records is some 20 MiB, far past tonic's default of 4 MiB. Users
/// never get this limit: see [`caller`].
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
