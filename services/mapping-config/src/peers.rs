//! Clients of the two connectors, calling as the `mapping-config` service.

use std::time::Duration;

use tandem_proto::v1::monday_connector_client::MondayConnectorClient;
use tandem_proto::v1::salesforce_connector_client::SalesforceConnectorClient;
use tandem_service::TokenSigner;
use tandem_service::args::PeerArgs;
use tandem_service::client::{Outbound, PeerChannel, PeerUrlError, connect_lazy};

/// How long one connector call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Peers {
    pub salesforce: SalesforceConnectorClient<PeerChannel>,
    pub monday: MondayConnectorClient<PeerChannel>,
}

impl Peers {
    pub fn connect(peers: &PeerArgs, signer: &TokenSigner) -> Result<Self, PeerUrlError> {
        let outbound = Outbound::service(signer.clone(), crate::NAME);
        Ok(Self {
            salesforce: SalesforceConnectorClient::new(connect_lazy(
                &peers.connector_salesforce_url,
                outbound.clone(),
                CALL_TIMEOUT,
            )?),
            monday: MondayConnectorClient::new(connect_lazy(
                &peers.connector_monday_url,
                outbound,
                CALL_TIMEOUT,
            )?),
        })
    }
}
