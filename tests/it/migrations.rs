//! Each service's migrations: idempotent, and confined to the service's own schema.

use sqlx::PgPool;
use tandem_service::storage::connect_postgres;
use tandem_testkit::TestDb;

const SERVICES: [(&str, &sqlx::migrate::Migrator); 3] = [
    (mapping_config::SCHEMA, &mapping_config::MIGRATOR),
    (sync_orchestrator::SCHEMA, &sync_orchestrator::MIGRATOR),
    (run_history::SCHEMA, &run_history::MIGRATOR),
];

/// Every column and index of the given schemas, as sorted text.
async fn describe(pool: &PgPool) -> Vec<String> {
    let columns: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text, column_name::text, data_type::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
         ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT schemaname::text, indexname::text, indexdef FROM pg_indexes
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    columns
        .into_iter()
        .map(|c| format!("{c:?}"))
        .chain(indexes.into_iter().map(|i| format!("{i:?}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_applied_twice_leave_the_same_schema_and_do_not_collide() {
    let db = TestDb::create().await;
    for (schema, migrator) in SERVICES {
        connect_postgres(db.url(), schema, migrator, 2)
            .await
            .unwrap();
    }
    let pool = PgPool::connect(db.url()).await.unwrap();
    let first = describe(&pool).await;
    for (schema, migrator) in SERVICES {
        connect_postgres(db.url(), schema, migrator, 2)
            .await
            .unwrap();
    }
    let second = describe(&pool).await;
    assert_eq!(first, second, "a second migration run changed the schema");

    // Each service's tables and migration ledger live in its own schema; nothing in public.
    for (schema, migrator) in SERVICES {
        let applied: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            r#"SELECT count(*) FROM "{schema}"._sqlx_migrations WHERE success"#
        )))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            applied as usize,
            migrator.iter().count(),
            "ledger of {schema}"
        );
    }
    let public: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(public, 0, "no service may create tables in public");
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT table_schema::text FROM information_schema.tables
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(schemas, ["config", "history", "sync"]);
    pool.close().await;
}

/// Replicas of every service started at the same moment on a fresh database all come up
/// (before, all but one failed on `pg_namespace_nspname_index`: a crash loop on a first deploy).
#[tokio::test(flavor = "multi_thread")]
async fn replicas_started_together_on_a_fresh_database_all_come_up() {
    for _ in 0..3 {
        let db = TestDb::create().await;
        let mut starts = tokio::task::JoinSet::new();
        for (schema, migrator) in SERVICES {
            for _ in 0..4 {
                let url = db.url().to_owned();
                starts.spawn(async move {
                    connect_postgres(&url, schema, migrator, 1)
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{schema}: {e}"))
                });
            }
        }
        let failed: Vec<String> = starts
            .join_all()
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        assert!(failed.is_empty(), "replicas failed to start: {failed:?}");
    }
}
