//! Clients of the two connectors, calling as the `mapping-config` service.

use std::time::Duration;

use tandem_proto::v1::monday_connector_client::MondayConnectorClient;
use tandem_proto::v1::salesforce_connector_client::SalesforceConnectorClient;
use tandem_service::Auth;
use tandem_service::args::PeerArgs;
use tandem_service::client::{Outbound, PeerChannel, connect_lazy};
use tandem_service::tls::Tls;

/// How long one connector call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Peers {
    pub salesforce: SalesforceConnectorClient<PeerChannel>,
    pub monday: MondayConnectorClient<PeerChannel>,
}

impl Peers {
    /// The clients, or what is wrong with a peer's URL or this service's key.
    pub fn connect(peers: &PeerArgs, auth: &Auth, tls: &Tls) -> Result<Self, String> {
        let outbound = Outbound::service(auth, crate::NAME)
            .map_err(|e| e.to_string())?
            .with_tls(tls);
        let peer = |url: &str, outbound| {
            connect_lazy(url, outbound, CALL_TIMEOUT).map_err(|e| e.to_string())
        };
        Ok(Self {
            salesforce: SalesforceConnectorClient::new(peer(
                &peers.connector_salesforce_url,
                outbound.clone(),
            )?),
            monday: MondayConnectorClient::new(peer(&peers.connector_monday_url, outbound)?),
        })
    }
}
