//! run-history's configuration, filled by `main` from flags and environment, or built directly by
//! tests and `tandem up`.

use std::net::SocketAddr;

use tandem_service::args::Infra;

/// Flags of run-history itself (the shared ones are in `tandem_service::args`).
#[derive(Debug, Clone, clap::Args)]
#[group(id = "run_history_options")]
pub struct Options {
    /// Runs and events older than this many days are purged.
    #[arg(
        long = "history-retention-days",
        env = "TANDEM_HISTORY_RETENTION_DAYS",
        default_value_t = 21
    )]
    pub retention_days: u32,
    /// How often the retention job runs.
    #[arg(
        long = "history-purge-interval-seconds",
        env = "TANDEM_HISTORY_PURGE_INTERVAL_SECONDS",
        default_value_t = 3600
    )]
    pub purge_interval_seconds: u64,
}

impl Options {
    pub fn retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.retention_days) * 86_400)
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            retention_days: 21,
            purge_interval_seconds: 3600,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub infra: Infra,
    pub options: Options,
}
