//! The `tandem.v1.SalesforceConnector` gRPC service.

use tandem_proto::v1::salesforce_connector_server::SalesforceConnector;

/// Handlers of the SalesforceConnector RPCs; those not yet written answer UNIMPLEMENTED.
#[derive(Clone)]
pub struct SalesforceConnectorService {
    #[allow(dead_code)]
    redis: redis::aio::ConnectionManager,
}

impl SalesforceConnectorService {
    pub fn new(redis: redis::aio::ConnectionManager) -> Self {
        Self { redis }
    }
}

#[tonic::async_trait]
impl SalesforceConnector for SalesforceConnectorService {}
