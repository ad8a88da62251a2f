//! Redis restarted in the middle of a cycle: the coalescing buffer and the lease lock are
//! gone, yet nothing is lost or doubled, because watermarks, links and the lease epoch live in
//! Postgres. The test runs a Redis server of its own, so restarting it disturbs no other test.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tandem_proto::v1 as pb;

use crate::stack::{ORG, stage_label, start_stack_with};

/// A private redis-server on a fixed port; killed when dropped.
struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    fn start_on(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test and .ci/run need it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis { port, child }
    }

    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (all its data is lost) and starts an empty one on the same port.
    fn restart(mut self) -> Self {
        let _ = self.child.kill();
        let _ = self.child.wait();
        Self::start_on(self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_restarted_mid_cycle_loses_nothing_and_doubles_nothing() {
    let redis = PrivateRedis::start();
    let url = redis.url();
    let stack = start_stack_with(|config| config.infra.redis_url = url).await;
    stack.salesforce.ensure_org(ORG);
    // The integration first: records made before it cross only through an import.
    let integration = stack.integration().await;
    for i in 0..5 {
        stack
            .salesforce
            .insert(ORG, "Opportunity", json!({"Name": format!("SF {i}"), "StageName": "Prospecting", "CloseDate": "2026-12-31"}))
            .unwrap();
        stack
            .monday
            .create_item(
                stack.board,
                None,
                &format!("MO {i}"),
                json!({"status": {"label": "Prospecting"}, "date4": {"date": "2027-01-31"}}),
            )
            .unwrap();
    }
    let first = stack.sync(&integration).await;
    assert_eq!(
        first.status,
        pb::RunStatus::Succeeded as i32,
        "{first:?} {:#?}",
        stack.events(&first).await
    );

    // Edits on both sides and a new record on each; then a slow monday, so the cycle is
    // still at work when Redis goes away.
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    let pairs: Vec<(String, String)> =
        sqlx::query_as("SELECT salesforce_id, monday_item_id FROM sync.links ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(pairs.len(), 10);
    let admin = stack.salesforce.admin_user_id(ORG);
    let (sf_edited, _) = &pairs[0];
    let (_, mo_edited) = &pairs[1];
    stack
        .salesforce
        .update_as(ORG, sf_edited, json!({"StageName": "Closed Won"}), &admin)
        .unwrap();
    stack
        .monday
        .edit_item_as(
            stack.monday_user,
            mo_edited.parse().unwrap(),
            json!({"name": "Renamed on monday"}),
        )
        .unwrap();
    stack
        .salesforce
        .insert(
            ORG,
            "Opportunity",
            json!({"Name": "SF new", "StageName": "Closed Lost", "CloseDate": "2027-01-15"}),
        )
        .unwrap();
    stack
        .monday
        .create_item(
            stack.board,
            None,
            "MO new",
            json!({"status": {"label": "Closed Won"}, "date4": {"date": "2027-02-28"}}),
        )
        .unwrap();
    stack.monday.set_faults(monday_sim::Faults {
        latency_ms: 400,
        ..Default::default()
    });
    let served_before = stack.monday.requests().len();
    let cycle = stack.sync_in_background(&integration);
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.monday.requests().len() == served_before {
        assert!(Instant::now() < deadline, "the cycle never reached monday");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let redis = redis.restart();
    // The interrupted cycle finishes, or stops with a clear "retry later" (its lock went with
    // Redis's state); either way it must not have half-applied anything the next cycles
    // cannot settle.
    if let Err(status) = cycle.await.unwrap() {
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    }
    stack.monday.set_faults(monday_sim::Faults::default());

    // Cycles until nothing moves (with a bound): the sides must then be equal.
    let mut quiet = false;
    for _ in 0..6 {
        let run = stack.sync(&integration).await;
        let c = run.counters.unwrap_or_default();
        if run.status == pb::RunStatus::Succeeded as i32 && c.created + c.updated + c.failed == 0 {
            quiet = true;
            break;
        }
    }
    assert!(
        quiet,
        "the integration never settled after the Redis restart"
    );

    let links: Vec<(String, String)> = sqlx::query_as(
        "SELECT salesforce_id, monday_item_id FROM sync.links WHERE unlinked_at IS NULL ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(links.len(), 12, "every record linked once: {links:?}");
    assert_eq!(
        stack.salesforce.count(ORG, "Opportunity"),
        12,
        "no duplicate in Salesforce"
    );
    let items = stack.monday.items(stack.board);
    assert_eq!(items.len(), 12, "no duplicate on monday");
    for (sf, mo) in &links {
        let record = stack.salesforce.record(ORG, sf).unwrap();
        let item = stack.monday.item(mo.parse().unwrap()).unwrap();
        assert_eq!(
            record["Name"].as_str(),
            Some(item.name.as_str()),
            "{sf} ↔ {mo}"
        );
        let label = stage_label(item.values["status"]["index"].as_u64().unwrap());
        assert_eq!(record["StageName"].as_str(), Some(label), "{sf} ↔ {mo}");
    }
    let edited = stack.salesforce.record(ORG, &pairs[1].0).unwrap();
    assert_eq!(
        edited["Name"], "Renamed on monday",
        "the monday edit crossed"
    );
    let item = stack.monday.item(pairs[0].1.parse().unwrap()).unwrap();
    assert_eq!(
        stage_label(item.values["status"]["index"].as_u64().unwrap()),
        "Closed Won"
    );
    drop(redis);
    pool.close().await;
}
