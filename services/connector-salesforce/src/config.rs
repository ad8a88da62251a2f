//! connector-salesforce's configuration, filled by `main` from flags and environment, or built directly by
//! tests and `tandem up`.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use tandem_service::args::{Infra, PeerArgs, RemoteArgs};

/// The REST API version the connector speaks unless configured otherwise (Winter '25).
pub const DEFAULT_API_VERSION: &str = "62.0";

/// Flags of connector-salesforce itself (the shared ones are in `tandem_service::args`).
#[derive(Debug, Clone, clap::Args)]
#[group(id = "connector_salesforce_options")]
pub struct Options {
    /// The connected app's consumer key (OAuth client id).
    #[arg(long = "salesforce-client-id", env = "TANDEM_SALESFORCE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The connected app's consumer secret; never logged.
    #[arg(
        long = "salesforce-client-secret",
        env = "TANDEM_SALESFORCE_CLIENT_SECRET",
        hide = true,
        value_parser = parse_secret
    )]
    pub client_secret: Option<SecretString>,
    /// REST API version, e.g. `62.0`.
    #[arg(
        long = "salesforce-api-version",
        env = "TANDEM_SALESFORCE_API_VERSION",
        default_value = DEFAULT_API_VERSION
    )]
    pub api_version: String,
    /// Share of an org's daily API allocation Tandem may use (0 < share <= 1); past it calls
    /// are refused with RESOURCE_EXHAUSTED.
    #[arg(
        long = "salesforce-max-budget-share",
        env = "TANDEM_SALESFORCE_MAX_BUDGET_SHARE",
        default_value_t = 0.8
    )]
    pub max_budget_share: f64,
    /// How long a usage figure from Salesforce (`Sforce-Limit-Info`) is trusted to refuse
    /// calls past the budget share; after it the next call goes to Salesforce and reads the
    /// current usage.
    #[arg(
        long = "salesforce-usage-max-age-seconds",
        env = "TANDEM_SALESFORCE_USAGE_MAX_AGE_SECONDS",
        default_value_t = 300
    )]
    pub usage_max_age_seconds: u64,
    /// The clock the budget ages usage figures by (tests advance it; not a flag).
    #[arg(skip)]
    pub clock: crate::budget::Clock,
    /// How long object descriptions are cached in memory.
    #[arg(
        long = "salesforce-describe-ttl-seconds",
        env = "TANDEM_SALESFORCE_DESCRIBE_TTL_SECONDS",
        default_value_t = 300
    )]
    pub describe_ttl_seconds: u64,
    /// PollChanges re-reads this far behind the watermark (SystemModstamp can lag commits);
    /// records already seen are dropped by Id + SystemModstamp.
    #[arg(
        long = "salesforce-poll-overlap-seconds",
        env = "TANDEM_SALESFORCE_POLL_OVERLAP_SECONDS",
        default_value_t = 60
    )]
    pub poll_overlap_seconds: u64,
    /// Attempts per REST call on transient failures (5xx, timeouts, dropped connections,
    /// UNABLE_TO_LOCK_ROW), the first included.
    #[arg(
        long = "salesforce-retry-attempts",
        env = "TANDEM_SALESFORCE_RETRY_ATTEMPTS",
        default_value_t = 4
    )]
    pub retry_attempts: u32,
    /// First backoff delay; doubles per attempt, with full jitter, capped at 10 s.
    #[arg(
        long = "salesforce-retry-base-ms",
        env = "TANDEM_SALESFORCE_RETRY_BASE_MS",
        default_value_t = 250
    )]
    pub retry_base_ms: u64,
    /// Timeout of one HTTP request to Salesforce.
    #[arg(
        long = "salesforce-request-timeout-seconds",
        env = "TANDEM_SALESFORCE_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 60
    )]
    pub request_timeout_seconds: u64,
    /// Salesforce's Pub/Sub API (change events), e.g. the simulator's `http://127.0.0.1:7011`.
    #[arg(
        long = "salesforce-pubsub-url",
        env = "TANDEM_SALESFORCE_PUBSUB_URL",
        default_value = DEFAULT_PUBSUB_URL
    )]
    pub pubsub_url: String,
    /// Bulk API 2.0: the thresholds the orchestrator reads, job size and polling.
    #[command(flatten)]
    pub bulk: BulkOptions,
}

