//! The `tandem.v1.SyncOrchestrator` gRPC service.

use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::sync_orchestrator_server::SyncOrchestrator;
use tandem_proto::v1::{
    GetIntegrationRequest, GetIntegrationStatusRequest, IntegrationState, IntegrationStatus,
};
use tandem_service::client::PeerChannel;
use tonic::{Request, Response, Status};

/// Handlers of the SyncOrchestrator RPCs; those not yet written answer UNIMPLEMENTED.
#[derive(Clone)]
pub struct SyncOrchestratorService {
    #[allow(dead_code)]
    pool: sqlx::PgPool,
    #[allow(dead_code)]
    redis: redis::aio::ConnectionManager,
    mapping_config: MappingConfigClient<PeerChannel>,
}

impl SyncOrchestratorService {
    pub fn new(
        pool: sqlx::PgPool,
        redis: redis::aio::ConnectionManager,
        mapping_config: MappingConfigClient<PeerChannel>,
    ) -> Self {
        Self {
            pool,
            redis,
            mapping_config,
        }
    }
}

#[tonic::async_trait]
impl SyncOrchestrator for SyncOrchestratorService {
    #[tracing::instrument(skip_all, fields(integration_id))]
    async fn get_integration_status(
        &self,
        request: Request<GetIntegrationStatusRequest>,
    ) -> Result<Response<IntegrationStatus>, Status> {
        let id = request.into_inner().integration_id;
        if id.is_empty() {
            return Err(Status::invalid_argument("integration_id is required"));
        }
        tracing::Span::current().record("integration_id", id.as_str());
        // The integration's state is mapping-config's; its errors (NOT_FOUND, …) pass through.
        let integration = self
            .mapping_config
            .clone()
            .get_integration(GetIntegrationRequest { id: id.clone() })
            .await?
            .into_inner();
        let state = match integration.state() {
            IntegrationState::Active => "active",
            IntegrationState::Paused => "paused",
            IntegrationState::Unspecified => "unknown",
        };
        Ok(Response::new(IntegrationStatus {
            integration_id: id,
            state: state.to_owned(),
            state_reason: integration.state_reason,
            ..Default::default()
        }))
    }
}
