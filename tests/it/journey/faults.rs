//! The faults a journey meets: the remotes failing, the lease taken over, and the replica
//! running a cycle killed (its futures dropped mid-step, as with SIGKILL).

use std::time::{Duration, Instant};

use rand::Rng;
use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use super::Journey;

impl Journey {
    pub(super) fn clear_faults(&self) {
        self.stack.salesforce.clear_faults();
        self.stack.monday.set_faults(monday_sim::Faults::default());
    }

    pub(super) async fn fault(&mut self) {
        let n = self.rng.random_range(1..8);
        let what = match self.rng.random_range(0..4) {
            0 => {
                self.stack.salesforce.fail_next(n, 503);
                format!("Salesforce answers 503 {n} times")
            }
            1 => {
                self.stack.salesforce.expire_all_tokens();
                "Salesforce access tokens expire".to_owned()
            }
            2 => {
                self.stack.monday.set_faults(monday_sim::Faults {
                    exhaust_budget_next: n.min(3),
                    retry_in_seconds: Some(1),
                    ..Default::default()
                });
                format!("monday's budget is spent for {} requests", n.min(3))
            }
            _ => {
                self.stack.monday.set_faults(monday_sim::Faults {
                    fail_next: n,
                    status: Some(503),
                    ..Default::default()
                });
                format!("monday answers 503 {n} times")
            }
        };
        let outcome = self.cycle().await.map(|r| r.status);
        self.log.push(format!("{what}, then a cycle: {outcome:?}"));
        self.clear_faults();
    }

    /// The orchestrator holding the lease is stopped mid-cycle: another replica takes over.
    pub(super) async fn take_over(&mut self) {
        self.stack.monday.set_faults(monday_sim::Faults {
            latency_ms: 300,
            ..Default::default()
        });
        let running = self.stack.sync_in_background(&self.integration);
        let after = Duration::from_millis(self.rng.random_range(0..900));
        tokio::time::sleep(after).await;
        sqlx::query("UPDATE sync.leases SET epoch = epoch + 1")
            .execute(&self.pool)
            .await
            .unwrap();
        let outcome = running.await.unwrap().map(|_| ()).map_err(|e| e.code());
        self.log.push(format!(
            "the lease is taken over {} ms into a cycle: {outcome:?}",
            after.as_millis()
        ));
        self.clear_faults();
    }

    /// Another replica runs a cycle and is killed in the middle of it; its lease (1 s) runs
    /// out and the stack's own orchestrator syncs again, within a deadline.
    pub(super) async fn kill_mid_cycle(&mut self) {
        let replica = self
            .stack
            .replica(sync_orchestrator::Options {
                scheduler_tick_ms: 0,
                lease_ms: 1_000,
                ..Default::default()
            })
            .await;
        let mut client = replica.client().await;
        self.stack.monday.set_faults(monday_sim::Faults {
            latency_ms: 300,
            ..Default::default()
        });
        let request = authorized(
            pb::SyncNowRequest {
                integration_id: self.integration.id.clone(),
            },
            &self.stack.bearer,
        );
        let running = tokio::spawn(async move { client.sync_now(request).await });
        let after = Duration::from_millis(self.rng.random_range(0..1_200));
        tokio::time::sleep(after).await;
        replica.kill();
        let answer = running.await.unwrap().map(|_| ()).map_err(|e| e.code());
        self.clear_faults();
        let killed = Instant::now();
        let outcome = loop {
            match self.cycle_quietly().await {
                Err(e) if e.code() == tonic::Code::Aborted => {
                    if killed.elapsed() > Duration::from_secs(30) {
                        self.fail("the killed replica's lease still blocks after 30 s");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => break other.map(|r| r.status),
            }
        };
        self.log.push(format!(
            "a replica is killed {} ms into a cycle ({answer:?}); the next cycle after {} ms: {outcome:?}",
            after.as_millis(),
            killed.elapsed().as_millis()
        ));
    }
}