/// Bulk API 2.0 settings (`GetBulkSettings` hands the thresholds to the orchestrator).
#[derive(Debug, Clone, clap::Args)]
#[group(id = "connector_salesforce_bulk_options")]
pub struct BulkOptions {
    /// Writes in one import from which the orchestrator uses BulkWrite instead of WriteRecords.
    #[arg(
        long = "salesforce-bulk-write-threshold",
        env = "TANDEM_SALESFORCE_BULK_WRITE_THRESHOLD",
        default_value_t = 10_000
    )]
    pub write_threshold: u32,
    /// Records from which a read is better done with BulkQuery.
    #[arg(
        long = "salesforce-bulk-query-threshold",
        env = "TANDEM_SALESFORCE_BULK_QUERY_THRESHOLD",
        default_value_t = 10_000
    )]
    pub query_threshold: u32,
    /// Bytes of CSV per ingest job: Salesforce takes 150 MB base64-encoded, 100 MB raw.
    #[arg(
        long = "salesforce-bulk-upload-max-bytes",
        env = "TANDEM_SALESFORCE_BULK_UPLOAD_MAX_BYTES",
        default_value_t = 100 * 1024 * 1024
    )]
    pub upload_max_bytes: u64,
    /// First wait between two polls of a job; it grows by half up to the maximum.
    #[arg(
        long = "salesforce-bulk-poll-initial-ms",
        env = "TANDEM_SALESFORCE_BULK_POLL_INITIAL_MS",
        default_value_t = 1_000
    )]
    pub poll_initial_ms: u64,
    #[arg(
        long = "salesforce-bulk-poll-max-ms",
        env = "TANDEM_SALESFORCE_BULK_POLL_MAX_MS",
        default_value_t = 10_000
    )]
    pub poll_max_ms: u64,
    /// A job still running after this long is aborted; its unprocessed records fail with
    /// `NOT_PROCESSED` (and can be sent again).
    #[arg(
        long = "salesforce-bulk-job-timeout-seconds",
        env = "TANDEM_SALESFORCE_BULK_JOB_TIMEOUT_SECONDS",
        default_value_t = 3_600
    )]
    pub job_timeout_seconds: u64,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            write_threshold: 10_000,
            query_threshold: 10_000,
            upload_max_bytes: 100 * 1024 * 1024,
            poll_initial_ms: 1_000,
            poll_max_ms: 10_000,
            job_timeout_seconds: 3_600,
        }
    }
}

/// Salesforce's global Pub/Sub API endpoint.
pub const DEFAULT_PUBSUB_URL: &str = "https://api.pubsub.salesforce.com:7443";

fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s.to_owned()))
}

impl Default for Options {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            max_budget_share: 0.8,
            usage_max_age_seconds: 300,
            clock: crate::budget::Clock::default(),
            describe_ttl_seconds: 300,
            poll_overlap_seconds: 60,
            retry_attempts: 4,
            retry_base_ms: 250,
            request_timeout_seconds: 60,
            pubsub_url: DEFAULT_PUBSUB_URL.to_owned(),
            bulk: BulkOptions::default(),
        }
    }
}

impl Options {
    pub fn describe_ttl(&self) -> Duration {
        Duration::from_secs(self.describe_ttl_seconds)
    }

    pub fn usage_max_age(&self) -> Duration {
        Duration::from_secs(self.usage_max_age_seconds.max(1))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds.max(1))
    }

    /// Checks the values a flag parser cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(self.max_budget_share > 0.0 && self.max_budget_share <= 1.0) {
            return Err(format!(
                "TANDEM_SALESFORCE_MAX_BUDGET_SHARE must be in (0, 1], got {}",
                self.max_budget_share
            ));
        }
        let version_ok = self.api_version.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
        if !version_ok {
            return Err(format!(
                "TANDEM_SALESFORCE_API_VERSION must look like `62.0`, got `{}`",
                self.api_version
            ));
        }
        if self.retry_attempts == 0 {
            return Err("TANDEM_SALESFORCE_RETRY_ATTEMPTS must be at least 1".to_owned());
        }
        if self.bulk.upload_max_bytes < 1024 || self.bulk.upload_max_bytes > 100 * 1024 * 1024 {
            return Err(format!(
                "TANDEM_SALESFORCE_BULK_UPLOAD_MAX_BYTES must be 1 KiB to 100 MiB, got {}",
                self.bulk.upload_max_bytes
            ));
        }
        Ok(())
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
