//! Redis connections that survive being cut (a Redis restart, a failover, an idle connection
//! dropped by a proxy): the command that finds its connection gone is sent again on a new one.

use tandem_service::storage::connect_redis;
use tandem_testkit::redis_url;

async fn client_id(conn: &mut impl redis::aio::ConnectionLike) -> i64 {
    redis::cmd("CLIENT")
        .arg("ID")
        .query_async(conn)
        .await
        .unwrap()
}

async fn kill(id: i64) {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut other = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut other)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_on_a_cut_connection_is_sent_again_on_a_new_one() {
    // Without the retry: the manager reconnects, but the first command after the cut fails.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut bare = client.get_connection_manager().await.unwrap();
    kill(client_id(&mut bare).await).await;
    let lost: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut bare).await;
    assert!(lost.is_err(), "a bare manager loses the command: {lost:?}");

    let mut redis = connect_redis(&redis_url()).await.unwrap();
    let before = client_id(&mut redis).await;
    kill(before).await;
    let pong: String = redis::cmd("PING").query_async(&mut redis).await.unwrap();
    assert_eq!(pong, "PONG");
    assert_ne!(client_id(&mut redis).await, before, "on a new connection");

    // Scripts too (their cache survives; after a real restart EVALSHA falls back to EVAL).
    kill(client_id(&mut redis).await).await;
    let n: i64 = redis::Script::new("return 41 + 1")
        .invoke_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(n, 42);
}
