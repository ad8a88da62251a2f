//! The `tandem.v1.MappingConfig` gRPC service.

use tandem_proto::v1::mapping_config_server::MappingConfig;

/// Handlers of the MappingConfig RPCs; those not yet written answer UNIMPLEMENTED.
#[derive(Clone)]
pub struct MappingConfigService {
    #[allow(dead_code)]
    pool: sqlx::PgPool,
    #[allow(dead_code)]
    redis: redis::aio::ConnectionManager,
}

impl MappingConfigService {
    pub fn new(pool: sqlx::PgPool, redis: redis::aio::ConnectionManager) -> Self {
        Self { pool, redis }
    }
}

#[tonic::async_trait]
impl MappingConfig for MappingConfigService {}
