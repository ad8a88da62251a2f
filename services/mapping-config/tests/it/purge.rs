//! Abandoned sign-ins are purged: OAuth states past their expiry, connections still pending a
//! day later. The purge runs when a replica starts (and hourly).

use std::time::{Duration, Instant};

use tandem_proto::v1 as pb;
use tandem_testkit::authorized;
use tonic::Code;

use crate::harness::{ada, keys, start_stack};

/// A Salesforce sign-in started by Ada and never completed.
async fn started(stack: &crate::harness::Stack) -> String {
    stack
        .client
        .clone()
        .create_connection(authorized(
            pb::CreateConnectionRequest {
                kind: pb::ConnectionKind::Salesforce as i32,
                subdomain: "acme".into(),
                environment: pb::SalesforceEnvironment::Production as i32,
                redirect_uri: "https://tandem.example/oauth/callback".into(),
                ..Default::default()
            },
            &ada(),
        ))
        .await
        .unwrap()
        .into_inner()
        .connection
        .unwrap()
        .id
}

async fn count(pool: &sqlx::PgPool, sql: &'static str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(uuid::Uuid::parse_str(id).unwrap())
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn states_of(pool: &sqlx::PgPool, id: &str) -> i64 {
    count(
        pool,
        "SELECT count(*) FROM oauth_states WHERE connection_id = $1",
        id,
    )
    .await
}

async fn connections(pool: &sqlx::PgPool, id: &str) -> i64 {
    count(pool, "SELECT count(*) FROM connections WHERE id = $1", id).await
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_oauth_states_and_day_old_pending_connections_are_purged() {
    let stack = start_stack().await;
    let abandoned = started(&stack).await;
    let fresh = started(&stack).await;
    let completed = stack.salesforce_connection(&ada()).await.id;
    for id in [&abandoned, &completed] {
        sqlx::query(
            "UPDATE oauth_states SET expires_at = now() - interval '2 hours' WHERE connection_id = $1",
        )
        .bind(uuid::Uuid::parse_str(id).unwrap())
        .execute(&stack.pool)
        .await
        .unwrap();
        sqlx::query("UPDATE connections SET created_at = now() - interval '2 days' WHERE id = $1")
            .bind(uuid::Uuid::parse_str(id).unwrap())
            .execute(&stack.pool)
            .await
            .unwrap();
    }
    assert_eq!(states_of(&stack.pool, &abandoned).await, 1);

    // A replica that starts purges at once.
    let (_replica, _) = stack.replica(keys()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while connections(&stack.pool, &abandoned).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the abandoned connection was never purged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(states_of(&stack.pool, &abandoned).await, 0);
    let gone = stack
        .client
        .clone()
        .get_connection(authorized(
            pb::GetConnectionRequest {
                id: abandoned.clone(),
            },
            &ada(),
        ))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    // A sign-in in progress keeps its state; a completed connection stays, its old state goes.
    assert_eq!(
        (
            connections(&stack.pool, &fresh).await,
            states_of(&stack.pool, &fresh).await
        ),
        (1, 1)
    );
    assert_eq!(connections(&stack.pool, &completed).await, 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while states_of(&stack.pool, &completed).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the expired state was never purged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
