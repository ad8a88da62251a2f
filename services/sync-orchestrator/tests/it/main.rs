//! sync-orchestrator's building blocks against the real Postgres and Redis.

mod coalesce;
mod due;
mod lease;

use tandem_service::storage::{connect_postgres, connect_redis};
use tandem_testkit::{TestDb, redis_url};

pub struct Infra {
    pub db: TestDb,
    pub pool: sqlx::PgPool,
    pub redis: tandem_service::Redis,
    pub prefix: String,
}

pub async fn infra() -> Infra {
    let db = TestDb::create().await;
    let pool = connect_postgres(
        db.url(),
        sync_orchestrator::SCHEMA,
        &sync_orchestrator::MIGRATOR,
        5,
    )
    .await
    .unwrap();
    let redis = connect_redis(&redis_url()).await.unwrap();
    Infra {
        db,
        pool,
        redis,
        prefix: format!("tandem-test-{}", uuid::Uuid::new_v4().simple()),
    }
}
