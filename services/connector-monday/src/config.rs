//! connector-monday's configuration, filled by `main` from flags and environment, or built directly by
//! tests and `tandem up`.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use tandem_service::args::{Infra, PeerArgs, RemoteArgs};

/// The monday API version sent in `API-Version` unless configured: the version of the schema
/// every query is validated against in the tests (`monday-schema.graphql`, 2025-10).
pub const DEFAULT_API_VERSION: &str = "2025-10";
/// Where webhooks are received unless configured.
pub const DEFAULT_WEBHOOK_LISTEN: &str = "127.0.0.1:50062";
/// The longest a monday webhook JWT may be valid for, unless configured.
pub const DEFAULT_WEBHOOK_MAX_AGE_SECS: u32 = 600;
/// Webhook deliveries taken per monday account and minute, unless configured.
pub const DEFAULT_WEBHOOK_RATE_PER_MINUTE: u32 = 1_000;
/// The id (or title) of the text column that holds Tandem's idempotency keys.
pub const DEFAULT_IDEMPOTENCY_COLUMN: &str = "tandem_key";

/// The secret monday signs webhook JWTs with; never printed.
#[derive(Clone, Default)]
pub struct SigningSecret(String);

impl SigningSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() { "***" } else { "<unset>" })
    }
}

impl FromStr for SigningSecret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Flags of connector-monday itself (the shared ones are in `tandem_service::args`).
#[derive(Debug, Clone, clap::Args)]
#[group(id = "connector_monday_options")]
pub struct Options {
    /// The `API-Version` header sent to monday on every call.
    #[arg(id = "monday_api_version", long = "monday-api-version", env = "TANDEM_MONDAY_API_VERSION", default_value = DEFAULT_API_VERSION)]
    pub api_version: String,
    /// Where monday webhooks are received (port 0 picks a free port). `Options::default()`
    /// (tests, `tandem up`) uses port 0 so several instances never collide.
    #[arg(long = "monday-webhook-listen", env = "TANDEM_MONDAY_WEBHOOK_LISTEN", default_value = DEFAULT_WEBHOOK_LISTEN)]
    pub webhook_listen: SocketAddr,
    /// The signing secret of the monday app: webhook JWTs are verified with it. Unset: every
    /// event is refused (the challenge is still answered).
    #[arg(
        long = "monday-signing-secret",
        env = "TANDEM_MONDAY_SIGNING_SECRET",
        hide = true,
        default_value = ""
    )]
    pub signing_secret: SigningSecret,
    /// The public URL monday posts webhooks to (what the orchestrator registers, hence the
    /// same variable): a delivery's JWT must name it as `aud`. Unset: the ingress's own
    /// address (`http://<listen>/webhooks/monday`), right only when monday reaches it directly.
    #[arg(long = "monday-webhook-audience", env = "TANDEM_MONDAY_WEBHOOK_URL")]
    pub webhook_audience: Option<String>,
    /// The longest a webhook JWT may be valid for: its `exp` at most this far ahead (and its
    /// `iat`, if any, at most this far back). Deliveries are remembered this long to refuse
    /// replays.
    #[arg(
        long = "monday-webhook-max-age-secs",
        env = "TANDEM_MONDAY_WEBHOOK_MAX_AGE_SECS",
        default_value_t = DEFAULT_WEBHOOK_MAX_AGE_SECS
    )]
    pub webhook_max_age_secs: u32,
    /// Webhook deliveries taken per monday account and minute; past it they are answered 429
    /// (monday delivers them again later).
    #[arg(
        long = "monday-webhook-rate-per-minute",
        env = "TANDEM_MONDAY_WEBHOOK_RATE_PER_MINUTE",
        default_value_t = DEFAULT_WEBHOOK_RATE_PER_MINUTE
    )]
    pub webhook_rate_per_minute: u32,
    /// Id or title of the board's text column holding idempotency keys of created items.
    #[arg(long = "monday-idempotency-column", env = "TANDEM_MONDAY_IDEMPOTENCY_COLUMN", default_value = DEFAULT_IDEMPOTENCY_COLUMN)]
    pub idempotency_column: String,
    /// The longest `retry_in_seconds` the connector waits out inside one call; longer waits
    /// (e.g. the daily limit) are answered RESOURCE_EXHAUSTED at once.
    #[arg(
        long = "monday-max-retry-wait-secs",
        env = "TANDEM_MONDAY_MAX_RETRY_WAIT_SECS",
        default_value_t = 90
    )]
    pub max_retry_wait_secs: u64,
    /// Aliased mutations per request at most, whatever the budget would allow.
    #[arg(
        long = "monday-max-mutations-per-request",
        env = "TANDEM_MONDAY_MAX_MUTATIONS_PER_REQUEST",
        default_value_t = 500
    )]
    pub max_mutations_per_request: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            api_version: DEFAULT_API_VERSION.to_owned(),
            webhook_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            signing_secret: SigningSecret::default(),
            webhook_audience: None,
            webhook_max_age_secs: DEFAULT_WEBHOOK_MAX_AGE_SECS,
            webhook_rate_per_minute: DEFAULT_WEBHOOK_RATE_PER_MINUTE,
            idempotency_column: DEFAULT_IDEMPOTENCY_COLUMN.to_owned(),
            max_retry_wait_secs: 90,
            max_mutations_per_request: 500,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub infra: Infra,
    /// Where the other Tandem services are.
    pub peers: PeerArgs,
    /// Endpoints of Salesforce and monday (overridable for the simulators).
    pub remote: RemoteArgs,
    pub options: Options,
}
