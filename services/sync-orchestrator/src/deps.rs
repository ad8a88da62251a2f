//! What every step of a run is given: the peers it calls, the sync state in Postgres, the
//! coalescing buffer, the leases, and the catalogs (what the remotes said about the board,
//! the object, the org and its people, reused for a while).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_core::UserMap;
use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::monday_connector_client::MondayConnectorClient;
use tandem_proto::v1::run_history_client::RunHistoryClient;
use tandem_proto::v1::salesforce_connector_client::SalesforceConnectorClient;
use tandem_service::client::PeerChannel;

use crate::coalesce::Buffer;
use crate::due::DueQueue;
use crate::lease::Leases;
use crate::store::Store;

/// The clients a run calls, all as the orchestrator's service identity.
#[derive(Clone)]
pub struct Peers {
    pub mapping_config: MappingConfigClient<PeerChannel>,
    pub salesforce: SalesforceConnectorClient<PeerChannel>,
    pub monday: MondayConnectorClient<PeerChannel>,
    pub history: RunHistoryClient<PeerChannel>,
}

#[derive(Clone)]
pub struct Deps {
    pub peers: Peers,
    pub store: Store,
    pub buffer: Buffer,
    pub leases: Leases,
    /// When each integration's next run is due, shared by the replicas.
    pub due: DueQueue,
    /// What each integration's runs read about both sides, reused for a while.
    pub catalogs: Catalogs,
    /// How often a cycle checks that linked monday items still exist.
    pub sweep_every: Duration,
    /// How long a lease lasts unless renewed.
    pub lease_ttl: Duration,
    /// Source records an import handles per page.
    pub import_page: u32,
    /// WriteRecords calls a run keeps in flight to Salesforce.
    pub salesforce_concurrency: usize,
    pub metrics: crate::metrics::Metrics,
    /// Cancelled when the service shuts down: imports, which outlive the call that started
    /// them, stop with it (and resume at their next page when started again).
    pub stopping: tokio_util::sync::CancellationToken,
}

impl Deps {
    /// How long the scheduler's claim keeps an integration from other replicas: past it (the
    /// claimer died, or its run outlasted it) the integration is due again. It outlives the
    /// lease, so the next claimer finds a dead holder's lease expired.
    pub fn claim_hold(&self) -> Duration {
        self.lease_ttl + self.lease_ttl / 3
    }
}

/// How long a run reuses the board, the object, the org's zone and the people directory it
/// read: a quiet cycle then costs one poll per side, and a board or describe change is seen
/// within this long (as Salesforce describes are cached by the connector).
const CATALOG_TTL: Duration = Duration::from_secs(300);

/// Per integration: what the settings step read from the remotes, with when and for which
/// version of the integration's settings.
#[derive(Clone, Default)]
pub struct Catalogs(Arc<Mutex<HashMap<String, Arc<Catalog>>>>);

pub struct Catalog {
    pub read_at: Instant,
    pub version: i64,
    pub object: pb::DescribeObjectResponse,
    pub board: pb::GetBoardResponse,
    pub time_zone: String,
    /// The country of the org's default locale: phone numbers without `+` are read in it.
    pub country: String,
    pub users: UserMap,
}

impl Catalogs {
    /// The catalog read for `version` of the integration's settings, if still fresh.
    pub fn fresh(&self, integration: &str, version: i64) -> Option<Arc<Catalog>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(integration)
            .filter(|c| c.version == version && c.read_at.elapsed() < CATALOG_TTL)
            .cloned()
    }

    pub fn put(&self, integration: &str, catalog: Arc<Catalog>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, c| c.read_at.elapsed() < CATALOG_TTL);
        map.insert(integration.to_owned(), catalog);
    }

    /// Forgets an integration's catalog (its next run reads both sides again).
    pub fn forget(&self, integration: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(integration);
    }
}
