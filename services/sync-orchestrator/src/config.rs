//! sync-orchestrator's configuration, filled by `main` from flags and environment, or built directly by
//! tests and `tandem up`.

use std::net::SocketAddr;

use tandem_service::args::{Infra, PeerArgs};

/// Flags of sync-orchestrator itself (the shared ones are in `tandem_service::args`).
#[derive(Debug, Clone, clap::Args)]
#[group(id = "sync_orchestrator_options")]
pub struct Options {
    /// How often the scheduler reads which integrations were created, resumed or paused (and
    /// the longest it waits between two looks at the due-queue; it wakes earlier when one is
    /// due), in milliseconds; 0 turns the scheduler off (cycles then run only on SyncNow).
    #[arg(
        long = "scheduler-tick-ms",
        env = "TANDEM_SCHEDULER_TICK_MS",
        default_value_t = 5_000
    )]
    pub scheduler_tick_ms: u64,
    /// How many integrations this replica runs cycles for at once; a long cycle (an import
    /// of a large board) then holds up no other integration.
    #[arg(
        long = "scheduler-concurrency",
        env = "TANDEM_SCHEDULER_CONCURRENCY",
        default_value_t = 8,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub scheduler_concurrency: u16,
    /// How often an integration's cycle checks that the monday items it is linked to still
    /// exist (monday's polls never return a deleted or archived item), in seconds; one
    /// GetItems call per 100 links. 0 checks on every cycle.
    #[arg(
        long = "deletion-sweep-seconds",
        env = "TANDEM_DELETION_SWEEP_SECONDS",
        default_value_t = 3_600
    )]
    pub deletion_sweep_seconds: u64,
    /// How long a replica's hold on an integration lasts unless renewed (it renews every
    /// third of it while a run lasts), in milliseconds: a replica that dies delays its
    /// integrations by about 4/3 of it (the scheduler's claim outlives the lease by a third).
    #[arg(
        long = "lease-ms",
        env = "TANDEM_LEASE_MS",
        default_value_t = 15_000,
        value_parser = clap::value_parser!(u64).range(300..)
    )]
    pub lease_ms: u64,
    /// Streams the Salesforce change events (Change Data Capture, over the Pub/Sub API) of the
    /// objects active integrations sync, so a Salesforce edit is synced without waiting for a
    /// poll; polling carries on beside it. On for a deployment (this flag's default); off in
    /// `Options::default()`, which tests and the embedded stack start from.
    #[arg(
        long = "salesforce-change-events",
        env = "TANDEM_SALESFORCE_CHANGE_EVENTS",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub salesforce_change_events: bool,
    /// The public URL at which monday reaches connector-monday's webhook ingress (its
    /// `TANDEM_MONDAY_WEBHOOK_LISTEN` listener, path `/webhooks/monday`), e.g.
    /// `https://tandem.example.com/webhooks/monday`. Set, Tandem registers monday webhooks
    /// itself for the boards of active integrations that take monday changes, and deletes them
    /// when those are paused or deleted; unset (the default), it registers none.
    #[arg(long = "monday-webhook-url", env = "TANDEM_MONDAY_WEBHOOK_URL")]
    pub monday_webhook_url: Option<String>,
    /// How many source records an import reads, writes and commits at a time: its memory is
    /// about this many records, and an import that stops resumes from its last committed page.
    #[arg(
        long = "import-page-size",
        env = "TANDEM_IMPORT_PAGE_SIZE",
        default_value_t = 1_000,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub import_page_size: u32,
    /// How many WriteRecords calls a run keeps in flight to Salesforce at once (each a whole
    /// number of 200-record collections): Salesforce serves many short requests at once, and
    /// with a few hundred milliseconds per call a single writer tops out near 200 records per
    /// call per round trip.
    #[arg(
        long = "salesforce-write-concurrency",
        env = "TANDEM_SALESFORCE_WRITE_CONCURRENCY",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..=25)
    )]
    pub salesforce_write_concurrency: u16,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scheduler_tick_ms: 5_000,
            scheduler_concurrency: 8,
            deletion_sweep_seconds: 3_600,
            lease_ms: 15_000,
            salesforce_change_events: false,
            monday_webhook_url: None,
            import_page_size: 1_000,
            salesforce_write_concurrency: 4,
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
    pub options: Options,
}
