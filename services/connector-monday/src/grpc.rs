//! The `tandem.v1.MondayConnector` gRPC service.

use tandem_proto::v1::monday_connector_server::MondayConnector;

/// Handlers of the MondayConnector RPCs; those not yet written answer UNIMPLEMENTED.
#[derive(Clone)]
pub struct MondayConnectorService {
    #[allow(dead_code)]
    redis: redis::aio::ConnectionManager,
}

impl MondayConnectorService {
    pub fn new(redis: redis::aio::ConnectionManager) -> Self {
        Self { redis }
    }
}

#[tonic::async_trait]
impl MondayConnector for MondayConnectorService {}
