//! What every Tandem service shares: caller identity (user and service tokens, and the layer
//! that checks them), storage start-up (Postgres schema + migrations, Redis), the gRPC server
//! with health and reflection, peer clients, shutdown, and the common command-line flags.

/// Every Tandem binary allocates with mimalloc rather than glibc's malloc, whose per-thread
/// arenas each keep their high water mark: a long import's peak memory crept up with its
/// length (+21–29% from 20,000 to 100,000 records) where with mimalloc it stays flat
/// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod args;
pub mod argv;
pub mod auth;
pub mod caller;
pub mod client;
pub mod https;
pub mod identity;
pub mod keyring;
pub mod oidc;
pub mod process;
pub mod redis_conn;
pub mod server;
pub mod service_key;
pub mod shutdown;
pub mod status;
pub mod storage;
pub mod tls;

pub use auth::{Auth, Verifier};
pub use identity::{Identity, TokenSigner, require_service, same_email};
pub use redis_conn::Redis;
pub use service_key::names;

/// The largest gRPC message the services exchange among themselves (both ways): a poll or an
/// import answer of 100,000 records is some 20 MiB, far past tonic's default of 4 MiB. Users
/// never get this limit: see [`caller`].
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
