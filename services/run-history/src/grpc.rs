//! The `tandem.v1.RunHistory` gRPC service.

use tandem_proto::v1::run_history_server::RunHistory;

/// Handlers of the RunHistory RPCs; those not yet written answer UNIMPLEMENTED.
#[derive(Clone)]
pub struct RunHistoryService {
    #[allow(dead_code)]
    pool: sqlx::PgPool,
}

impl RunHistoryService {
    pub fn new(pool: sqlx::PgPool) -> Self {
        Self { pool }
    }
}

#[tonic::async_trait]
impl RunHistory for RunHistoryService {}
